import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  EXTENSION_COMMANDS,
  SERVER_COMMANDS,
  answerDocument,
  answerFromResult,
  answerSources,
  askParams,
  codeActionParams,
  convertSelectionToSqlParams,
  dialectChoices,
  editsFor,
  expressionRangeOnLine,
  needsResolve,
  pickCodeAction,
  sqlDocument,
  sqlFromResult,
} from "../src/commandArgs";

const uri = "file:///ws/q.py";
const range = { start: { line: 2, character: 0 }, end: { line: 2, character: 30 } };

test("convert selection to SQL carries uri, range and the chosen dialect", () => {
  assert.deepEqual(convertSelectionToSqlParams({ uri, range, dialect: "postgres" }), {
    command: SERVER_COMMANDS.convertSelectionToSql,
    arguments: [{ uri, range, dialect: "postgres" }],
  });
});

test("ask trims the question, refuses an empty one, and passes the editor context", () => {
  assert.deepEqual(askParams("  how do I join?  "), {
    command: SERVER_COMMANDS.ask,
    arguments: [{ question: "how do I join?" }],
  });
  assert.deepEqual(askParams("q", { uri, range }).arguments, [{ question: "q", uri, range }]);
  assert.throws(() => askParams("   "), /empty/);
});

test("code action requests ask only for the kinds the command needs", () => {
  const p = codeActionParams("sqlToIbis", { uri, range });
  assert.deepEqual(p.textDocument, { uri });
  assert.deepEqual(p.context.only, ["refactor.rewrite"]);
  assert.deepEqual(p.context.diagnostics, []);
  assert.equal(p.context.triggerKind, 1);
});

test("pickCodeAction finds the action by kind and title, skipping bare commands", () => {
  // The shapes ibert_lsp/features/actions.py returns.
  const answer = [
    { title: "ibert: Convert SQL to Ibis", command: "ibert.x" }, // a Command, not a CodeAction
    { title: "ibert: Fix: use `amount`", kind: "quickfix" },
    { title: "ibert: Convert selection to SQL (duckdb)", kind: "refactor.rewrite", data: { action: "to_sql" } },
    { title: "ibert: Convert SQL to Ibis", kind: "refactor.rewrite", data: { action: "sql_to_ibis" } },
    { title: "ibert: Generate docstring for `f` (Google style)", kind: "refactor", data: { action: "docstring" } },
  ];
  assert.deepEqual(pickCodeAction("sqlToIbis", answer), answer[3]);
  assert.deepEqual(pickCodeAction("toSql", answer), answer[2]);
  assert.deepEqual(pickCodeAction("docstring", answer), answer[4]);
  assert.equal(pickCodeAction("docstring", answer.slice(0, 4)), undefined);
  assert.equal(pickCodeAction("sqlToIbis", [{ title: "ibert: Convert SQL to Ibis", kind: "quickfix" }]), undefined);
  assert.equal(pickCodeAction("sqlToIbis", null), undefined);
});

test("needsResolve: only an action with neither edit nor command", () => {
  assert.equal(needsResolve({ title: "x", data: 1 }), true);
  assert.equal(needsResolve({ title: "x", edit: { changes: {} } }), false);
  assert.equal(needsResolve({ title: "x", command: { title: "", command: "c" } }), false);
});

test("editsFor reads both WorkspaceEdit forms", () => {
  const e = { range, newText: "x" };
  assert.deepEqual(editsFor({ changes: { [uri]: [e] } }, uri), [e]);
  assert.deepEqual(editsFor({ documentChanges: [{ textDocument: { uri, version: 3 }, edits: [e] }] }, uri), [e]);
  assert.deepEqual(editsFor({ changes: { "file:///other.py": [e] } }, uri), []);
  assert.deepEqual(editsFor(undefined, uri), []);
});

test("results: SQL and answers in the shapes the server may use", () => {
  assert.equal(sqlFromResult("SELECT 1"), "SELECT 1");
  assert.equal(sqlFromResult({ sql: "SELECT 2", dialect: "duckdb" }), "SELECT 2");
  assert.throws(() => sqlFromResult({ error: "name 't' is not defined" }), /not defined/);
  assert.throws(() => sqlFromResult(null), /no SQL/);
  assert.equal(answerFromResult("use `.join`"), "use `.join`");
  assert.equal(answerFromResult({ markdown: "**m**" }), "**m**");
  assert.equal(answerFromResult({ answer: "a" }), "a");
  assert.throws(() => answerFromResult({}), /no answer/);
});

test("with nothing selected, Convert to SQL sends the expression on the line", () => {
  const r = (text: string) => {
    const x = expressionRangeOnLine(7, text);
    return x && text.slice(x.start.character, x.end.character);
  };
  assert.equal(r('big = events.filter(events.amount > 10)  # large ones'), "events.filter(events.amount > 10)");
  assert.equal(r("    expr: ir.Table = t.select('a')"), "t.select('a')");
  assert.equal(r("t.filter(t.a == 1)"), "t.filter(t.a == 1)");
  assert.equal(r("  t.filter(t.s == '#x')"), "t.filter(t.s == '#x')");
  assert.equal(r("t.a == 1"), "t.a == 1");
  assert.equal(r("   # just a comment"), undefined);
  assert.equal(r(""), undefined);
  assert.deepEqual(expressionRangeOnLine(3, "x = t"), { start: { line: 3, character: 4 }, end: { line: 3, character: 5 } });
});

test("documents shown to the user", () => {
  assert.equal(answerDocument(" how\n do I join? ", " Use join. \n"), "# how do I join?\n\nUse join.\n");
  assert.equal(
    answerDocument("q", "a", answerSources({ text: "a", sources: ["Table.join", 3] })),
    "# q\n\na\n\n---\n\nSources: `Table.join`\n",
  );
  assert.equal(sqlDocument("SELECT 1\n", "postgres", "q.py"), "-- ibert: q.py, dialect postgres\nSELECT 1\n");
});

test("dialect choices put the configured dialect first", () => {
  const d = ["duckdb", "postgres", "mysql"];
  assert.deepEqual(dialectChoices(d, "postgres"), [
    { label: "postgres", description: "ibert.dialect" },
    { label: "duckdb" },
    { label: "mysql" },
  ]);
  assert.deepEqual(dialectChoices(d, "TSQL").map((c) => c.label), ["tsql", "duckdb", "postgres", "mysql"]);
  assert.deepEqual(dialectChoices(d, undefined).map((c) => c.label), d);
});

test("package.json contributes exactly the commands extension.ts registers", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  const contributed = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  assert.deepEqual(contributed, Object.values(EXTENSION_COMMANDS).sort());
  // None may collide with a server command: vscode-languageclient registers those itself.
  for (const c of contributed) {
    assert.ok(!Object.values(SERVER_COMMANDS).includes(c as never), c);
  }
  const src = fs.readFileSync(path.join(__dirname, "..", "..", "src", "extension.ts"), "utf8");
  for (const key of Object.keys(EXTENSION_COMMANDS)) {
    assert.match(src, new RegExp(`register\\(EXTENSION_COMMANDS\\.${key},`), `${key} is not registered`);
  }
  assert.deepEqual(pkg.activationEvents.sort(), ["onLanguage:python", "onLanguage:sql", "onNotebook:jupyter-notebook"]);
});
