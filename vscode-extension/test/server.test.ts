/**
 * The extension's requests against the real ibert-lsp.
 *
 * Starts the server exactly as extension.ts does (resolveServerCommand + probeServer, settings
 * from mapSettings as initializationOptions) and sends the request objects that commandArgs.ts
 * builds for each palette command, through vscode-jsonrpc/node + vscode-languageserver-protocol.
 *
 * Python: $IBERT_PYTHON, default ../.venv/bin/python. Skipped, with the reason, only when that
 * interpreter does not exist or has no ibert_lsp; any other failure to start fails the test.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CodeActionRequest,
  CodeActionResolveRequest,
  CompletionRequest,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  HoverRequest,
  InlineCompletionRequest,
  type CodeAction,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type InlineCompletionItem,
  type InlineCompletionList,
  type MarkedString,
  type Range,
} from "vscode-languageserver-protocol";

import {
  SERVER_COMMANDS,
  answerDocument,
  answerFromResult,
  answerSources,
  askParams,
  codeActionParams,
  convertSelectionToSqlParams,
  allEdits,
  editsFor,
  expressionRangeOnLine,
  needsResolve,
  pickCodeAction,
  sqlFromResult,
  statusParams,
} from "../src/commandArgs";
import { modelStateFrom } from "../src/status";
import { probeServer, resolveServerCommand } from "../src/serverCommand";
import {
  FEATURE_SWITCHES,
  SERVER_SETTINGS,
  didChangeConfigurationParams,
  mapSettings,
  type InspectedValue,
  type ServerOptions,
} from "../src/settings";
import { fileUri, startSession, withTimeout, type Session } from "./lspHarness";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const python = process.env.IBERT_PYTHON || path.join(repoRoot, ".venv", "bin", "python");
const REQUEST_MS = 60_000;

const PY = [
  "import ibis",
  "",
  'events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string"}, name="events")',
  "",
  'big = events.filter(events.amount > 10).select("user_id", "amount")',
  'q = "SELECT user_id, amount FROM events WHERE amount > 10"',
  "bad = events.filter(events.amout > 10)",
  "",
  "",
  "def spend_by_user(t, threshold):",
  '    return t.filter(t.amount > threshold).group_by("user_id").agg(total=t.amount.sum())',
  "",
].join("\n");
const lines = PY.split("\n");
// Completion happens mid-typing, in a file that does not parse.
const TYPING = [lines[0], lines[1], lines[2], "", "x = events.", ""].join("\n");

function rangeOf(line: number, needle: string, endNeedle?: string): Range {
  const text = lines[line];
  const start = text.indexOf(needle);
  assert.ok(start >= 0, `${needle} not on line ${line}`);
  const end = endNeedle === undefined ? start + needle.length : text.indexOf(endNeedle) + endNeedle.length;
  return { start: { line, character: start }, end: { line, character: end } };
}

function messageText(d: Diagnostic): string {
  return typeof d.message === "string" ? d.message : d.message.value;
}

/** What VS Code's `inspect` would give for a user who set these values in settings.json. */
function userSettings(values: Record<string, unknown>) {
  const table: Record<string, InspectedValue> = {};
  for (const [k, v] of Object.entries(values)) {
    table[k] = { globalValue: v };
  }
  return (key: string) => table[key];
}

const found = (async () => {
  const cmd = resolveServerCommand({ python });
  const probe = await probeServer(cmd);
  return { cmd, probe };
})();

