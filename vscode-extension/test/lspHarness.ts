/**
 * A minimal LSP client for tests: starts the server command that serverCommand.ts resolves and
 * talks to it through vscode-jsonrpc/node + vscode-languageserver-protocol, the stack
 * vscode-languageclient is built on. It answers the server's requests the way VS Code does
 * (workspace/configuration from the same settings mapping, progress creation, registrations).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import {
  ConfigurationRequest,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShowMessageNotification,
  ShowMessageRequest,
  ShutdownRequest,
  WorkDoneProgressCreateRequest,
  type ClientCapabilities,
  type Diagnostic,
  type InitializeResult,
  type MessageConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol";

import type { ServerCommand } from "../src/serverCommand";
import type { ServerOptions } from "../src/settings";

/** What VS Code 1.91 with vscode-languageclient 11 declares, reduced to what ibert looks at. */
export const VSCODE_LIKE_CAPABILITIES: ClientCapabilities = {
  workspace: {
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: true },
    executeCommand: { dynamicRegistration: true },
    workspaceEdit: { documentChanges: true, resourceOperations: ["create", "rename", "delete"] },
    applyEdit: true,
    workspaceFolders: true,
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, didSave: true, willSave: true },
    completion: {
      dynamicRegistration: true,
      contextSupport: true,
      completionItem: {
        snippetSupport: true,
        documentationFormat: ["markdown", "plaintext"],
        resolveSupport: { properties: ["documentation", "detail", "additionalTextEdits"] },
        insertReplaceSupport: true,
        labelDetailsSupport: true,
      },
    },
    inlineCompletion: { dynamicRegistration: true },
    hover: { dynamicRegistration: true, contentFormat: ["markdown", "plaintext"] },
    publishDiagnostics: { relatedInformation: true, versionSupport: false, codeDescriptionSupport: true, dataSupport: true },
    codeAction: {
      dynamicRegistration: true,
      isPreferredSupport: true,
      disabledSupport: true,
      dataSupport: true,
      resolveSupport: { properties: ["edit"] },
      codeActionLiteralSupport: {
        codeActionKind: {
          valueSet: ["", "quickfix", "refactor", "refactor.extract", "refactor.inline", "refactor.rewrite", "source", "source.organizeImports"],
        },
      },
      honorsChangeAnnotations: true,
    },
  },
  window: { workDoneProgress: true, showMessage: { messageActionItem: { additionalPropertiesSupport: true } } },
  general: { positionEncodings: ["utf-16"] },
};

export interface Session {
  connection: MessageConnection;
  process: ChildProcessWithoutNullStreams;
  initializeResult: InitializeResult;
  messages: { type: number; message: string }[];
  stderr: () => string;
  /** Resolves with the first diagnostics for `uri` that satisfy `pred`. */
  diagnostics(uri: string, pred: (d: Diagnostic[]) => boolean, timeoutMs?: number): Promise<Diagnostic[]>;
  open(uri: string, languageId: string, text: string): Promise<void>;
  close(): Promise<number | null>;
}

export async function startSession(
  cmd: ServerCommand,
  options: { initializationOptions: ServerOptions; rootDir: string; configuration?: () => ServerOptions; env?: NodeJS.ProcessEnv },
): Promise<Session> {
  const proc = spawn(cmd.command, cmd.args, {
    cwd: options.rootDir,
    env: { ...process.env, PYTHONFAULTHANDLER: "1", ...(options.env ?? {}) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 200_000) {
      stderr = stderr.slice(-100_000);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const connection = createMessageConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  const messages: { type: number; message: string }[] = [];
  const latest = new Map<string, Diagnostic[]>();
  const waiters: { uri: string; pred: (d: Diagnostic[]) => boolean; resolve: (d: Diagnostic[]) => void }[] = [];

  connection.onNotification(ShowMessageNotification.type, (p) => {
    messages.push(p);
  });
  connection.onNotification(LogMessageNotification.type, (p) => {
    messages.push(p);
  });
  connection.onNotification(PublishDiagnosticsNotification.type, (p: PublishDiagnosticsParams) => {
    latest.set(p.uri, p.diagnostics);
    for (const w of [...waiters]) {
      if (w.uri === p.uri && w.pred(p.diagnostics)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(p.diagnostics);
      }
    }
  });
  connection.onNotification("$/progress", () => undefined);
  connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  connection.onRequest(RegistrationRequest.type, () => undefined);
  connection.onRequest("client/unregisterCapability", () => null);
  connection.onRequest(ShowMessageRequest.type, (p) => {
    messages.push({ type: p.type, message: p.message });
    return null;
  });
  connection.onRequest(ConfigurationRequest.type, (p) =>
    p.items.map((item) => (item.section === "ibert" ? (options.configuration ?? (() => options.initializationOptions))() : null)),
  );
  connection.listen();

  const rootUri = fileUri(options.rootDir);
  const initializeResult = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    clientInfo: { name: "Visual Studio Code", version: "1.91.0" },
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: path.basename(options.rootDir) }],
    capabilities: VSCODE_LIKE_CAPABILITIES,
    initializationOptions: options.initializationOptions,
  });
  await connection.sendNotification(InitializedNotification.type, {});

  return {
    connection,
    process: proc,
    initializeResult,
    messages,
    stderr: () => stderr,
    diagnostics(uri, pred, timeoutMs = 60_000) {
      const have = latest.get(uri);
      if (have && pred(have)) {
        return Promise.resolve(have);
      }
      return new Promise((resolve, reject) => {
        const w = { uri, pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`no matching diagnostics for ${uri} in ${timeoutMs} ms; last: ${JSON.stringify(latest.get(uri))}`));
          }
        }, timeoutMs).unref();
      });
    },
    async open(uri, languageId, text) {
      await connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId, version: 1, text },
      });
    },
    async close() {
      try {
        await withTimeout(connection.sendRequest(ShutdownRequest.type), 10_000, "shutdown");
        await connection.sendNotification(ExitNotification.type);
      } catch {
        proc.kill();
      }
      const tExit = Date.now();
      const code = await withTimeout(exited, 10_000, "exit").catch(async () => {
        // Hung: with PYTHONFAULTHANDLER set, SIGABRT makes Python print every thread's stack.
        proc.kill("SIGABRT");
        await withTimeout(exited, 3_000, "abort").catch(() => proc.kill("SIGKILL"));
        return null;
      });
      console.log(`# server exit after shutdown+exit: ${Date.now() - tExit} ms, code ${code}`);
      connection.dispose();
      return code;
    },
  };
}

export function fileUri(p: string): string {
  return "file://" + path.resolve(p).split(path.sep).map(encodeURIComponent).join("/").replace(/^\/+/, "/");
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
