/**
 * extension.ts itself, bundled (dist/extension.js), activated in node against a stand-in `vscode`
 * module (fakeVscode.ts) and the real ibert-lsp: server resolution and the missing-Python
 * notification, the status bar, diagnostics, each palette command end to end, settings changes,
 * restart, deactivation.
 *
 * Python: $IBERT_PYTHON, default ../.venv/bin/python; skipped, saying why, when it has no ibert.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Module from "node:module";

import { probeServer, resolveServerCommand } from "../src/serverCommand";
import { Position, Selection, createFakeVscode, fakePythonExtension, type FakeDocument } from "./fakeVscode";

const root = path.resolve(__dirname, "..", "..");
const bundle = path.join(root, "dist", "extension.js");
const python = process.env.IBERT_PYTHON || path.join(root, "..", ".venv", "bin", "python");

type Ext = { activate(ctx: unknown): Promise<void>; deactivate(): Promise<void> };

/** Loads a fresh copy of the bundle with `vscode` resolved to the given fake. */
function loadExtension(fakeModule: unknown): Ext {
  assert.ok(fs.existsSync(bundle), `${bundle} is missing: run \`npm run build\` first`);
  const M = Module as unknown as { _load: (req: string, ...rest: unknown[]) => unknown };
  const original = M._load;
  M._load = function (req: string, ...rest: unknown[]) {
    if (req === "vscode") {
      return fakeModule;
    }
    return original.call(this, req, ...rest);
  };
  try {
    delete require.cache[require.resolve(bundle)];
    return require(bundle) as Ext;
  } finally {
    M._load = original;
  }
}

function context() {
  return { subscriptions: [] as { dispose(): unknown }[], extensionPath: root, globalState: { get: () => undefined, update: () => Promise.resolve() } };
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) {
      return v;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

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
  '    return t.filter(t.amount > threshold).select("user_id", "amount")',
  "",
  "",
  "def top_countries(t, n):",
  '    return t.group_by("country").agg(total=t.amount.sum()).order_by("total").limit(n)',
  "",
].join("\n");

