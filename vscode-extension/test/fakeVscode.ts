/**
 * A small stand-in for the `vscode` module, enough for vscode-languageclient and extension.ts
 * to run in plain node: real classes for the value types (Uri, Range, Position, ...), recorded
 * calls for the UI (messages, quick picks, opened documents, applied edits), and event emitters
 * the test fires (documents opened, configuration changed).
 *
 * It is not VS Code: rendering, ghost text and the editor itself are not exercised. What it
 * checks is extension.ts's wiring — activation, server start, commands, settings, status — on
 * the bundled dist/extension.js against the real server.
 */
import * as path from "node:path";

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>, thisArgs?: unknown, disposables?: Disposable[]) => {
    const bound = thisArgs ? listener.bind(thisArgs) : listener;
    this.listeners.push(bound);
    const d = new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== bound);
    });
    disposables?.push(d);
    return d;
  };
  fire(e: T) {
    for (const l of [...this.listeners]) {
      l(e);
    }
  }
  dispose() {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly fn: () => unknown = () => undefined) {}
  static from(...ds: { dispose(): unknown }[]) {
    return new Disposable(() => ds.forEach((d) => d?.dispose?.()));
  }
  dispose() {
    this.fn();
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
  isBefore(o: Position) {
    return this.line < o.line || (this.line === o.line && this.character < o.character);
  }
  isAfter(o: Position) {
    return o.isBefore(this);
  }
  isEqual(o: Position) {
    return this.line === o.line && this.character === o.character;
  }
  isBeforeOrEqual(o: Position) {
    return !this.isAfter(o);
  }
  isAfterOrEqual(o: Position) {
    return !this.isBefore(o);
  }
  translate(dl = 0, dc = 0) {
    return new Position(this.line + dl, this.character + dc);
  }
  with(line = this.line, character = this.character) {
    return new Position(line, character);
  }
  compareTo(o: Position) {
    return this.isBefore(o) ? -1 : this.isEqual(o) ? 0 : 1;
  }
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(a: Position | number, b: Position | number, c?: number, d?: number) {
    const s = typeof a === "number" ? new Position(a, b as number) : a;
    const e = typeof a === "number" ? new Position(c!, d!) : (b as Position);
    [this.start, this.end] = s.isBeforeOrEqual(e) ? [s, e] : [e, s];
  }
  get isEmpty() {
    return this.start.isEqual(this.end);
  }
  get isSingleLine() {
    return this.start.line === this.end.line;
  }
  contains(p: Position | Range): boolean {
    if (p instanceof Range) {
      return this.contains(p.start) && this.contains(p.end);
    }
    return p.isAfterOrEqual(this.start) && p.isBeforeOrEqual(this.end);
  }
  intersection(o: Range): Range | undefined {
    const s = this.start.isAfter(o.start) ? this.start : o.start;
    const e = this.end.isBefore(o.end) ? this.end : o.end;
    return s.isAfter(e) ? undefined : new Range(s, e);
  }
  with(start = this.start, end = this.end) {
    return new Range(start, end);
  }
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
  get isReversed() {
    return this.anchor.isAfter(this.active);
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}
  static file(p: string) {
    return new Uri("file", "", path.resolve(p), "", "");
  }
  static parse(s: string) {
    const m = /^([a-zA-Z][\w+.-]*):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(s);
    if (!m) {
      throw new Error(`bad uri ${s}`);
    }
    return new Uri(m[1], m[2] ?? "", decodeURIComponent(m[3] ?? ""), m[4] ?? "", m[5] ?? "");
  }
  static from(c: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }) {
    return new Uri(c.scheme, c.authority ?? "", c.path ?? "", c.query ?? "", c.fragment ?? "");
  }
  static joinPath(base: Uri, ...parts: string[]) {
    return base.with({ path: path.posix.join(base.path, ...parts) });
  }
  get fsPath() {
    return this.path;
  }
  with(c: { scheme?: string; path?: string; query?: string; fragment?: string }) {
    return new Uri(c.scheme ?? this.scheme, this.authority, c.path ?? this.path, c.query ?? this.query, c.fragment ?? this.fragment);
  }
  toString() {
    const p = this.path.split("/").map(encodeURIComponent).join("/");
    return `${this.scheme}://${this.authority}${p}${this.query ? `?${this.query}` : ""}${this.fragment ? `#${this.fragment}` : ""}`;
  }
  toJSON() {
    return this.toString();
  }
}

