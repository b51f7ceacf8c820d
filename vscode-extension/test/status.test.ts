import { test } from "node:test";
import assert from "node:assert/strict";

import { RestartPolicy, formatLatency, modelStateFrom, renderStatus, serverLogLevel } from "../src/status";

test("running: model state and last latency in the text", () => {
  const v = renderStatus({ server: "running", model: "loaded", modelName: "default", lastLatencyMs: 142.6, lastRequest: "inline completion" });
  assert.equal(v.text, "$(check) ibert · model ready · 143 ms");
  assert.match(v.tooltip, /Model: ready \(default\)/);
  assert.match(v.tooltip, /Last inline completion: 143 ms/);
  assert.equal(v.error, false);
});

test("failed: the reason in the tooltip and the error colour", () => {
  const v = renderStatus({ server: "failed", model: "unknown", error: "Python was not found" });
  assert.equal(v.text, "$(error) ibert · failed");
  assert.match(v.tooltip, /Python was not found/);
  assert.equal(v.error, true);
});

test("latency formatting", () => {
  assert.equal(formatLatency(12), "12 ms");
  assert.equal(formatLatency(1520), "1.5 s");
  assert.equal(formatLatency(25000), "25 s");
});

test("model state from the shapes a server may report", () => {
  assert.deepEqual(modelStateFrom({ model: "loaded", model_name: "tiny" }), { state: "loaded", name: "tiny" });
  assert.deepEqual(modelStateFrom({ model_loaded: true }), { state: "loaded", name: undefined });
  assert.deepEqual(modelStateFrom({ modelLoaded: false, modelLoading: true }), { state: "loading", name: undefined });
  assert.deepEqual(modelStateFrom({ model_loaded: false, model_error: "no such dir" }), { state: "failed", name: undefined });
  assert.deepEqual(modelStateFrom({ model_loaded: false }), { state: "off", name: undefined });
  assert.deepEqual(modelStateFrom({ model: { loaded: true, name: "qwen" } }), { state: "loaded", name: "qwen" });
  assert.deepEqual(modelStateFrom({ model: { state: "loading" } }), { state: "loading", name: undefined });
  // The shape ibert_lsp's `ibert.status` command returns.
  assert.deepEqual(modelStateFrom({ model: "ready", model_error: null, settings: { model_path: "/m/qwen" } }), { state: "loaded", name: "/m/qwen" });
  assert.deepEqual(modelStateFrom({ model: "ready", settings: { model_path: null } }), { state: "loaded", name: "default model" });
  assert.deepEqual(modelStateFrom({ model: "missing", settings: {} }), { state: "off", name: undefined });
  assert.equal(modelStateFrom({ unrelated: 1 }), undefined);
  assert.equal(modelStateFrom("loaded"), undefined);
});

test("restart policy: restarts up to the limit inside the window, then stops", () => {
  const p = new RestartPolicy(3, 60_000);
  assert.equal(p.shouldRestart(0), true);
  assert.equal(p.shouldRestart(1000), true);
  assert.equal(p.shouldRestart(2000), true);
  assert.equal(p.shouldRestart(3000), false);
  // Old crashes leave the window.
  assert.equal(p.shouldRestart(70_000), true);
  p.reset();
  assert.equal(p.recentCrashes, 0);
  assert.equal(p.shouldRestart(70_001), true);
});

test("server stderr: the log line's own level, anything else an error", () => {
  assert.equal(serverLogLevel('2026-11-29 06:01:02,345 pygls.protocol.json_rpc WARNING Cancel notification for unknown message id "7"'), "warn");
  assert.equal(serverLogLevel("2026-11-29 06:01:02,345 ibert.server INFO model loaded"), "info");
  assert.equal(serverLogLevel("2026-11-29 06:01:02,345 ibert.server DEBUG x"), "debug");
  assert.equal(serverLogLevel("2026-11-29 06:01:02,345 ibert.server ERROR the gate worker died"), "error");
  assert.equal(serverLogLevel("2026-11-29 06:01:02,345 ibert.server CRITICAL x"), "error");
  assert.equal(serverLogLevel("Traceback (most recent call last):"), "error");
  assert.equal(serverLogLevel("ModuleNotFoundError: No module named 'ibert_lsp'"), "error");
  assert.equal(serverLogLevel("WARNING something"), "error");
});
