/**
 * The LSP requests behind the extension's commands: how each palette command becomes a
 * workspace/executeCommand or textDocument/codeAction request, and how the answer is read back.
 *
 * extension.ts sends exactly these objects through vscode-languageclient; test/server.test.ts
 * sends the same objects to a real ibert-lsp through vscode-jsonrpc, so the mapping is checked
 * end to end without VS Code.
 *
 * Pure logic: no `vscode` import (LSP types only).
 */
import type {
  AnnotatedTextEdit,
  CodeAction,
  CodeActionParams,
  Command,
  Diagnostic,
  ExecuteCommandParams,
  Range,
  SnippetTextEdit,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageserver-protocol";

/** Server command names (workspace/executeCommand), as ibert_lsp/features/commands.py registers them. */
export const SERVER_COMMANDS = {
  convertSelectionToSql: "ibert.convertSelectionToSql",
  ask: "ibert.ask",
  status: "ibert.status",
} as const;

/** `ibert.status`: the server's model state, settings and counters (the status bar reads it). */
export function statusParams(): ExecuteCommandParams {
  return { command: SERVER_COMMANDS.status, arguments: [] };
}

/**
 * The extension's own command ids (package.json `contributes.commands`). They differ from the
 * server's command names because vscode-languageclient registers every server command under its
 * own name, and two registrations of one id fail.
 */
export const EXTENSION_COMMANDS = {
  convertSelectionToSql: "ibert.editor.convertSelectionToSql",
  convertSqlToIbis: "ibert.editor.convertSqlToIbis",
  generateDocstring: "ibert.editor.generateDocstring",
  ask: "ibert.editor.ask",
  restartServer: "ibert.restartServer",
  showOutput: "ibert.showOutput",
  statusMenu: "ibert.statusMenu",
} as const;

/** The code actions the palette commands pick from the server's textDocument/codeAction answer. */
export type ActionTarget = "sqlToIbis" | "docstring" | "toSql";

interface ActionMatcher {
  /** Code action kinds to ask for (`context.only`). */
  only: string[];
  /** Title the action must match (kinds alone are shared between several actions). */
  title: RegExp;
}

export const ACTION_MATCHERS: Record<ActionTarget, ActionMatcher> = {
  sqlToIbis: { only: ["refactor.rewrite"], title: /sql\s*(to|→|->)\s*ibis/i },
  toSql: { only: ["refactor.rewrite"], title: /to\s*sql/i },
  docstring: { only: ["refactor"], title: /docstring/i },
};

export interface SelectionArgs {
  uri: string;
  range: Range;
}

export function convertSelectionToSqlParams(
  args: SelectionArgs & { dialect: string },
): ExecuteCommandParams {
  return {
    command: SERVER_COMMANDS.convertSelectionToSql,
    arguments: [{ uri: args.uri, range: args.range, dialect: args.dialect }],
  };
}

export function askParams(question: string, context?: Partial<SelectionArgs>): ExecuteCommandParams {
  const q = question.trim();
  if (!q) {
    throw new Error("the question is empty");
  }
  const arg: Record<string, unknown> = { question: q };
  if (context?.uri) {
    arg.uri = context.uri;
  }
  if (context?.range) {
    arg.range = context.range;
  }
  return { command: SERVER_COMMANDS.ask, arguments: [arg] };
}

export function codeActionParams(
  target: ActionTarget,
  args: SelectionArgs & { diagnostics?: Diagnostic[] },
): CodeActionParams {
  return {
    textDocument: { uri: args.uri },
    range: args.range,
    context: {
      diagnostics: args.diagnostics ?? [],
      only: ACTION_MATCHERS[target].only,
      triggerKind: 1, // Invoked
    },
  };
}

function isCommand(x: CodeAction | Command): x is Command {
  return typeof (x as Command).command === "string";
}

/** The action for `target` among the server's answer, or undefined. */
export function pickCodeAction(
  target: ActionTarget,
  answer: ReadonlyArray<CodeAction | Command> | null | undefined,
): CodeAction | undefined {
  const m = ACTION_MATCHERS[target];
  for (const item of answer ?? []) {
    if (isCommand(item)) {
      continue;
    }
    const kindOk = !item.kind || m.only.some((k) => item.kind === k || item.kind!.startsWith(`${k}.`));
    if (kindOk && m.title.test(item.title)) {
      return item;
    }
  }
  return undefined;
}

/** Whether the action still needs codeAction/resolve before it can be applied. */
export function needsResolve(action: CodeAction): boolean {
  return action.edit === undefined && action.command === undefined;
}

/** A text edit of any flavour as a plain TextEdit (a snippet edit gives its snippet text). */
function plainEdit(e: TextEdit | AnnotatedTextEdit | SnippetTextEdit): TextEdit {
  if ("newText" in e) {
    return { range: e.range, newText: e.newText };
  }
  return { range: e.range, newText: e.snippet.value };
}

/** Text edits per document in a workspace edit (both `changes` and `documentChanges` forms). */
function editsByUri(edit: WorkspaceEdit | undefined): [string, TextEdit[]][] {
  if (!edit) {
    return [];
  }
  const out: [string, TextEdit[]][] = [];
  for (const [uri, edits] of Object.entries(edit.changes ?? {})) {
    out.push([uri, edits.map(plainEdit)]);
  }
  for (const dc of edit.documentChanges ?? []) {
    if ("textDocument" in dc && "edits" in dc) {
      out.push([dc.textDocument.uri, dc.edits.map(plainEdit)]);
    }
  }
  return out;
}

/** Text edits for `uri` in a workspace edit. */
export function editsFor(edit: WorkspaceEdit | undefined, uri: string): TextEdit[] {
  return editsByUri(edit)
    .filter(([u]) => u === uri)
    .flatMap(([, e]) => e);
}

/** Every text edit in a workspace edit, whichever document it is for. */
export function allEdits(edit: WorkspaceEdit | undefined): TextEdit[] {
  return editsByUri(edit).flatMap(([, e]) => e);
}

/** Reads the SQL out of the convertSelectionToSql result (a string or `{sql: ...}`). */
export function sqlFromResult(result: unknown): string {
  if (typeof result === "string") {
    return result;
  }
  if (result && typeof result === "object") {
    const r = result as Record<string, unknown>;
    if (typeof r.sql === "string") {
      return r.sql;
    }
    if (typeof r.error === "string") {
      throw new Error(r.error);
    }
  }
  throw new Error(`the server returned no SQL (${JSON.stringify(result)})`);
}

/**
 * The range Convert Selection to SQL sends when nothing is selected: the expression on the
 * cursor's line, without an assignment target (`big = events.filter(...)` → `events.filter(...)`)
 * and without a trailing comment. Undefined for a blank or comment-only line.
 */
export function expressionRangeOnLine(line: number, text: string): Range | undefined {
  let end = text.length;
  const hash = findCommentStart(text);
  if (hash >= 0) {
    end = hash;
  }
  while (end > 0 && /\s/.test(text[end - 1])) {
    end--;
  }
  let start = 0;
  const assign = /^\s*[A-Za-z_][\w.]*(\s*:\s*[^=]+)?\s*=(?!=)\s*/.exec(text.slice(0, end));
  if (assign) {
    start = assign[0].length;
  } else {
    while (start < end && /\s/.test(text[start])) {
      start++;
    }
  }
  if (start >= end) {
    return undefined;
  }
  return { start: { line, character: start }, end: { line, character: end } };
}

/** Index of a `#` that starts a comment (not inside a string literal), or -1. */
function findCommentStart(text: string): number {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\") {
        i++;
      } else if (ch === quote) {
        quote = undefined;
      }
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "#") {
      return i;
    }
  }
  return -1;
}