export class MarkdownString {
  constructor(
    public value = "",
    public supportThemeIcons = false,
  ) {}
  isTrusted?: boolean;
  supportHtml?: boolean;
  baseUri?: Uri;
  appendText(t: string) {
    this.value += t;
    return this;
  }
  appendMarkdown(t: string) {
    this.value += t;
    return this;
  }
  appendCodeblock(code: string, lang = "") {
    this.value += `\n\`\`\`${lang}\n${code}\n\`\`\`\n`;
    return this;
  }
}

export class TextEdit {
  constructor(
    public range: Range,
    public newText: string,
  ) {}
  static replace(r: Range, t: string) {
    return new TextEdit(r, t);
  }
  static insert(p: Position, t: string) {
    return new TextEdit(new Range(p, p), t);
  }
  static delete(r: Range) {
    return new TextEdit(r, "");
  }
}

export class WorkspaceEdit {
  readonly edits: [Uri, TextEdit][] = [];
  replace(uri: Uri, range: Range, newText: string) {
    this.edits.push([uri, new TextEdit(range, newText)]);
  }
  insert(uri: Uri, pos: Position, newText: string) {
    this.edits.push([uri, new TextEdit(new Range(pos, pos), newText)]);
  }
  delete(uri: Uri, range: Range) {
    this.edits.push([uri, new TextEdit(range, "")]);
  }
  set(uri: Uri, edits: TextEdit[]) {
    for (const e of edits) {
      this.edits.push([uri, e]);
    }
  }
  get size() {
    return this.edits.length;
  }
  entries() {
    const m = new Map<string, [Uri, TextEdit[]]>();
    for (const [u, e] of this.edits) {
      const k = u.toString();
      if (!m.has(k)) {
        m.set(k, [u, []]);
      }
      m.get(k)![1].push(e);
    }
    return [...m.values()];
  }
  createFile() {}
  deleteFile() {}
  renameFile() {}
}

class Kind {
  constructor(readonly value: string) {}
  append(part: string) {
    return new Kind(this.value ? `${this.value}.${part}` : part);
  }
  contains(o: Kind) {
    return this.value === o.value || o.value.startsWith(`${this.value}.`);
  }
  intersects(o: Kind) {
    return this.contains(o) || o.contains(this);
  }
}

export const CodeActionKind = {
  Empty: new Kind(""),
  QuickFix: new Kind("quickfix"),
  Refactor: new Kind("refactor"),
  RefactorExtract: new Kind("refactor.extract"),
  RefactorInline: new Kind("refactor.inline"),
  RefactorRewrite: new Kind("refactor.rewrite"),
  Source: new Kind("source"),
  SourceOrganizeImports: new Kind("source.organizeImports"),
  SourceFixAll: new Kind("source.fixAll"),
};

/**
 * The Python extension's API as extension.ts uses it (environments API), choosing `interpreter`;
 * `change` fires onDidChangeActiveEnvironmentPath.
 */
export function fakePythonExtension(interpreter: string) {
  const changed = new EventEmitter<unknown>();
  const api = {
    environments: {
      getActiveEnvironmentPath: () => ({ path: interpreter }),
      resolveEnvironment: (env: { path: string }) => Promise.resolve({ executable: { uri: Uri.file(env.path) } }),
      onDidChangeActiveEnvironmentPath: changed.event,
    },
  };
  return {
    extension: { isActive: true, exports: api },
    choose(p: string) {
      interpreter = p;
      changed.fire({ path: p });
    },
  };
}

