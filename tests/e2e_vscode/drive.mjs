// Drives a real VS Code (code-server) in Debian's chromium through playwright-core, through the
// eight steps of issue 16, like a person: keys, the command palette, what is on the screen.
// Started by test_vscode_e2e.py with one JSON argument
//   {url, workspace, artifacts, results, pgid, chromium}
// and writes `results` as [{step, name, ok, detail, data}], a screenshot per step in `artifacts`.
// Every wait is bounded; a failed step is recorded (with a screenshot) and the next one runs.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, "tools", "package.json"));
const { chromium } = require("playwright-core");

const cfg = JSON.parse(process.argv[2]);
const FILE = "orders.py";
const results = [];
const t0 = Date.now();
const log = (...a) => console.log(`[drive +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

class StepFailure extends Error {}
function check(cond, message) {
  if (!cond) throw new StepFailure(message);
}

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
async function until(fn, ms, every = 150) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    try {
      v = await fn();
    } catch {
      v = undefined;
    }
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The editor renders spaces as non-breaking spaces.
const norm = (s) => (s ?? "").replace(/\u00a0/g, " ");

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  timeout: 60000,
});
const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
page.setDefaultTimeout(15000);

async function shot(name) {
  await page.screenshot({ path: path.join(cfg.artifacts, `${name}.png`) }).catch((e) => log("screenshot", e.message));
}

async function step(n, name, fn) {
  log(`step ${n}: ${name}`);
  const rec = { step: n, name, ok: false, detail: "", data: {} };
  try {
    await fn(rec.data);
    rec.ok = true;
  } catch (e) {
    rec.detail = e instanceof StepFailure ? e.message : `${e.stack ?? e}`;
    log(`step ${n} FAILED: ${rec.detail}`);
  }
  await shot(`${String(n).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`);
  results.push(rec);
  fs.writeFileSync(cfg.results, JSON.stringify(results, null, 1));
  if (!rec.ok && n === 1) {
    // Without a running server the other steps can only fail slowly.
    log("the extension did not start: the other steps are not run");
    await browser.close();
    process.exit(0);
  }
}

// ------------------------------------------------------------------ workbench helpers
const editorSel = ".editor-group-container.active .monaco-editor";
const statusItem = () => page.locator(".statusbar-item").filter({ hasText: /\bibert\b/ }).first();
async function statusText() {
  return norm(await statusItem().innerText({ timeout: 2000 })).replace(/\s+/g, " ").trim();
}

async function command(label, { pick } = {}) {
  await page.keyboard.press("Escape");
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${label}`);
  const row = page.locator(".quick-input-list .monaco-list-row").filter({ hasText: pick ?? label }).first();
  await row.waitFor({ state: "visible", timeout: 10000 });
  await sleep(150);
  await page.keyboard.press("Enter");
}

async function focusEditor() {
  await page.keyboard.press("Escape");
  // the middle of the text area: its top edge may be under the breadcrumbs
  const lines = page.locator(`${editorSel} .view-lines`).first();
  const box = await lines.boundingBox();
  await lines.click({ position: { x: Math.min(40, box.width / 2), y: box.height / 2 }, force: true });
}

/** Moves the cursor to 1-based line:column (Go to Line/Column). */
async function goTo(line, column) {
  await focusEditor();
  await page.keyboard.press("Control+G");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`:${line}:${column}`);
  await sleep(100);
  await page.keyboard.press("Enter");
  await sleep(150);
}

/** The active editor's rendered lines in order, with their numbers (the DOM order of Monaco's
 * line elements is not the line order: they are matched to the gutter by their `top`). */
async function editorLines() {
  const rows = await page.evaluate((sel) => {
    const ed = document.querySelector(sel);
    if (!ed) return [];
    const numbers = new Map();
    for (const n of ed.querySelectorAll(".margin-view-overlays .line-numbers")) {
      numbers.set(n.parentElement.style.top, parseInt(n.textContent, 10));
    }
    return [...ed.querySelectorAll(".view-lines > .view-line")].map((l) => [numbers.get(l.style.top), l.textContent]);
  }, editorSel);
  return rows.filter(([n]) => Number.isInteger(n)).sort((a, b) => a[0] - b[0]).map(([line, text]) => ({ line, text: norm(text) }));
}

async function editorText() {
  return (await editorLines()).map((l) => l.text).join("\n");
}

/** 1-based line:column of `needle` (+ offset) in the active editor. */
async function find(needle, offset = 0) {
  for (const l of await editorLines()) {
    const c = l.text.indexOf(needle);
    if (c >= 0) return { line: l.line, column: c + 1 + offset };
  }
  throw new StepFailure(`"${needle}" is not in the editor: ${await editorText()}`);
}