describe("real ibert-lsp", async () => {
  const { cmd, probe } = await found;
  if (!probe.ok && (probe.kind === "notFound" || probe.kind === "moduleMissing")) {
    test(`SKIPPED: no ibert-lsp (${probe.detail}); set IBERT_PYTHON to an interpreter with ibert installed`, (t) => {
      t.skip(probe.detail);
    });
    return;
  }
  assert.ok(probe.ok, `probe failed: ${probe.detail}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-vscode-"));
  const schemaFile = path.join(tmp, "schemas.json");
  fs.writeFileSync(schemaFile, JSON.stringify({ orders: { order_id: "int64", customer: "string", total: "float64" } }));
  const pyUri = fileUri(path.join(tmp, "analysis.py"));
  const sqlUri = fileUri(path.join(tmp, "report.sql"));
  const typingUri = fileUri(path.join(tmp, "typing.py"));

  // Settings as a user would set them; the model is off so the test is fast and deterministic.
  const mapped = mapSettings(
    userSettings({
      dialect: "duckdb",
      schemaFile,
      docstringStyle: "google",
      maxLatencyMs: 300,
      diagnosticsDebounceMs: 0,
      "features.model": false,
    }),
  );
  assert.deepEqual(mapped.problems, []);
  let current: ServerOptions = mapped.options;
  let s: Session;

  before(async () => {
    s = await startSession(
      { ...cmd, args: [...cmd.args] },
      { initializationOptions: mapped.options, rootDir: tmp, configuration: () => current },
    );
    await s.open(pyUri, "python", PY);
    await s.open(typingUri, "python", TYPING);
    await s.open(sqlUri, "sql", "SELECT customer, SUM(total) AS spent FROM orders WHERE total > 5 GROUP BY customer\n");
  });

  after(() => {
    if (s && s.process.exitCode === null && s.process.signalCode === null) {
      s.process.kill("SIGKILL");
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("advertises what the extension uses", () => {
    const caps = s.initializeResult.capabilities;
    assert.equal(s.initializeResult.serverInfo?.name, "ibert-lsp");
    assert.ok(caps.inlineCompletionProvider, "no inlineCompletionProvider");
    assert.ok(caps.completionProvider, "no completionProvider");
    assert.ok(caps.hoverProvider, "no hoverProvider");
    const ca = caps.codeActionProvider;
    assert.ok(ca && typeof ca === "object" && ca.resolveProvider, "code actions without resolve");
    const commands = caps.executeCommandProvider?.commands ?? [];
    for (const c of Object.values(SERVER_COMMANDS)) {
      assert.ok(commands.includes(c), `server lacks command ${c} (has ${commands.join(", ")})`);
    }
  });

  test("the settings the extension sends are all known to the server", () => {
    const warnings = s.messages.filter((m) => /unknown setting|setting '/i.test(m.message));
    assert.deepEqual(warnings, []);
  });

  test("the extension's settings table matches ibert_lsp.config", () => {
    const out = execFileSync(
      cmd.python!,
      [
        "-c",
        [
          "import dataclasses, json, re",
          "from ibert_lsp import config as c",
          "camel = lambda s: re.sub(r'_(\\w)', lambda m: m.group(1).upper(), s)",
          "d = {camel(f.name): f.default for f in dataclasses.fields(c.Settings) if f.name != 'features'}",
          "print(json.dumps({'defaults': d, 'features': [camel(f) for f in c.FEATURES], 'styles': list(c.DOCSTRING_STYLES)}))",
        ].join("\n"),
      ],
      { encoding: "utf8" },
    );
    const server = JSON.parse(out) as { defaults: Record<string, unknown>; features: string[]; styles: string[] };
    const ours = Object.fromEntries(SERVER_SETTINGS.map((x) => [x.serverKey, x.default]));
    assert.deepEqual(ours, server.defaults);
    assert.deepEqual([...FEATURE_SWITCHES].sort(), [...server.features].sort());
    assert.deepEqual([...SERVER_SETTINGS.find((x) => x.key === "docstringStyle")!.enum!], server.styles);
  });

  test("diagnostics: the misspelt column is reported", async () => {
    const diags = await s.diagnostics(pyUri, (d) => d.some((x) => x.range.start.line === 6));
    const d = diags.find((x) => x.range.start.line === 6)!;
    assert.ok(d, JSON.stringify(diags));
    assert.match(messageText(d), /amout/);
  });

  test("quick fix: the code action for the diagnostic replaces amout by amount", async () => {
    const diags = await s.diagnostics(pyUri, (d) => d.some((x) => x.range.start.line === 6));
    const diag = diags.find((x) => x.range.start.line === 6) as Diagnostic;
    const answer = await s.connection.sendRequest(CodeActionRequest.type, {
      textDocument: { uri: pyUri },
      range: diag.range,
      context: { diagnostics: [diag], only: ["quickfix"], triggerKind: 1 },
    });
    const fix = (answer ?? []).find((a) => "kind" in a && a.kind === "quickfix") as CodeAction | undefined;
    assert.ok(fix, `no quick fix in ${JSON.stringify(answer)}`);
    const resolved = needsResolve(fix) ? await s.connection.sendRequest(CodeActionResolveRequest.type, fix) : fix;
    const edits = editsFor(resolved.edit, pyUri);
    assert.ok(edits.length > 0, JSON.stringify(resolved));
    assert.ok(edits.some((e) => e.newText.includes("amount") && !e.newText.includes("amout")), JSON.stringify(edits));
  });

  test("ibert: Convert Selection to SQL → ibert.convertSelectionToSql", async () => {
    const range = rangeOf(4, "events.filter", '"amount")');
    for (const dialect of ["duckdb", "postgres"]) {
      const t0 = Date.now();
      const result = await withTimeout(
        s.connection.sendRequest(ExecuteCommandRequest.type, convertSelectionToSqlParams({ uri: pyUri, range, dialect })),
        REQUEST_MS,
        "convertSelectionToSql",
      );
      const sql = sqlFromResult(result);
      console.log(`# convertSelectionToSql(${dialect}): ${Date.now() - t0} ms`);
      assert.match(sql, /SELECT/i);
      assert.match(sql, /"events"|\bevents\b/);
      assert.match(sql, /WHERE/i);
      assert.match(sql, /> 10/);
    }
  });

  test("ibert: Convert Selection to SQL with nothing selected → the expression on the cursor's line", async () => {
    const range = expressionRangeOnLine(4, lines[4])!;
    assert.deepEqual(range, rangeOf(4, "events.filter", '"amount")'));
    const sql = sqlFromResult(
      await s.connection.sendRequest(ExecuteCommandRequest.type, convertSelectionToSqlParams({ uri: pyUri, range, dialect: "mysql" })),
    );
    assert.match(sql, /`events`/); // MySQL quoting: the chosen dialect was used
  });

  test("a selection that is not Ibis gives the server's error, which the command shows", async () => {
    const result = await s.connection.sendRequest(
      ExecuteCommandRequest.type,
      convertSelectionToSqlParams({ uri: pyUri, range: rangeOf(6, "events.amout"), dialect: "duckdb" }),
    );
    assert.throws(() => sqlFromResult(result), /amout/);
  });

  test("ibert.status reports the model state the status bar shows", async () => {
    const result = await s.connection.sendRequest(ExecuteCommandRequest.type, statusParams());
    assert.deepEqual(modelStateFrom(result), { state: "off", name: undefined }); // features.model = false
  });

  test("ibert: Convert SQL to Ibis → codeAction + resolve on a SQL string", async () => {
    const range = rangeOf(5, "SELECT");
    const t0 = Date.now();
    const answer = await s.connection.sendRequest(CodeActionRequest.type, codeActionParams("sqlToIbis", { uri: pyUri, range }));
    const action = pickCodeAction("sqlToIbis", answer);
    assert.ok(action, `no SQL→Ibis action in ${JSON.stringify(answer)}`);
    const resolved = needsResolve(action) ? await s.connection.sendRequest(CodeActionResolveRequest.type, action) : action;
    console.log(`# convert SQL to Ibis (python string): ${Date.now() - t0} ms`);
    const text = editsFor(resolved.edit, pyUri).map((e) => e.newText).join("\n");
    assert.match(text, /events/);
    assert.match(text, /filter/);
    assert.match(text, /amount/);
  });

  test("ibert: Convert SQL to Ibis → the statement at the cursor in a .sql file, schemas from ibert.schemaFile", async () => {
    // The command sends the cursor (empty selection): the server converts the statement there.
    const range = { start: { line: 0, character: 10 }, end: { line: 0, character: 10 } };
    const answer = await s.connection.sendRequest(CodeActionRequest.type, codeActionParams("sqlToIbis", { uri: sqlUri, range }));
    const action = pickCodeAction("sqlToIbis", answer);
    assert.ok(action, `no SQL→Ibis action in ${JSON.stringify(answer)}`);
    const resolved = needsResolve(action) ? await s.connection.sendRequest(CodeActionResolveRequest.type, action) : action;
    const text = allEdits(resolved.edit).map((e) => e.newText).join("\n");
    assert.match(text, /orders/, `no edit: ${resolved.title}`);
    assert.match(text, /group_by/);
    assert.match(text, /total/);
  });

  test("ibert: Generate Docstring → codeAction + resolve on a function", async () => {
    const range = rangeOf(9, "spend_by_user");
    const answer = await s.connection.sendRequest(CodeActionRequest.type, codeActionParams("docstring", { uri: pyUri, range }));
    const action = pickCodeAction("docstring", answer);
    assert.ok(action, `no docstring action in ${JSON.stringify(answer)}`);
    const resolved = needsResolve(action) ? await s.connection.sendRequest(CodeActionResolveRequest.type, action) : action;
    const text = editsFor(resolved.edit, pyUri).map((e) => e.newText).join("\n");
    assert.match(text, /"""/);
    assert.match(text, /threshold/);
    assert.match(text, /Args:/); // google style, as configured
  });

  test("ibert: Ask about Ibis → ibert.ask", async () => {
    const t0 = Date.now();
    const result = await withTimeout(
      s.connection.sendRequest(ExecuteCommandRequest.type, askParams("How do I compute the sum of a column?", { uri: pyUri })),
      REQUEST_MS,
      "ask",
    );
    console.log(`# ask: ${Date.now() - t0} ms`);
    const answer = answerFromResult(result);
    assert.ok(answer.length > 40, answer);
    assert.match(answer, /sum/);
    // The uri the command passes gives the server the document's tables: the example uses them.
    assert.match(answer, /(events|orders)\.\w+\.sum\(\)/);
    const doc = answerDocument("How do I compute the sum of a column?", answer, answerSources(result));
    assert.match(doc, /^# How do I compute the sum of a column\?\n\n/);
  });

  test("completion after `events.` lists the table's columns", async () => {
    const t0 = Date.now();
    const result = await s.connection.sendRequest(CompletionRequest.type, {
      textDocument: { uri: typingUri },
      position: { line: 4, character: "x = events.".length },
      context: { triggerKind: 2, triggerCharacter: "." },
    });
    console.log(`# completion: ${Date.now() - t0} ms`);
    const items: CompletionItem[] = Array.isArray(result) ? result : ((result as CompletionList | null)?.items ?? []);
    const labels = items.map((i) => i.label);
    for (const col of ["user_id", "amount", "country"]) {
      assert.ok(labels.includes(col), `${col} not in ${labels.slice(0, 30).join(", ")}`);
    }
  });

  test("inline completion answers (model off: deterministic suggestions or none, never an error)", async () => {
    const t0 = Date.now();
    const result = await s.connection.sendRequest(InlineCompletionRequest.type, {
      textDocument: { uri: typingUri },
      position: { line: 4, character: "x = events.".length },
      context: { triggerKind: 1, selectedCompletionInfo: undefined },
    });
    console.log(`# inline completion: ${Date.now() - t0} ms`);
    const items: InlineCompletionItem[] = Array.isArray(result) ? result : ((result as InlineCompletionList | null)?.items ?? []);
    for (const item of items) {
      const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
      assert.ok(!/<fim_|<\|endoftext\|>|<\/s>/.test(text), `special token leaked: ${text}`);
    }
  });

  test("hover on an Ibis method shows its documentation", async () => {
    const line = 4;
    const character = lines[line].indexOf("filter") + 2;
    const result = await s.connection.sendRequest(HoverRequest.type, { textDocument: { uri: pyUri }, position: { line, character } });
    assert.ok(result, "no hover");
    const c = result.contents;
    const text = typeof c === "string" ? c : Array.isArray(c) ? c.map((x: MarkedString) => (typeof x === "string" ? x : x.value)).join("\n") : c.value;
    assert.match(text, /filter/i);
  });

  test("a settings change (workspace/didChangeConfiguration) takes effect", async () => {
    // Switch the docstring style to numpy the way extension.ts does, then ask again.
    current = mapSettings(userSettings({ dialect: "duckdb", schemaFile, docstringStyle: "numpy", maxLatencyMs: 300, diagnosticsDebounceMs: 0, "features.model": false })).options;
    await s.connection.sendNotification(DidChangeConfigurationNotification.type, didChangeConfigurationParams(current));
    const range = rangeOf(9, "spend_by_user");
    let text = "";
    for (let i = 0; i < 20 && !/Parameters\n\s*-+/.test(text); i++) {
      const answer = await s.connection.sendRequest(CodeActionRequest.type, codeActionParams("docstring", { uri: pyUri, range }));
      const action = pickCodeAction("docstring", answer);
      assert.ok(action);
      const resolved = needsResolve(action) ? await s.connection.sendRequest(CodeActionResolveRequest.type, action) : action;
      text = editsFor(resolved.edit, pyUri).map((e) => e.newText).join("\n");
      if (!/Parameters\n\s*-+/.test(text)) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.match(text, /Parameters\n\s*-+/);
    const warnings = s.messages.filter((m) => /unknown setting|setting '/i.test(m.message));
    assert.deepEqual(warnings, []);
  });

  // Last: what vscode-languageclient does on "ibert: Restart Server" and on window reload.
  test("shutdown + exit: the server process ends with code 0", async () => {
    const code = await s.close();
    assert.equal(code, 0, `server did not exit cleanly (code ${code}); its threads at the time:\n${s.stderr().slice(-4000)}`);
  });
});