/** Reads the answer out of the ask result (a string, or `{answer|markdown|text: ...}`). */
export function answerFromResult(result: unknown): string {
  if (typeof result === "string") {
    return result;
  }
  if (result && typeof result === "object") {
    const r = result as Record<string, unknown>;
    for (const k of ["markdown", "answer", "text", "value"]) {
      if (typeof r[k] === "string") {
        return r[k] as string;
      }
    }
    if (typeof r.error === "string") {
      throw new Error(r.error);
    }
  }
  throw new Error(`the server returned no answer (${JSON.stringify(result)})`);
}

/** The API entries an ask result says it is grounded in (`sources`), if any. */
export function answerSources(result: unknown): string[] {
  if (result && typeof result === "object" && Array.isArray((result as { sources?: unknown }).sources)) {
    return ((result as { sources: unknown[] }).sources).filter((x): x is string => typeof x === "string");
  }
  return [];
}

/** The markdown document shown for an answer: the question as a heading, the answer, its sources. */
export function answerDocument(question: string, answer: string, sources: readonly string[] = []): string {
  const head = `# ${question.trim().replace(/\s+/g, " ")}\n\n${answer.trim()}\n`;
  if (sources.length === 0) {
    return head;
  }
  return `${head}\n---\n\nSources: ${sources.map((x) => `\`${x}\``).join(", ")}\n`;
}

/** The document shown for converted SQL: a comment with the source and dialect, then the SQL. */
export function sqlDocument(sql: string, dialect: string, source?: string): string {
  const head = `-- ibert: ${source ? `${source}, ` : ""}dialect ${dialect}`;
  return `${head}\n${sql.trim()}\n`;
}

/**
 * Dialect quick-pick items: the configured dialect first, marked as such, then the rest in their
 * usual order.
 */
export function dialectChoices(
  dialects: readonly string[],
  current: string | undefined,
): { label: string; description?: string }[] {
  const cur = current?.toLowerCase();
  const ordered = cur && dialects.includes(cur) ? [cur, ...dialects.filter((d) => d !== cur)] : [...dialects];
  if (cur && !dialects.includes(cur)) {
    ordered.unshift(cur);
  }
  return ordered.map((d) => (d === cur ? { label: d, description: "ibert.dialect" } : { label: d }));
}