async function squiggles() {
  return page.locator(`${editorSel} .squiggly-error`).count();
}

async function problems() {
  await command("View: Focus on Problems View", { pick: /Problems/ });
  const rows = page.locator(".markers-panel .monaco-list-row");
  await sleep(400);
  return (await rows.allInnerTexts()).map(norm);
}

function ibertProcesses() {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m) => m && Number(m[2]) === cfg.pgid && /-m ibert_lsp(\s|$)/.test(m[3]))
    .map((m) => Number(m[1]));
}

// ------------------------------------------------------------------ the steps
const statusSeen = [];
let watching = true;
const watcher = (async () => {
  while (watching) {
    const t = await statusText().catch(() => "");
    if (t && statusSeen[statusSeen.length - 1] !== t) {
      statusSeen.push(t);
      log(`status: ${t}`);
    }
    await sleep(100);
  }
})();

await page.goto(cfg.url, { waitUntil: "domcontentloaded", timeout: 60000 });
await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 90000 });
await page.locator(".explorer-folders-view, .part.sidebar").first().waitFor({ timeout: 60000 }).catch(() => {});
await sleep(1500);

await step(1, "activation and status", async (data) => {
  // Opening a Python file activates the extension (onLanguage:python).
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(FILE);
  await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: FILE }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(`${editorSel}`).first().waitFor({ state: "visible" });
  const ready = await until(async () => /ibert · model ready/.test(await statusText()), 120000);
  data.statusSeen = [...statusSeen];
  check(ready, `the status bar never said "model ready": ${JSON.stringify(statusSeen)}`);
  check(statusSeen.some((s) => /starting|model loading/.test(s)),
    `the status bar showed no start-up state before ready: ${JSON.stringify(statusSeen)}`);
  await statusItem().hover();
  const tooltip = await until(async () => norm(await page.locator(".monaco-hover, .custom-hover, .workbench-hover").first().innerText({ timeout: 1000 })), 5000);
  data.tooltip = tooltip;
  check(/Model: ready/.test(tooltip ?? ""), `status tooltip: ${tooltip}`);
  await command("ibert: Show Output");
  const out = await until(async () => {
    const t = norm(await page.locator(".part.panel .monaco-editor .view-lines").first().innerText({ timeout: 1000 }));
    return /\[ibert\]/.test(t) ? t : "";
  }, 15000);
  data.output = out;
  check(out, "the Output channel shows no ibert log");
  check(!/\[error\]/.test(out), `the Output channel shows [error] lines:\n${out}`);
});

await step(2, "diagnostics", async (data) => {
  await focusEditor();
  const n = await until(async () => (await squiggles()) > 0 && (await squiggles()), 30000);
  check(n === 1, `expected one squiggle (orders.amout), got ${n}`);
  const rows = await problems();
  data.problems = rows;
  check(rows.some((r) => /amout/.test(r) && /amount/.test(r)), `Problems: ${JSON.stringify(rows)}`);
  check(rows.filter((r) => /ibert|amout|Table/.test(r)).length === 1,
    `valid code must have no problems: ${JSON.stringify(rows)}`);
  await shot("02a-problems");
  // Hover on the squiggle shows the message.
  const p = await find("orders.amout", 8);
  await goTo(p.line, p.column);
  await page.keyboard.press("Control+K");
  await page.keyboard.press("Control+I"); // Show Hover
  const hover = await until(async () => norm(await page.locator(".monaco-hover").first().innerText({ timeout: 1000 })), 8000);
  data.hover = hover;
  check(/amount/.test(hover ?? ""), `hover on the squiggle: ${hover}`);
});

