/**
 * Wires the pure logic (serverCommand.ts, settings.ts, commandArgs.ts, status.ts) to VS Code:
 * starts `ibert-lsp` through vscode-languageclient, keeps it running, and registers the commands,
 * the status bar item and the settings synchronisation.
 */
import * as vscode from "vscode";
import {
  CloseAction,
  CodeActionRequest,
  CodeActionResolveRequest,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type CodeAction,
  type LanguageClientOptions,
  type ServerOptions as LcServerOptions,
} from "vscode-languageclient/node";

import {
  answerDocument,
  answerFromResult,
  answerSources,
  askParams,
  EXTENSION_COMMANDS,
  SERVER_COMMANDS,
  codeActionParams,
  convertSelectionToSqlParams,
  dialectChoices,
  expressionRangeOnLine,
  needsResolve,
  pickCodeAction,
  sqlDocument,
  sqlFromResult,
  statusParams,
  type ActionTarget,
} from "./commandArgs";
import {
  describeCommand,
  problemReport,
  probeServer,
  resolveServerCommand,
  sourceLabel,
  type FixAction,
  type ServerCommand,
} from "./serverCommand";
import {
  SQL_DIALECTS,
  didChangeConfigurationParams,
  mapSettings,
  processSettingChanged,
  removedKeys,
  serverEnvironment,
  type ServerOptions,
} from "./settings";
import { RestartPolicy, modelStateFrom, renderStatus, serverLogLevel, type StatusModel } from "./status";

const CLIENT_ID = "ibert";
const ANSWER_SCHEME = "ibert-answer";
const PYTHON_EXTENSION_ID = "ms-python.python";

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(
      env: { path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
    onDidChangeExecutionDetails?: vscode.Event<unknown>;
  };
}

class IbertExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private serverCommand: ServerCommand | undefined;
  private sentOptions: ServerOptions = {};
  private readonly output: vscode.LogOutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly status: StatusModel = { server: "stopped", model: "unknown" };
  private readonly policy = new RestartPolicy();
  private readonly answers = new Map<string, string>();
  private readonly answerChanged = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];
  private starting: Promise<void> | undefined;
  private answerCount = 0;
  private statusPoll: NodeJS.Timeout | undefined;
  private lastServerError: string | undefined;
  /** Whether the current server process got through `initialize` (a crash then is worth a restart). */
  private reachedRunning = false;

  constructor() {
    this.output = vscode.window.createOutputChannel("ibert", { log: true });
    this.statusItem = vscode.window.createStatusBarItem("ibert.status", vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = "ibert";
    this.statusItem.command = EXTENSION_COMMANDS.statusMenu;
    this.disposables.push(this.output, this.statusItem, this.answerChanged);
    this.renderStatus();
    this.statusItem.show();
  }

  // -------------------------------------------------------------------------------------------
  // Server lifecycle

  async start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.doStart().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.setStatus({ server: "starting", error: undefined });
    this.lastServerError = undefined;
    const cfg = vscode.workspace.getConfiguration("ibert");
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    let cmd: ServerCommand;
    try {
      cmd = resolveServerCommand({
        serverPath: cfg.get<string>("serverPath"),
        python: cfg.get<string>("python"),
        serverArgs: cfg.get<string[]>("serverArgs"),
        pythonExtensionInterpreter: await this.pythonExtensionInterpreter(),
        workspaceFolder: folder,
      });
    } catch (e) {
      this.fail(`ibert: ${(e as Error).message}`, ["openSettings"]);
      return;
    }
    this.serverCommand = cmd;
    this.output.appendLine(`[ibert] server command (${sourceLabel(cmd.source)}): ${describeCommand(cmd)}`);
    const { env, ignored } = serverEnvironment(process.env, cfg.inspect<Record<string, string>>("serverEnv"));
    for (const key of ignored) {
      this.output.appendLine(`[ibert] serverEnv: ${key} ignored in workspace settings (set it in your user settings)`);
    }
    const probe = await probeServer(cmd, { env });
    if (!probe.ok) {
      this.output.appendLine(`[ibert] ${probe.detail}`);
      const report = problemReport(cmd, probe, vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined);
      this.fail(report.message, report.actions, report.installCommand);
      return;
    }
    this.output.appendLine(`[ibert] found ${probe.detail}`);

    const mapped = mapSettings((key) => cfg.inspect(key));
    for (const p of mapped.problems) {
      this.output.appendLine(`[ibert] settings: ${p}`);
    }
    this.sentOptions = mapped.options;

    const serverOptions: LcServerOptions = {
      command: cmd.command,
      args: cmd.args,
      options: { env, cwd: folder },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
        { scheme: "vscode-notebook-cell", language: "python" },
        { scheme: "file", language: "sql" },
        { scheme: "untitled", language: "sql" },
      ],
      initializationOptions: mapped.options,
      outputChannel: this.serverChannel(),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // A server that dies during `initialize` is reported once, by doStart's catch.
      initializationFailedHandler: (error) => {
        this.output.appendLine(`[ibert] initialize failed: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      },
      errorHandler: {
        // Connection errors go to the output channel; a dying server is reported by closed().
        error: (error, _message, count) => {
          this.output.appendLine(`[ibert] connection error: ${error.message}`);
          return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
        },
        closed: () => this.onServerClosed(),
      },
      middleware: {
        provideInlineCompletionItems: (doc, pos, ctx, token, next) =>
          this.timed("inline completion", () => next(doc, pos, ctx, token)),
        provideCompletionItem: (doc, pos, ctx, token, next) =>
          this.timed("completion", () => next(doc, pos, ctx, token)),
        provideHover: (doc, pos, token, next) => this.timed("hover", () => next(doc, pos, token)),
        provideCodeActions: (doc, range, ctx, token, next) =>
          this.timed("code actions", () => next(doc, range, ctx, token)),
        // The server's "Ask: <selected question>" code action runs `ibert.ask` through the client;
        // VS Code would drop the result, so show it like the Ask command does.
        executeCommand: async (command, args, next) => {
          const result = await next(command, args);
          if (command === SERVER_COMMANDS.ask) {
            const q = (args[0] as { question?: string } | undefined)?.question ?? String(args[0] ?? "");
            await this.showAnswer(q, result).catch((e: Error) =>
              vscode.window.showErrorMessage(`ibert: ${e.message}`),
            );
          }
          return result;
        },
        workspace: {
          // Servers that pull settings get the same object as initializationOptions.
          configuration: async (params, token, next) => {
            const answer = await next(params, token);
            if (!Array.isArray(answer)) {
              return answer;
            }
            return params.items.map((item, i) =>
              item.section === "ibert" ? mapSettings((k) => vscode.workspace.getConfiguration("ibert").inspect(k)).options : answer[i],
            );
          },
        },
      },
    };

    const client = new LanguageClient(CLIENT_ID, "ibert", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (client !== this.client) {
        return;
      }
      if (e.newState === State.Running) {
        this.reachedRunning = true;
        this.setStatus({ server: "running", error: undefined });
        void this.refreshModelState();
      } else if (e.newState === State.Starting) {
        this.setStatus({ server: this.status.server === "running" ? "restarting" : "starting" });
      } else if (this.status.server !== "failed") {
        this.setStatus({ server: "stopped" });
      }
    });
    try {
      await client.start();
    } catch (e) {
      this.output.appendLine(`[ibert] start failed: ${(e as Error).message}`);
      // Give the last lines of the server's stderr a moment to arrive: they say why.
      await new Promise((r) => setTimeout(r, 300));
      const why = this.lastServerError ?? (e as Error).message;
      this.fail(`ibert: the server did not start: ${why}. See the output for the details.`, ["showOutput", "openSettings"]);
    }
  }

  /**
   * The output channel handed to vscode-languageclient, which writes the server's stderr to it
   * line by line through `error()`; the last Python error line is kept for the notification.
   */
  private serverChannel(): vscode.LogOutputChannel {
    const target = this.output;
    return new Proxy(target, {
      get: (t, p) => {
        if (p === "error") {
          return (msg: string | Error, ...args: unknown[]) => {
            const line = String(msg instanceof Error ? msg.message : msg).trim();
            if (/^(\w+\.)*\w*(Error|Exception|Exit)\b/.test(line)) {
              this.lastServerError = line;
            }
            // The server's own log lines say their level; only errors are shown as errors.
            const level = msg instanceof Error ? "error" : serverLogLevel(line);
            return level === "error" ? t.error(msg, ...args) : t[level](line);
          };
        }
        const v = Reflect.get(t, p, t);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
  }

  private onServerClosed() {
    const wasRunning = this.reachedRunning;
    this.reachedRunning = false;
    if (!wasRunning) {
      // It died while starting: restarting would only repeat that. During doStart its catch
      // reports; after an automatic restart nobody else would, so report here.
      if (!this.starting) {
        setTimeout(() => {
          const why = this.lastServerError ? `: ${this.lastServerError}` : "";
          this.fail(`ibert: the server stopped while starting${why}. See the output for the details.`, ["showOutput"], undefined, true);
        }, 300);
      }
      return { action: CloseAction.DoNotRestart, message: "", handled: true };
    }
    if (this.policy.shouldRestart()) {
      this.output.appendLine(
        `[ibert] server exited; restarting (${this.policy.recentCrashes} of ${this.policy.maxRestarts} in ${this.policy.windowMs / 60000} minutes)`,
      );
      this.setStatus({ server: "restarting", model: "unknown" });
      return { action: CloseAction.Restart };
    }
    this.fail(
      `ibert: the server exited ${this.policy.recentCrashes} times in ${this.policy.windowMs / 60000} minutes and was not restarted${this.lastServerError ? `; last error: ${this.lastServerError}` : ""}. See the output for the details.`,
      ["showOutput"],
      undefined,
      true,
    );
    return { action: CloseAction.DoNotRestart, message: "" , handled: true };
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (e) {
        this.output.appendLine(`[ibert] stop: ${(e as Error).message}`);
      }
      await client.dispose().catch(() => undefined);
    }
    this.setStatus({ server: "stopped", model: "unknown", lastLatencyMs: undefined });
  }

  async restart(): Promise<void> {
    this.policy.reset();
    await this.stop();
    await this.start();
  }

  private fail(message: string, actions: FixAction[], installCommand?: string, offerRestart = false) {
    this.setStatus({ server: "failed", error: message.replace(/^ibert: /, "") });
    const labels: Record<FixAction, string> = {
      selectInterpreter: "Select Interpreter",
      openSettings: "Open Settings",
      copyInstallCommand: "Copy Install Command",
      showOutput: "Show Output",
    };
    const buttons = actions.map((a) => labels[a]);
    if (offerRestart) {
      buttons.unshift("Restart Server");
    }
    void vscode.window.showErrorMessage(message, ...buttons).then(async (choice) => {
      switch (choice) {
        case "Restart Server":
          await this.restart();
          break;
        case labels.selectInterpreter:
          await vscode.commands.executeCommand("python.setInterpreter");
          break;
        case labels.openSettings:
          await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:ibert.ibert");
          break;
        case labels.copyInstallCommand:
          if (installCommand) {
            await vscode.env.clipboard.writeText(installCommand);
            void vscode.window.showInformationMessage(
              `Copied \`${installCommand}\`. Run it in a terminal, then run "ibert: Restart Server".`,
              "Restart Server",
            ).then((c) => (c ? this.restart() : undefined));
          }
          break;
        case labels.showOutput:
          this.output.show(true);
          break;
      }
    });
  }

  private async pythonExtensionInterpreter(): Promise<string | undefined> {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!ext) {
      return undefined;
    }
    try {
      const api = ext.isActive ? ext.exports : await ext.activate();
      const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
      if (api?.environments) {
        const active = api.environments.getActiveEnvironmentPath(resource);
        const env = await api.environments.resolveEnvironment(active);
        return env?.executable.uri?.fsPath ?? active.path;
      }
      return api?.settings?.getExecutionDetails(resource).execCommand?.[0];
    } catch (e) {
      this.output.appendLine(`[ibert] could not ask the Python extension for its interpreter: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Restart when the Python extension's interpreter changes and ibert uses it. */
  async watchPythonExtension(): Promise<void> {
    const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!ext) {
      return;
    }
    try {
      const api = ext.isActive ? ext.exports : await ext.activate();
      const event = api?.environments?.onDidChangeActiveEnvironmentPath ?? api?.settings?.onDidChangeExecutionDetails;
      if (event) {
        this.disposables.push(
          event(() => {
            if (this.serverCommand?.source === "pythonExtension" || this.status.server === "failed") {
              this.output.appendLine("[ibert] the Python extension's interpreter changed; restarting");
              void this.restart();
            }
          }),
        );
      }
    } catch {
      // The Python extension failed to activate; the fallback interpreter is used.
    }
  }

  // -------------------------------------------------------------------------------------------
  // Settings

  async onConfigurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration("ibert")) {
      return;
    }
    const processKeys = processSettingChanged((s) => e.affectsConfiguration(s));
    if (processKeys.length > 0) {
      this.output.appendLine(`[ibert] ${processKeys.map((k) => `ibert.${k}`).join(", ")} changed; restarting the server`);
      await this.restart();
      return;
    }
    const cfg = vscode.workspace.getConfiguration("ibert");
    const mapped = mapSettings((key) => cfg.inspect(key));
    for (const p of mapped.problems) {
      this.output.appendLine(`[ibert] settings: ${p}`);
    }
    const removed = removedKeys(this.sentOptions, mapped.options);
    if (removed.length > 0) {
      this.output.appendLine(`[ibert] ${removed.join(", ")} no longer set; restarting so the server's own default applies`);
      await this.restart();
      return;
    }
    if (JSON.stringify(mapped.options) === JSON.stringify(this.sentOptions)) {
      return; // e.g. only ibert.trace.server changed
    }
    this.sentOptions = mapped.options;
    const client = this.client;
    if (client?.state === State.Running) {
      await client.sendNotification(
        DidChangeConfigurationNotification.type,
        didChangeConfigurationParams(mapped.options),
      );
      // The server reloads the model in the background; ask once it has started to.
      setTimeout(() => void this.refreshModelState(), 500);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status

  private setStatus(patch: Partial<StatusModel>) {
    Object.assign(this.status, patch);
    this.renderStatus();
  }

  private renderStatus() {
    const view = renderStatus(this.status);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor = view.error
      ? new vscode.ThemeColor("statusBarItem.errorBackground")
      : undefined;
  }

  private onModelReport(report: unknown) {
    const m = modelStateFrom(report);
    if (m) {
      this.setStatus({ model: m.state, modelName: m.name });
    }
  }

  /**
   * Asks the server for its state (`ibert.status`), and asks again every 2 s while the model is
   * loading (the server loads it in the background after `initialized`).
   */
  private async refreshModelState(): Promise<void> {
    const client = this.client;
    const commands = client?.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (!client || !commands.includes(SERVER_COMMANDS.status)) {
      return;
    }
    if (this.statusPoll) {
      clearTimeout(this.statusPoll);
      this.statusPoll = undefined;
    }
    try {
      const result = await client.sendRequest(ExecuteCommandRequest.type, statusParams());
      this.onModelReport(result);
    } catch (e) {
      this.output.appendLine(`[ibert] ${SERVER_COMMANDS.status}: ${(e as Error).message}`);
      return;
    }
    if (this.status.model === "loading" && client === this.client && client.state === State.Running) {
      this.statusPoll = setTimeout(() => void this.refreshModelState(), 2000);
    }
  }

  private async timed<T>(what: string, fn: () => T | Thenable<T>): Promise<T> {
    const t0 = Date.now();
    const result = await fn();
    // Cancelled or empty requests say nothing about the model's speed; only answered ones count.
    if (result !== undefined && result !== null) {
      this.setStatus({ lastLatencyMs: Date.now() - t0, lastRequest: what });
    }
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  private async runningClient(): Promise<LanguageClient | undefined> {
    if (!this.client || this.client.state !== State.Running) {
      await this.start();
    }
    if (this.client?.state === State.Running) {
      return this.client;
    }
    void vscode.window.showErrorMessage("ibert: the server is not running.", "Show Output", "Restart Server").then((c) =>
      c === "Show Output" ? this.output.show(true) : c ? this.restart() : undefined,
    );
    return undefined;
  }

  private editorFor(languages: string[]): vscode.TextEditor | undefined {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !languages.includes(editor.document.languageId)) {
      void vscode.window.showWarningMessage(`ibert: open a ${languages.join(" or ")} file first.`);
      return undefined;
    }
    return editor;
  }

  async convertSelectionToSql(): Promise<void> {
    const editor = this.editorFor(["python"]);
    if (!editor) {
      return;
    }
    const current = vscode.workspace.getConfiguration("ibert").get<string>("dialect") ?? "duckdb";
    const pick = await vscode.window.showQuickPick(dialectChoices(SQL_DIALECTS, current), {
      title: "ibert: Convert Selection to SQL",
      placeHolder: "SQL dialect",
    });
    if (!pick) {
      return;
    }
    const client = await this.runningClient();
    if (!client) {
      return;
    }
    const sel = editor.selection;
    // Nothing selected: the expression on the cursor's line.
    const range = sel.isEmpty
      ? expressionRangeOnLine(sel.active.line, editor.document.lineAt(sel.active.line).text)
      : client.code2ProtocolConverter.asRange(sel);
    if (!range) {
      void vscode.window.showInformationMessage("ibert: select the Ibis expression to convert.");
      return;
    }
    const params = convertSelectionToSqlParams({ uri: editor.document.uri.toString(), range, dialect: pick.label });
    await this.withProgress("Converting to SQL", async (token) => {
      const t0 = Date.now();
      const result = await client.sendRequest(ExecuteCommandRequest.type, params, token);
      this.setStatus({ lastLatencyMs: Date.now() - t0, lastRequest: "convert to SQL" });
      const sql = sqlFromResult(result);
      const doc = await vscode.workspace.openTextDocument({
        language: "sql",
        content: sqlDocument(sql, pick.label, vscode.workspace.asRelativePath(editor.document.uri)),
      });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    });
  }

  async applyCodeAction(target: ActionTarget, languages: string[], what: string): Promise<void> {
    const editor = this.editorFor(languages);
    if (!editor) {
      return;
    }
    const client = await this.runningClient();
    if (!client) {
      return;
    }
    const doc = editor.document;
    // An empty selection is the cursor: the server finds the SQL string / statement / function there.
    const range: vscode.Range = editor.selection;
    const diagnostics = client.code2ProtocolConverter.asDiagnosticsSync(
      vscode.languages.getDiagnostics(doc.uri).filter((d) => d.range.intersection(range) !== undefined),
    );
    const params = codeActionParams(target, {
      uri: doc.uri.toString(),
      range: client.code2ProtocolConverter.asRange(range),
      diagnostics,
    });
    await this.withProgress(what, async (token) => {
      const t0 = Date.now();
      const answer = await client.sendRequest(CodeActionRequest.type, params, token);
      let action: CodeAction | undefined = pickCodeAction(target, answer);
      if (!action) {
        void vscode.window.showInformationMessage(
          target === "sqlToIbis"
            ? "ibert: no checked Ibis translation here. Put the cursor in a SQL string (or select SQL) and try again."
            : "ibert: no docstring to generate here. Put the cursor in a function definition.",
        );
        return;
      }
      if (needsResolve(action) && client.initializeResult?.capabilities.codeActionProvider) {
        action = await client.sendRequest(CodeActionResolveRequest.type, action, token);
      }
      this.setStatus({ lastLatencyMs: Date.now() - t0, lastRequest: what.toLowerCase() });
      if (action.disabled) {
        void vscode.window.showWarningMessage(`ibert: ${action.disabled.reason}`);
        return;
      }
      if (action.edit) {
        const edit = await client.protocol2CodeConverter.asWorkspaceEdit(action.edit, token);
        if (!(await vscode.workspace.applyEdit(edit))) {
          void vscode.window.showErrorMessage("ibert: the edit could not be applied (the document changed?).");
        }
      }
      if (action.command) {
        await client.sendRequest(
          ExecuteCommandRequest.type,
          { command: action.command.command, arguments: action.command.arguments },
          token,
        );
      }
      if (!action.edit && !action.command) {
        void vscode.window.showWarningMessage(`ibert: "${action.title}" came back without an edit.`);
      }
    });
  }

  async ask(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const selected = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
    const question = await vscode.window.showInputBox({
      title: "ibert: Ask about Ibis",
      prompt: "A question about Ibis (answered from Ibis's own documentation and the local model)",
      placeHolder: "How do I count distinct users per day?",
      value: selected.includes("\n") ? "" : selected,
      ignoreFocusOut: true,
    });
    if (!question?.trim()) {
      return;
    }
    const client = await this.runningClient();
    if (!client) {
      return;
    }
    const context =
      editor && ["python", "sql"].includes(editor.document.languageId)
        ? {
            uri: editor.document.uri.toString(),
            range: client.code2ProtocolConverter.asRange(editor.selection),
          }
        : undefined;
    await this.withProgress("Asking", async (token) => {
      const t0 = Date.now();
      const result = await client.sendRequest(ExecuteCommandRequest.type, askParams(question, context), token);
      this.setStatus({ lastLatencyMs: Date.now() - t0, lastRequest: "ask" });
      await this.showAnswer(question, result);
    });
  }

  /** Opens an `ibert.ask` result as a read-only Markdown preview beside the editor. */
  async showAnswer(question: string, result: unknown): Promise<void> {
    const markdown = answerDocument(question, answerFromResult(result), answerSources(result));
    const uri = vscode.Uri.from({ scheme: ANSWER_SCHEME, path: `/answer-${++this.answerCount}.md` });
    this.answers.set(uri.toString(), markdown);
    this.answerChanged.fire(uri);
    await vscode.commands.executeCommand("markdown.showPreviewToSide", uri);
  }

  showOutput(): void {
    this.output.show(true);
  }

  answerProvider(): vscode.TextDocumentContentProvider {
    return {
      onDidChange: this.answerChanged.event,
      provideTextDocumentContent: (uri) => this.answers.get(uri.toString()) ?? "",
    };
  }

  async statusMenu(): Promise<void> {
    const items = [
      { label: "$(output) Show Output", run: () => this.output.show(true) },
      { label: "$(debug-restart) Restart Server", run: () => this.restart() },
      {
        label: "$(settings-gear) Open Settings",
        run: () => vscode.commands.executeCommand("workbench.action.openSettings", "@ext:ibert.ibert"),
      },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: renderStatus(this.status).tooltip.split("\n")[0] });
    await pick?.run();
  }


  private withProgress(title: string, fn: (token: vscode.CancellationToken) => Promise<void>): Thenable<void> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ibert: ${title}…`, cancellable: true },
      async (_p, token) => {
        try {
          await fn(token);
        } catch (e) {
          if (token.isCancellationRequested) {
            return;
          }
          void vscode.window.showErrorMessage(`ibert: ${(e as Error).message}`);
        }
      },
    );
  }

  dispose(): void {
    if (this.statusPoll) {
      clearTimeout(this.statusPoll);
    }
    for (const d of this.disposables) {
      d.dispose();
    }
  }
}

let extension: IbertExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const ext = new IbertExtension();
  extension = ext;
  const register = (id: string, fn: () => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  register(EXTENSION_COMMANDS.convertSelectionToSql, () => ext.convertSelectionToSql());
  register(EXTENSION_COMMANDS.convertSqlToIbis, () =>
    ext.applyCodeAction("sqlToIbis", ["python", "sql"], "Converting SQL to Ibis"),
  );
  register(EXTENSION_COMMANDS.generateDocstring, () =>
    ext.applyCodeAction("docstring", ["python"], "Generating docstring"),
  );
  register(EXTENSION_COMMANDS.ask, () => ext.ask());
  register(EXTENSION_COMMANDS.restartServer, () => ext.restart());
  register(EXTENSION_COMMANDS.showOutput, () => ext.showOutput());
  register(EXTENSION_COMMANDS.statusMenu, () => ext.statusMenu());
  context.subscriptions.push(
    ext,
    vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, ext.answerProvider()),
    vscode.workspace.onDidChangeConfiguration((e) => ext.onConfigurationChanged(e)),
  );
  void ext.watchPythonExtension();
  await ext.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}