describe("extension.ts activation: missing Python", () => {
  test("a clear notification with the fix, and a red status bar item, instead of silence", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
    const fake = createFakeVscode({ "ibert.python": "/nonexistent/bin/python3" }, tmp);
    const ext = loadExtension(fake.vscode);
    await ext.activate(context());
    const err = fake.rec.messages.find((m) => m.level === "error");
    assert.ok(err, `no error notification; messages: ${JSON.stringify(fake.rec.messages)}`);
    assert.match(err.message, /Python was not found \(\/nonexistent\/bin\/python3, from setting ibert\.python\)/);
    assert.ok(err.items.includes("Open Settings"), JSON.stringify(err.items));
    assert.match(fake.rec.statusBar.text, /ibert · failed/);
    assert.match(fake.rec.statusBar.tooltip, /Python was not found/);
    assert.ok(fake.rec.statusBar.backgroundColor, "status item not coloured as an error");
    for (const id of ["ibert.editor.convertSelectionToSql", "ibert.editor.ask", "ibert.restartServer", "ibert.showOutput"]) {
      assert.ok(fake.commands.has(id), `${id} not registered`);
    }
    await ext.deactivate();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("a server that dies at start: not restarted in a loop; one clear error that says why", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
    const exe = path.join(tmp, "ibert-lsp");
    // Passes the `--version` check, then dies at start (a broken dependency, say).
    fs.writeFileSync(
      exe,
      "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'ibert-lsp 0.1.0'; exit 0; }\necho 'ImportError: no module named torch' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    const fake = createFakeVscode({ "ibert.serverPath": exe }, tmp);
    const ext = loadExtension(fake.vscode);
    await ext.activate(context());
    try {
      const err = await until("error", () => fake.rec.messages.find((m) => m.level === "error" && /^ibert: /.test(m.message)), 30_000);
      // The notification says why, from the server's own stderr.
      assert.match(err.message, /ImportError: no module named torch/);
      assert.ok(err.items.includes("Show Output"), JSON.stringify(err));
      assert.match(fake.rec.statusBar.text, /failed/);
      await until("the server's stderr in the output", () => fake.rec.output.some((l) => /no module named torch/.test(l)), 5000).catch(() => {
        assert.fail(`the server's stderr is not in the output:\n${fake.rec.output.join("\n")}`);
      });
      // vscode-languageclient's own popups are suppressed (errorHandler: handled) except the one it forces.
      const errors = fake.rec.messages.filter((m) => m.level === "error");
      assert.ok(errors.length <= 2, JSON.stringify(errors, null, 1));
      await new Promise((r) => setTimeout(r, 1000)); // anything more to come?
      assert.equal(fake.rec.output.filter((l) => /server exited; restarting/.test(l)).length, 0);
      assert.equal(fake.rec.messages.filter((m) => /^ibert: /.test(m.message)).length, 1, JSON.stringify(fake.rec.messages, null, 1));
      console.log(`# server dying at start: ${err.message}`);
    } finally {
      await ext.deactivate();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("an interpreter without ibert: the install command is offered and copied", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
    const wrapper = path.join(tmp, "python");
    // The project's Python without site-packages: a real interpreter that has no ibert.
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${python} -I -S "$@"\n`, { mode: 0o755 });
    const fake = createFakeVscode({ "ibert.python": wrapper }, tmp);
    let clicked = false;
    fake.rec.clickButton = (_m, items) => {
      if (!clicked && items.includes("Copy Install Command")) {
        clicked = true;
        return "Copy Install Command";
      }
      return undefined;
    };
    const ext = loadExtension(fake.vscode);
    await ext.activate(context());
    const err = fake.rec.messages.find((m) => m.level === "error");
    assert.ok(err);
    assert.match(err.message, /ibert-lsp is not installed in/);
    await until("clipboard", () => fake.rec.clipboard, 5000);
    assert.equal(fake.rec.clipboard, `${wrapper} -m pip install ibert`);
    await ext.deactivate();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});

describe("extension.ts with the Python extension's interpreter", async () => {
  const probe = await probeServer(resolveServerCommand({ python }));
  if (!probe.ok && (probe.kind === "notFound" || probe.kind === "moduleMissing")) {
    test(`SKIPPED: no ibert-lsp (${probe.detail})`, (t) => t.skip(probe.detail));
    return;
  }

  test("no ibert.python: the Python extension's interpreter runs the server; choosing another restarts it", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
    const py = fakePythonExtension(python);
    const fake = createFakeVscode({ "ibert.features.model": false }, tmp, { "ms-python.python": py.extension });
    const ext = loadExtension(fake.vscode);
    await ext.activate(context());
    try {
      await until("running", () => /ibert · no model/.test(fake.rec.statusBar.text));
      assert.ok(
        fake.rec.output.some((l) => l.includes(`server command (the Python extension's selected interpreter): ${python} -m ibert_lsp`)),
        fake.rec.output.join("\n"),
      );
      // The user picks an interpreter without ibert: restart, and the notification offers the picker.
      py.choose("/nonexistent/venv/bin/python");
      const err = await until("error notification", () => fake.rec.messages.find((m) => m.level === "error"), 20_000);
      assert.match(err.message, /\/nonexistent\/venv\/bin\/python, from the Python extension's selected interpreter/);
      assert.ok(err.items.includes("Select Interpreter"), JSON.stringify(err.items));
      assert.match(fake.rec.statusBar.text, /failed/);
    } finally {
      await ext.deactivate();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe("extension.ts against the real ibert-lsp", async () => {
  const probe = await probeServer(resolveServerCommand({ python }));
  if (!probe.ok && (probe.kind === "notFound" || probe.kind === "moduleMissing")) {
    test(`SKIPPED: no ibert-lsp (${probe.detail}); set IBERT_PYTHON to an interpreter with ibert installed`, (t) => {
      t.skip(probe.detail);
    });
    return;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
  const fake = createFakeVscode(
    {
      "ibert.python": python,
      "ibert.features.model": false,
      "ibert.diagnosticsDebounceMs": 0,
    },
    tmp,
  );
  const ext = loadExtension(fake.vscode);
  let doc: FakeDocument;
  const at = (line: number, character = 0) => new Selection(new Position(line, character), new Position(line, character));
  const lineOf = (needle: string) => doc.getText().split("\n").findIndex((l) => l.includes(needle));

  before(async () => {
    await ext.activate(context());
    doc = fake.open(path.join(tmp, "analysis.py"), "python", PY);
  });

  after(async () => {
    await ext.deactivate();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("starts the server and shows its state in the status bar", async () => {
    await until("status 'no model'", () => /ibert · no model/.test(fake.rec.statusBar.text));
    assert.match(fake.rec.statusBar.tooltip, /ibert language server: running/);
    assert.ok(fake.rec.output.some((l) => /server command \(setting ibert\.python\): .* -m ibert_lsp/.test(l)), fake.rec.output.join("\n"));
    // vscode-languageclient registered the server's commands; none clashes with the extension's.
    for (const c of ["ibert.ask", "ibert.convertSelectionToSql", "ibert.status"]) {
      assert.ok(fake.commands.has(c), `${c} not registered by the client`);
    }
    assert.ok(fake.providers.registerInlineCompletionItemProvider?.length, "no inline completion provider");
    assert.ok(fake.providers.registerCodeActionsProvider?.length, "no code action provider");
    assert.ok(fake.providers.registerHoverProvider?.length, "no hover provider");
    assert.ok(fake.providers.registerCompletionItemProvider?.length, "no completion provider");
  });

  test("diagnostics reach the editor", async () => {
    const diags = await until("diagnostics", () => {
      const d = fake.rec.diagnostics.get(doc.uri.toString()) as { message: string | { value: string } }[] | undefined;
      return d && d.length > 0 ? d : undefined;
    });
    assert.ok(diags.some((d) => /amout/.test(typeof d.message === "string" ? d.message : d.message.value)), JSON.stringify(diags));
  });

  test("Jupyter notebook cells (Python) are served too", async () => {
    const Uri = fake.vscode.Uri as { from(c: { scheme: string; path: string; fragment: string }): { toString(): string } };
    const cellUri = Uri.from({ scheme: "vscode-notebook-cell", path: path.join(tmp, "explore.ipynb"), fragment: "W0sZmlsZQ==" });
    fake.open(cellUri as never, "python", 'import ibis\nt = ibis.table({"a": "int64"}, name="t")\nt.filter(t.b > 1)\n');
    const diags = await until("cell diagnostics", () => {
      const d = fake.rec.diagnostics.get(cellUri.toString()) as { message: string | { value: string } }[] | undefined;
      return d && d.length > 0 ? d : undefined;
    });
    const text = diags.map((d) => (typeof d.message === "string" ? d.message : d.message.value)).join("\n");
    console.log(`# notebook cell diagnostic: ${text}`);
    assert.match(text, /'b'|`b`|\bb\b/);
  });

  test("ibert: Convert Selection to SQL — dialect from the quick pick, SQL opened beside", async () => {
    let offered: string[] = [];
    fake.rec.quickPick = (items) => {
      offered = items.map((i) => i.label);
      return items.find((i) => i.label === "postgres");
    };
    fake.setActiveEditor(doc, at(lineOf("big = ")));
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.convertSelectionToSql");
    assert.equal(offered[0], "duckdb"); // the configured dialect first
    const sqlDoc = fake.rec.shownDocuments.at(-1)!;
    assert.ok(sqlDoc, `nothing shown; messages: ${JSON.stringify(fake.rec.messages)}`);
    assert.equal(sqlDoc.languageId, "sql");
    const sql = sqlDoc.getText();
    assert.match(sql, /^-- ibert: analysis\.py, dialect postgres\n/);
    assert.match(sql, /SELECT/);
    assert.match(sql, /"events"/);
    assert.match(sql, /> 10/);
    assert.match(fake.rec.statusBar.text, /\d+ ms|\d+(\.\d)? s/);
  });

  test("ibert: Convert SQL to Ibis — the checked translation replaces the SQL string", async () => {
    const line = lineOf("q = ");
    fake.setActiveEditor(doc, at(line, 10));
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.convertSqlToIbis");
    assert.equal(fake.rec.messages.filter((m) => m.level !== "info").length, 0, JSON.stringify(fake.rec.messages));
    const newLine = doc.getText().split("\n")[line];
    assert.doesNotMatch(newLine, /SELECT/);
    assert.match(newLine, /^q = .*events.*filter/);
  });

  test("ibert: Generate Docstring — inserted under the def", async () => {
    const line = lineOf("def spend_by_user");
    fake.setActiveEditor(doc, at(line, 5));
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.generateDocstring");
    const after = doc.getText().split("\n");
    assert.match(after[line + 1], /^\s+"""/, after.slice(line, line + 8).join("\n"));
    assert.match(doc.getText(), /Args:\n\s+t: /); // Google style, the default
  });

  test("a settings change reaches the server (numpy docstrings next time)", async () => {
    fake.changeSettings({ "ibert.docstringStyle": "numpy" });
    const line = lineOf("def top_countries");
    fake.setActiveEditor(doc, at(line, 5));
    let text = "";
    for (let i = 0; i < 20 && !/Parameters\n\s*-{3,}/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.generateDocstring");
      text = doc.getText();
    }
    assert.match(text, /Parameters\n\s*-{3,}/);
  });

  test("ibert: Ask about Ibis — the answer opens as a Markdown preview", async () => {
    fake.rec.inputBox = () => "How do I compute the sum of a column?";
    fake.setActiveEditor(doc, at(0));
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.ask");
    const preview = fake.rec.executed.find((e) => e.command === "markdown.showPreviewToSide");
    assert.ok(preview, `no preview; messages: ${JSON.stringify(fake.rec.messages)}`);
    const uri = preview.args[0] as { scheme: string };
    assert.equal(uri.scheme, "ibert-answer");
    const shown = await (fake.vscode.workspace as { openTextDocument(u: unknown): Promise<FakeDocument> }).openTextDocument(uri);
    assert.match(shown.getText(), /^# How do I compute the sum of a column\?\n\n/);
    assert.match(shown.getText(), /sum/);
  });

  const starts = () => fake.rec.output.filter((l) => /server command \(/.test(l)).length;
  const serverPids = () =>
    execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .filter((l) => /ibert_lsp/.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]));

  test("removing a setting restarts the server so its own default applies", async () => {
    const before = fake.rec.output.length;
    const n = starts();
    fake.changeSettings({ "ibert.diagnosticsDebounceMs": undefined });
    await until("restart logged", () => fake.rec.output.slice(before).some((l) => /no longer set; restarting/.test(l)), 10_000);
    await until("a new start", () => starts() > n, 10_000);
    await until("running again", () => /ibert · no model/.test(fake.rec.statusBar.text));
  });

  test("a server that dies is restarted", async () => {
    // The previous server (stopped by the restart above) is gone within vscode-languageclient's
    // 2 s grace period at the latest.
    const pids = await until("one server process", () => {
      const p = serverPids();
      return p.length === 1 ? p : undefined;
    }, 10_000);
    process.kill(pids[0], "SIGKILL");
    await until("restart after the crash", () => fake.rec.output.some((l) => /server exited; restarting \(1 of 4/.test(l)), 20_000);
    await until("a new server process", () => {
      const now = serverPids();
      return now.length === 1 && now[0] !== pids[0];
    }, 20_000);
    await until("running again", () => /ibert · no model/.test(fake.rec.statusBar.text));
  });

  test("ibert: Restart Server, then the commands still work", async () => {
    const n = starts();
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.restartServer");
    assert.equal(starts(), n + 1);
    await until("running again", () => /ibert · no model/.test(fake.rec.statusBar.text));
    fake.rec.quickPick = (items) => items.find((i) => i.label === "mysql");
    fake.setActiveEditor(doc, at(lineOf("big = ")));
    const shownBefore = fake.rec.shownDocuments.length;
    // The restarted server has no open documents until the client re-sends them.
    await (fake.vscode.commands as { executeCommand(id: string): Promise<unknown> }).executeCommand("ibert.editor.convertSelectionToSql");
    assert.equal(fake.rec.shownDocuments.length, shownBefore + 1, JSON.stringify(fake.rec.messages.slice(-3)));
    assert.match(fake.rec.shownDocuments.at(-1)!.getText(), /`events`/);
  });
});

describe("extension.ts with a model (ibert.modelPath)", async () => {
  const probe = await probeServer(resolveServerCommand({ python }));
  if (!probe.ok && (probe.kind === "notFound" || probe.kind === "moduleMissing")) {
    test(`SKIPPED: no ibert-lsp (${probe.detail})`, (t) => t.skip(probe.detail));
    return;
  }

  test("the status bar follows the model from loading to ready, and inline completion latency", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-ext-"));
    const modelDir = path.join(tmp, "tiny-model");
    execFileSync(python, [path.join(root, "test", "fixtures", "make_tiny_model.py"), modelDir], { stdio: "ignore" });
    const fake = createFakeVscode({ "ibert.python": python, "ibert.modelPath": modelDir, "ibert.maxLatencyMs": 300 }, tmp);
    const seen = new Set<string>();
    const ext = loadExtension(fake.vscode);
    const t0 = Date.now();
    await ext.activate(context());
    try {
      await until("model ready", () => {
        seen.add(fake.rec.statusBar.text);
        return /model ready/.test(fake.rec.statusBar.text);
      }, 120_000);
      console.log(`# model ready in the status bar ${Date.now() - t0} ms after activation; states seen: ${[...seen].join(" | ")}`);
      assert.match(fake.rec.statusBar.tooltip, new RegExp(`Model: ready \\(${modelDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\)`));
      const doc = fake.open(path.join(tmp, "q.py"), "python", PY + "x = events.\n");
      const provider = fake.providers.registerInlineCompletionItemProvider?.[0] as {
        provideInlineCompletionItems(d: unknown, p: Position, c: unknown, t: unknown): Promise<unknown>;
      };
      assert.ok(provider, "no inline completion provider registered");
      const line = doc.lineCount - 2;
      const started = Date.now();
      const result = (await provider.provideInlineCompletionItems(
        doc,
        new Position(line, doc.lineAt(line).text.length),
        { triggerKind: 1, selectedCompletionInfo: undefined },
        { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) },
      )) as { items?: { insertText: unknown }[] } | { insertText: unknown }[] | null;
      const elapsed = Date.now() - started;
      // A second request at another position: no cache hit, the model is warm.
      const t2 = Date.now();
      await provider.provideInlineCompletionItems(
        doc,
        new Position(line, doc.lineAt(line).text.length - 1),
        { triggerKind: 1, selectedCompletionInfo: undefined },
        { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) },
      );
      console.log(`# inline completion with a model: first ${elapsed} ms, second ${Date.now() - t2} ms (ibert.maxLatencyMs 300)`);
      const items = Array.isArray(result) ? result : (result?.items ?? []);
      for (const item of items) {
        assert.doesNotMatch(String((item.insertText as { value?: string }).value ?? item.insertText), /<\|endoftext\|>|<fim_/);
      }
      assert.match(fake.rec.statusBar.tooltip, /Last inline completion: \d+ ms/);
    } finally {
      await ext.deactivate();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