await step(3, "completion", async (data) => {
  await focusEditor();
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await page.keyboard.type("x = orders.", { delay: 40 });
  const suggest = page.locator(".editor-widget.suggest-widget.visible .monaco-list-row");
  let labels = await until(async () => {
    const l = await suggest.locator(".label-name").allInnerTexts();
    return l.length >= 4 ? l.map(norm) : undefined;
  }, 20000);
  if (!labels) {
    await page.keyboard.press("Control+Space");
    labels = await until(async () => (await suggest.locator(".label-name").allInnerTexts()).map(norm), 10000);
  }
  data.tableLabels = labels;
  check(labels && [...labels.slice(0, 4)].sort().join(",") === "amount,customer_id,order_id,status",
    `after "orders." the four columns must come first: ${JSON.stringify(labels)}`);
  await shot("03a-columns");
  await page.keyboard.press("Escape");
  // Finish the line, then a deferred column: `_.amount.` lists the column's methods.
  await page.keyboard.type("amount", { delay: 20 });
  await page.keyboard.press("Escape");
  await page.keyboard.press("Enter");
  await page.keyboard.type("y = orders.filter(_.amount.", { delay: 40 });
  labels = await until(async () => {
    const l = (await suggest.locator(".label-name").allInnerTexts()).map(norm);
    return l.length >= 4 ? l : undefined;
  }, 20000);
  data.columnLabels = labels;
  check(labels && ["round", "abs", "mean", "sum", "between"].filter((m) => labels.includes(m)).length >= 2 &&
    !labels.includes("order_id"), `after "_.amount." a float column's methods: ${JSON.stringify(labels)}`);
  await page.keyboard.press("Escape");
  // Remove the two lines again (the rest of the steps use the original file's lines).
  await page.keyboard.press("Control+Shift+K");
  await page.keyboard.press("Control+Shift+K");
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Backspace");
});

await step(4, "quick fix", async (data) => {
  const p = await find("orders.amout", 8);
  await goTo(p.line, p.column);
  await page.keyboard.press("Control+.");
  const rows = page.locator(".action-widget .monaco-list-row, .context-view .action-widget .action-item");
  const titles = await until(async () => {
    const t = (await rows.allInnerTexts()).map(norm);
    return t.some((x) => /amount/.test(x)) ? t : undefined;
  }, 20000);
  data.actions = titles;
  check(titles, "no quick fix with 'amount' was offered");
  await shot("04a-quick-fix-menu");
  await rows.filter({ hasText: /amount/ }).first().click();
  const text = await until(async () => {
    const t = await editorText();
    return /orders\.filter\(orders\.amount > 100\)/.test(t) ? t : undefined;
  }, 15000);
  check(text, "the quick fix did not replace amout by amount");
  const gone = await until(async () => (await squiggles()) === 0, 15000);
  check(gone, "the squiggle stayed after the fix");
});

await step(5, "inline completion", async (data) => {
  const p = await find('query = "SELECT');
  await goTo(p.line, 1);
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.keyboard.type("expr = events.filter(events.amount > 10).", { delay: 40 });
  // The completion list opens on "."; while it is open VS Code shows only ghost text that
  // extends its selected item. Close it; the inline suggestion stays.
  const suggestOpen = page.locator(".editor-widget.suggest-widget.visible");
  await until(async () => (await suggestOpen.count()) > 0, 5000);
  await until(async () => {
    await page.keyboard.press("Escape");
    await sleep(200);
    return (await suggestOpen.count()) === 0;
  }, 5000);
  const ghost = page.locator(`${editorSel} .ghost-text-decoration, ${editorSel} .ghost-text`);
  let shown = await until(async () => norm(await ghost.first().innerText({ timeout: 500 })), 8000);
  if (!shown) {
    await page.keyboard.press("Alt+Backslash"); // Trigger Inline Suggestion
    shown = await until(async () => norm(await ghost.first().innerText({ timeout: 500 })), 20000);
  }
  data.ghost = shown;
  if (!shown) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+Shift+K"); // the unfinished line would break later steps
  }
  check(shown, "no ghost text from ibert");
  await shot("05a-ghost-text");
  await page.keyboard.press("Tab");
  await sleep(500);
  const line = (await editorText()).split("\n").find((l) => l.startsWith("expr = events.filter(events.amount > 10)."));
  data.line = line;
  check(line && line.length > "expr = events.filter(events.amount > 10).".length, `Tab did not accept: ${line}`);
  await sleep(1500);
  check((await squiggles()) === 0, `the accepted code has a diagnostic: ${line}`);
  check(/· \d+(\.\d)? m?s/.test(await statusText()), `no last latency in the status bar: ${await statusText()}`);
  data.status = await statusText();
});