/** Plain data holders: the converters only set fields on them. */
function dataClass(fields: string[]) {
  return class {
    [k: string]: unknown;
    constructor(...args: unknown[]) {
      fields.forEach((f, i) => {
        if (args[i] !== undefined) {
          this[f] = args[i];
        }
      });
    }
  };
}

export const Diagnostic = dataClass(["range", "message", "severity"]);
export const DiagnosticRelatedInformation = dataClass(["location", "message"]);
export const Location = dataClass(["uri", "range"]);
export const CodeAction = dataClass(["title", "kind"]);
export const Hover = dataClass(["contents", "range"]);
export const CompletionItem = dataClass(["label", "kind"]);
export const CompletionList = dataClass(["items", "isIncomplete"]);
export const InlineCompletionItem = dataClass(["insertText", "range", "command"]);
export const InlineCompletionList = dataClass(["items"]);
export const SnippetString = dataClass(["value"]);
export const SnippetTextEdit = dataClass(["range", "snippet"]);
export const CodeLens = dataClass(["range", "command"]);
export const DocumentLink = dataClass(["range", "target"]);
export const InlayHint = dataClass(["position", "label", "kind"]);
export const SymbolInformation = dataClass(["name", "kind", "containerName", "location"]);
export const CallHierarchyItem = dataClass(["kind", "name", "detail", "uri", "range", "selectionRange"]);
export const TypeHierarchyItem = dataClass(["kind", "name", "detail", "uri", "range", "selectionRange"]);

/** Enums: explicit where the value matters, otherwise a stable distinct number per member. */
function enumOf(known: Record<string, number>) {
  let next = 1000;
  const extra: Record<string, number> = {};
  return new Proxy(known, {
    get(t, p: string) {
      if (p in t) {
        return t[p];
      }
      if (typeof p !== "string") {
        return undefined;
      }
      return (extra[p] ??= next++);
    },
  });
}

export class CancellationError extends Error {
  constructor() {
    super("Canceled");
    this.name = "Canceled";
  }
}

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel() {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }
  dispose() {
    this.emitter.dispose();
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class FakeDocument {
  version = 1;
  isClosed = false;
  isDirty = false;
  isUntitled = false;
  eol = 1;
  encoding = "utf8";
  constructor(
    readonly uri: Uri,
    readonly languageId: string,
    private text: string,
  ) {}
  get fileName() {
    return this.uri.fsPath;
  }
  get lineCount() {
    return this.lines().length;
  }
  private lines() {
    return this.text.split("\n");
  }
  getText(range?: Range) {
    if (!range) {
      return this.text;
    }
    return this.text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
  }
  lineAt(l: number | Position) {
    const line = typeof l === "number" ? l : l.line;
    const text = this.lines()[line];
    return {
      lineNumber: line,
      text,
      range: new Range(line, 0, line, text.length),
      rangeIncludingLineBreak: new Range(line, 0, line + 1, 0),
      firstNonWhitespaceCharacterIndex: text.length - text.trimStart().length,
      isEmptyOrWhitespace: text.trim() === "",
    };
  }
  offsetAt(p: Position) {
    const ls = this.lines();
    let off = 0;
    for (let i = 0; i < p.line && i < ls.length; i++) {
      off += ls[i].length + 1;
    }
    return off + Math.min(p.character, (ls[p.line] ?? "").length);
  }
  positionAt(offset: number) {
    const ls = this.lines();
    let rest = offset;
    for (let i = 0; i < ls.length; i++) {
      if (rest <= ls[i].length) {
        return new Position(i, rest);
      }
      rest -= ls[i].length + 1;
    }
    return new Position(ls.length - 1, ls[ls.length - 1].length);
  }
  validateRange(r: Range) {
    return r;
  }
  validatePosition(p: Position) {
    return p;
  }
  getWordRangeAtPosition() {
    return undefined;
  }
  save() {
    return Promise.resolve(true);
  }
  /** Applies one edit (the test's stand-in for the editor). */
  apply(range: Range, newText: string) {
    this.text = this.text.slice(0, this.offsetAt(range.start)) + newText + this.text.slice(this.offsetAt(range.end));
    this.version++;
  }
}

export interface Recorder {
  messages: { level: "info" | "warning" | "error"; message: string; items: string[] }[];
  /** Answers for the next showErrorMessage etc.: the button to "click" (undefined: dismiss). */
  clickButton?: (message: string, items: string[]) => string | undefined;
  quickPick?: (items: { label: string }[]) => { label: string } | undefined;
  inputBox?: () => string | undefined;
  openedDocuments: FakeDocument[];
  shownDocuments: FakeDocument[];
  appliedEdits: WorkspaceEdit[];
  executed: { command: string; args: unknown[] }[];
  diagnostics: Map<string, unknown[]>;
  clipboard: string;
  output: string[];
  statusBar: { text: string; tooltip: string; backgroundColor?: ThemeColor };
}

/**
 * Builds the module and the handles the test uses: settings (a flat `ibert.*` map), documents,
 * the active editor, and what the extension did.
 */
export function createFakeVscode(
  settings: Record<string, unknown>,
  workspaceFolder: string,
  extensions: Record<string, { isActive: boolean; exports: unknown; activate?: () => Promise<unknown> }> = {},
) {
  const rec: Recorder = {
    messages: [],
    openedDocuments: [],
    shownDocuments: [],
    appliedEdits: [],
    executed: [],
    diagnostics: new Map(),
    clipboard: "",
    output: [],
    statusBar: { text: "", tooltip: "" },
  };
  const commands = new Map<string, (...args: unknown[]) => unknown>();
  const documents: FakeDocument[] = [];
  const contentProviders = new Map<string, { provideTextDocumentContent(uri: Uri): string }>();
  const ev = {
    openDoc: new EventEmitter<FakeDocument>(),
    closeDoc: new EventEmitter<FakeDocument>(),
    changeDoc: new EventEmitter<unknown>(),
    config: new EventEmitter<{ affectsConfiguration(s: string): boolean }>(),
  };
  const noEvent = new EventEmitter<unknown>().event;
  const state = { activeTextEditor: undefined as unknown };

  const configuration = (section?: string) => {
    const prefix = section ? `${section}.` : "";
    const defaults: Record<string, unknown> = { "ibert.trace.server": "off", "ibert.dialect": "duckdb" };
    return {
      get<T>(key: string, dflt?: T): T | undefined {
        const full = prefix + key;
        if (full in settings) {
          return settings[full] as T;
        }
        // Objects such as `ibert.trace` are read whole by vscode-languageclient.
        const nested = Object.entries(settings).filter(([k]) => k.startsWith(`${full}.`));
        if (nested.length > 0) {
          return Object.fromEntries(nested.map(([k, v]) => [k.slice(full.length + 1), v])) as T;
        }
        return (defaults[full] as T) ?? dflt;
      },
      has(key: string) {
        return prefix + key in settings;
      },
      inspect(key: string) {
        const full = prefix + key;
        return { key: full, globalValue: settings[full], defaultValue: defaults[full] };
      },
      update(key: string, value: unknown) {
        settings[prefix + key] = value;
        return Promise.resolve();
      },
    };
  };

  const outputChannel = (name: string) => {
    const log = (level: string) => (msg: string) => rec.output.push(`${name} ${level}: ${msg}`);
    return {
      name,
      logLevel: 2,
      onDidChangeLogLevel: noEvent,
      append: (s: string) => rec.output.push(s),
      appendLine: (s: string) => rec.output.push(s),
      replace: () => undefined,
      clear: () => undefined,
      show: () => undefined,
      hide: () => undefined,
      dispose: () => undefined,
      trace: log("trace"),
      debug: log("debug"),
      info: log("info"),
      warn: log("warn"),
      error: (m: string | Error) => rec.output.push(`${name} error: ${String(m)}`),
    };
  };

  const message = (level: "info" | "warning" | "error") =>
    (msg: string, ...items: unknown[]) => {
      const labels = items.filter((i): i is string => typeof i === "string");
      rec.messages.push({ level, message: msg, items: labels });
      return Promise.resolve(rec.clickButton?.(msg, labels));
    };

  const registrar = () => () => new Disposable();

  const vscode: Record<string, unknown> = {
    version: "1.91.0",
    EventEmitter,
    Disposable,
    Position,
    Range,
    Selection,
    Uri,
    MarkdownString,
    TextEdit,
    WorkspaceEdit,
    CodeActionKind,
    Diagnostic,
    DiagnosticRelatedInformation,
    Location,
    CodeAction,
    Hover,
    CompletionItem,
    CompletionList,
    InlineCompletionItem,
    InlineCompletionList,
    SnippetString,
    SnippetTextEdit,
    CodeLens,
    DocumentLink,
    InlayHint,
    SymbolInformation,
    CallHierarchyItem,
    TypeHierarchyItem,
    CancellationError,
    CancellationTokenSource,
    ThemeColor,
    DiagnosticSeverity: enumOf({ Error: 0, Warning: 1, Information: 2, Hint: 3 }),
    DiagnosticTag: enumOf({ Unnecessary: 1, Deprecated: 2 }),
    CompletionItemKind: enumOf({ Text: 0, Method: 1, Function: 2, Field: 4, Variable: 5, Module: 8, Property: 9, Keyword: 13 }),
    CompletionItemTag: enumOf({ Deprecated: 1 }),
    CompletionTriggerKind: enumOf({ Invoke: 0, TriggerCharacter: 1, TriggerForIncompleteCompletions: 2 }),
    InlineCompletionTriggerKind: enumOf({ Invoke: 0, Automatic: 1 }),
    CodeActionTriggerKind: enumOf({ Invoke: 1, Automatic: 2 }),
    StatusBarAlignment: enumOf({ Left: 1, Right: 2 }),
    ProgressLocation: enumOf({ SourceControl: 1, Window: 10, Notification: 15 }),
    ViewColumn: enumOf({ Active: -1, Beside: -2, One: 1 }),
    LogLevel: enumOf({ Off: 0, Trace: 1, Debug: 2, Info: 3, Warning: 4, Error: 5 }),
    TextDocumentSaveReason: enumOf({ Manual: 1, AfterDelay: 2, FocusOut: 3 }),
    NotebookCellKind: enumOf({ Markup: 1, Code: 2 }),
    SymbolKind: enumOf({}),
    SymbolTag: enumOf({}),
    FileType: enumOf({ File: 1, Directory: 2 }),
    FoldingRangeKind: enumOf({}),
    DocumentHighlightKind: enumOf({}),
    SignatureHelpTriggerKind: enumOf({}),
    TabInputText: class {},
    TabInputTextDiff: class {},
    TabInputNotebook: class {},
    TabInputCustom: class {},
    RelativePattern: class {
      constructor(
        readonly base: unknown,
        readonly pattern: string,
      ) {}
    },
    env: {
      appName: "Visual Studio Code (fake)",
      language: "en",
      machineId: "test",
      clipboard: {
        writeText: (t: string) => {
          rec.clipboard = t;
          return Promise.resolve();
        },
        readText: () => Promise.resolve(rec.clipboard),
      },
      openExternal: () => Promise.resolve(true),
    },
    commands: {
      registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
        if (commands.has(id)) {
          throw new Error(`command '${id}' already exists`);
        }
        commands.set(id, fn);
        return new Disposable(() => commands.delete(id));
      },
      async executeCommand(id: string, ...args: unknown[]) {
        rec.executed.push({ command: id, args });
        const fn = commands.get(id);
        return fn ? fn(...args) : undefined;
      },
      getCommands: () => Promise.resolve([...commands.keys()]),
    },
    extensions: { getExtension: (id: string) => extensions[id], all: Object.values(extensions) },
    window: {
      get activeTextEditor() {
        return state.activeTextEditor;
      },
      visibleTextEditors: [],
      tabGroups: { all: [], onDidChangeTabs: noEvent, onDidChangeTabGroups: noEvent },
      onDidChangeActiveTextEditor: noEvent,
      onDidChangeVisibleTextEditors: noEvent,
      onDidChangeVisibleNotebookEditors: noEvent,
      createOutputChannel: (name: string) => outputChannel(name),
      createStatusBarItem: () => {
        const item = {
          name: "",
          command: undefined as unknown,
          get text() {
            return rec.statusBar.text;
          },
          set text(v: string) {
            rec.statusBar.text = v;
          },
          get tooltip() {
            return rec.statusBar.tooltip;
          },
          set tooltip(v: string) {
            rec.statusBar.tooltip = v;
          },
          get backgroundColor() {
            return rec.statusBar.backgroundColor;
          },
          set backgroundColor(v: ThemeColor | undefined) {
            rec.statusBar.backgroundColor = v;
          },
          show: () => undefined,
          hide: () => undefined,
          dispose: () => undefined,
        };
        return item;
      },
      showInformationMessage: message("info"),
      showWarningMessage: message("warning"),
      showErrorMessage: message("error"),
      showQuickPick: (items: { label: string }[]) => Promise.resolve(rec.quickPick?.(items)),
      showInputBox: () => Promise.resolve(rec.inputBox?.()),
      showTextDocument: (doc: FakeDocument) => {
        rec.shownDocuments.push(doc);
        return Promise.resolve({ document: doc });
      },
      withProgress: (_opts: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) =>
        task({ report: () => undefined }, new CancellationTokenSource().token),
    },
    workspace: {
      workspaceFolders: [{ uri: Uri.file(workspaceFolder), name: path.basename(workspaceFolder), index: 0 }],
      name: path.basename(workspaceFolder),
      get textDocuments() {
        return documents;
      },
      notebookDocuments: [],
      isTrusted: true,
      fs: {},
      getConfiguration: configuration,
      getWorkspaceFolder: () => (vscode.workspace as { workspaceFolders: unknown[] }).workspaceFolders[0],
      asRelativePath: (u: Uri | string) => path.relative(workspaceFolder, typeof u === "string" ? u : u.fsPath),
      onDidOpenTextDocument: ev.openDoc.event,
      onDidCloseTextDocument: ev.closeDoc.event,
      onDidChangeTextDocument: ev.changeDoc.event,
      onDidSaveTextDocument: noEvent,
      onWillSaveTextDocument: noEvent,
      onDidChangeConfiguration: ev.config.event,
      onDidChangeWorkspaceFolders: noEvent,
      onDidOpenNotebookDocument: noEvent,
      onDidCloseNotebookDocument: noEvent,
      onDidChangeNotebookDocument: noEvent,
      onDidSaveNotebookDocument: noEvent,
      onWillCreateFiles: noEvent,
      onDidCreateFiles: noEvent,
      onWillRenameFiles: noEvent,
      onDidRenameFiles: noEvent,
      onWillDeleteFiles: noEvent,
      onDidDeleteFiles: noEvent,
      createFileSystemWatcher: () => ({ onDidCreate: noEvent, onDidChange: noEvent, onDidDelete: noEvent, dispose() {} }),
      registerTextDocumentContentProvider(scheme: string, p: { provideTextDocumentContent(uri: Uri): string }) {
        contentProviders.set(scheme, p);
        return new Disposable(() => contentProviders.delete(scheme));
      },
      openTextDocument: (arg: { language?: string; content?: string } | Uri) => {
        let doc: FakeDocument;
        if (arg instanceof Uri) {
          const p = contentProviders.get(arg.scheme);
          doc = new FakeDocument(arg, "markdown", p ? p.provideTextDocumentContent(arg) : "");
        } else {
          doc = new FakeDocument(Uri.from({ scheme: "untitled", path: `/Untitled-${rec.openedDocuments.length + 1}` }), arg.language ?? "plaintext", arg.content ?? "");
        }
        rec.openedDocuments.push(doc);
        return Promise.resolve(doc);
      },
      applyEdit: (edit: WorkspaceEdit) => {
        rec.appliedEdits.push(edit);
        for (const [uri, e] of edit.edits) {
          const doc = documents.find((d) => d.uri.toString() === uri.toString());
          if (doc) {
            const rangeOffset = doc.offsetAt(e.range.start);
            const rangeLength = doc.offsetAt(e.range.end) - rangeOffset;
            doc.apply(e.range, e.newText);
            ev.changeDoc.fire({
              document: doc,
              contentChanges: [{ range: e.range, rangeOffset, rangeLength, text: e.newText }],
              reason: undefined,
            });
          }
        }
        return Promise.resolve(true);
      },
    },
    languages: {
      match: (selector: unknown, doc: FakeDocument) => {
        const sels = Array.isArray(selector) ? selector : [selector];
        return sels.some((s) =>
          typeof s === "string"
            ? s === doc.languageId
            : (!s.language || s.language === doc.languageId) && (!s.scheme || s.scheme === doc.uri.scheme),
        )
          ? 10
          : 0;
      },
      getDiagnostics: (uri?: Uri) => (uri ? ((rec.diagnostics.get(uri.toString()) as unknown[]) ?? []) : []),
      createDiagnosticCollection: (name: string) => ({
        name,
        set: (uri: Uri | [Uri, unknown[]][], diags?: unknown[]) => {
          if (uri instanceof Uri) {
            rec.diagnostics.set(uri.toString(), diags ?? []);
          } else {
            for (const [u, d] of uri) {
              rec.diagnostics.set(u.toString(), d);
            }
          }
        },
        delete: (uri: Uri) => rec.diagnostics.delete(uri.toString()),
        clear: () => rec.diagnostics.clear(),
        get: (uri: Uri) => rec.diagnostics.get(uri.toString()),
        forEach: () => undefined,
        has: (uri: Uri) => rec.diagnostics.has(uri.toString()),
        dispose: () => undefined,
      }),
    },
  };
  // Every other `languages.register*Provider`: vscode-languageclient registers them and keeps the
  // disposable; the test sends requests through the client instead of through providers.
  const languages = vscode.languages as Record<string, unknown>;
  const providers: Record<string, unknown[]> = {};
  const languagesProxy = new Proxy(languages, {
    get(t, p: string) {
      if (p in t) {
        return t[p];
      }
      if (p.startsWith("register")) {
        return (_sel: unknown, provider: unknown) => {
          (providers[p] ??= []).push(provider);
          return registrar()();
        };
      }
      return undefined;
    },
  });
  vscode.languages = languagesProxy;

  return {
    vscode,
    rec,
    commands,
    providers,
    /** Opens a document the way VS Code does when a file is shown. */
    open(file: string | Uri, languageId: string, text: string) {
      const doc = new FakeDocument(typeof file === "string" ? Uri.file(file) : file, languageId, text);
      documents.push(doc);
      ev.openDoc.fire(doc);
      return doc;
    },
    setActiveEditor(doc: FakeDocument, selection: Selection) {
      state.activeTextEditor = { document: doc, selection, selections: [selection], viewColumn: 1 };
    },
    /** Changes settings and fires onDidChangeConfiguration for them. */
    changeSettings(patch: Record<string, unknown>) {
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) {
          delete settings[k];
        } else {
          settings[k] = v;
        }
      }
      const keys = Object.keys(patch);
      ev.config.fire({
        affectsConfiguration: (s: string) => keys.some((k) => k === s || k.startsWith(`${s}.`) || s.startsWith(`${k}.`)),
      });
    },
  };
}