await step(6, "SQL conversions", async (data) => {
  const p = await find("paid = orders", 7);
  await goTo(p.line, p.column);
  await page.keyboard.press("Shift+End");
  await command("ibert: Convert Selection to SQL");
  const pickInput = page.locator(".quick-input-widget input");
  await pickInput.waitFor({ state: "visible" });
  await page.locator(".quick-input-list .monaco-list-row").filter({ hasText: "postgres" }).first().waitFor();
  data.dialects = (await page.locator(".quick-input-list .monaco-list-row").allInnerTexts()).slice(0, 6).map(norm);
  await shot("06a-dialect-pick");
  await pickInput.fill("postgres");
  await sleep(200);
  await page.keyboard.press("Enter");
  const sql = await until(async () => {
    const t = await editorText();
    return /SELECT/.test(t) && /"order_id"/.test(t) && /'paid'/.test(t) ? t : undefined;
  }, 30000);
  data.sql = sql;
  check(sql, "no SQL editor with the converted selection opened");
  await shot("06b-sql");
  // Back to orders.py; the cursor in the SQL string; Convert SQL to Ibis.
  await page.locator(".tab").filter({ hasText: FILE }).first().click();
  const q = await find('query = "SELECT', 12);
  await goTo(q.line, q.column);
  await command("ibert: Convert SQL to Ibis");
  const ibisLine = await until(async () => {
    const l = (await editorText()).split("\n").find((x) => x.startsWith("query = "));
    return l && !/SELECT/.test(l) && /orders/.test(l) ? l : undefined;
  }, 30000);
  data.ibis = ibisLine;
  check(ibisLine, `the SQL string was not converted to Ibis: ${(await editorText()).split("\n").find((x) => x.startsWith("query"))}`);
});

await step(7, "docstring and ask", async (data) => {
  const d = await find("def above(", 5);
  await goTo(d.line, d.column);
  await command("ibert: Generate Docstring");
  const doc = await until(async () => {
    const t = await editorText();
    const i = t.indexOf("def above(");
    return i >= 0 && /^\s+"""/m.test(t.slice(i)) ? t.slice(i) : undefined;
  }, 30000);
  data.docstring = doc;
  check(doc && /limit/.test(doc), `no docstring naming the parameters: ${doc}`);
  await shot("07a-docstring");
  await command("ibert: Ask about Ibis");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill("How do I count distinct values of a column?");
  await page.keyboard.press("Enter");
  const tab = await until(async () => (await page.locator(".tab").filter({ hasText: /answer-1/ }).count()) > 0, 30000);
  check(tab, "no answer preview opened");
  const answer = await until(async () => {
    for (const f of page.frames()) {
      const t = await f.locator("body").innerText({ timeout: 500 }).catch(() => "");
      if (/nunique|distinct/i.test(t) && /count/i.test(t)) return norm(t);
    }
    return undefined;
  }, 20000);
  data.answer = answer?.slice(0, 2000);
  check(answer, "the answer preview shows no answer about counting distinct values");
});

await step(8, "server killed, restarted", async (data) => {
  const before = ibertProcesses();
  data.before = before;
  check(before.length === 1, `expected one ibert-lsp process, found ${JSON.stringify(before)}`);
  statusSeen.length = 0;
  process.kill(before[0], "SIGKILL");
  const noticed = await until(async () => statusSeen.some((s) => /restarting|starting|model \?|loading/.test(s)), 30000, 50);
  check(noticed, `the status bar showed no restart: ${JSON.stringify(statusSeen)}`);
  const back = await until(async () => {
    const now = ibertProcesses().filter((p) => !before.includes(p));
    return now.length === 1 && /ibert · model ready/.test(await statusText()) ? now : undefined;
  }, 120000);
  data.after = back;
  data.statusSeen = [...statusSeen];
  check(back, `the server was not restarted: ${JSON.stringify(statusSeen)}`);
  check(statusSeen.some((s) => /restarting|starting/.test(s)), `no restart shown: ${JSON.stringify(statusSeen)}`);
  // It works again: a new unknown column gets its squiggle.
  await page.locator(".tab").filter({ hasText: FILE }).first().click();
  const b = await find("big = orders");
  await goTo(b.line, 1);
  await page.keyboard.press("Enter");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.type("z = orders.stauts", { delay: 30 });
  await page.keyboard.press("Escape");
  const n = await until(async () => (await squiggles()) > 0, 30000);
  check(n, `no diagnostic from the restarted server: ${await editorText()}`);
  await command("ibert: Show Output");
  const out = await until(async () => {
    const t = norm(await page.locator(".part.panel .monaco-editor .view-lines").first().innerText({ timeout: 1000 }));
    return /restarting/.test(t) ? t : "";
  }, 10000);
  data.output = out;
  check(out && out.split("server exited; restarting").length === 2, `the Output says the restart ${out ? "more than" : "not"} once:\n${out}`);
  const toasts = (await page.locator(".notification-toast").allInnerTexts()).map(norm).filter((t) => /ibert/.test(t));
  data.toasts = toasts;
  check(toasts.length <= 1, `more than one notification: ${JSON.stringify(toasts)}`);
});

watching = false;
await watcher;
await browser.close();
log(`done: ${results.filter((r) => r.ok).length}/${results.length} steps passed`);
process.exit(0);
