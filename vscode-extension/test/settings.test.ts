import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  FEATURE_SWITCHES,
  PROCESS_SETTINGS,
  SERVER_SETTINGS,
  didChangeConfigurationParams,
  explicitValue,
  mapSettings,
  processSettingChanged,
  removedKeys,
  serverEnvironment,
  type InspectedValue,
} from "../src/settings";

function inspector(values: Record<string, InspectedValue>) {
  return (key: string) => values[key];
}

test("only settings the user set are sent", () => {
  const { options, problems } = mapSettings(inspector({}));
  assert.deepEqual(options, {});
  assert.deepEqual(problems, []);
});

test("folder beats workspace beats user settings", () => {
  assert.equal(explicitValue({ globalValue: "a", workspaceValue: "b", workspaceFolderValue: "c" }), "c");
  assert.equal(explicitValue({ globalValue: "a", workspaceValue: "b" }), "b");
  assert.equal(explicitValue({ globalValue: "a" }), "a");
  assert.equal(explicitValue({}), undefined);
  assert.equal(explicitValue(undefined), undefined);
});

test("every kind of setting maps to the server's key", () => {
  const { options, problems } = mapSettings(
    inspector({
      modelPath: { globalValue: " ~/models/qwen " },
      adapter: { workspaceValue: "" },
      device: { globalValue: "cuda:0" },
      maxLatencyMs: { globalValue: 250.4 },
      dialect: { workspaceValue: "Postgres" },
      database: { globalValue: "data/shop.duckdb" },
      schemaFile: { globalValue: null },
      docstringStyle: { globalValue: "numpy" },
      diagnosticsDebounceMs: { globalValue: 0 },
      "features.model": { workspaceValue: false },
      "features.inlineCompletion": { globalValue: true },
    }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(options, {
    modelPath: "~/models/qwen",
    adapter: null,
    device: "cuda:0",
    maxLatencyMs: 250,
    dialect: "postgres",
    database: "data/shop.duckdb",
    schemaFile: null,
    docstringStyle: "numpy",
    diagnosticsDebounceMs: 0,
    features: { inlineCompletion: true, model: false },
  });
});

test("values of the wrong type are reported and not sent", () => {
  const { options, problems } = mapSettings(
    inspector({
      maxLatencyMs: { globalValue: -5 },
      device: { globalValue: 3 },
      modelPath: { globalValue: ["x"] },
      "features.hover": { globalValue: "yes" },
      dialect: { globalValue: "" },
    }),
  );
  assert.deepEqual(options, {});
  assert.deepEqual(problems, [
    "ibert.modelPath must be a string; ignored",
    "ibert.device must be a non-empty string; ignored",
    "ibert.maxLatencyMs must be a non-negative number; ignored",
    `ibert.dialect must be one of ${SERVER_SETTINGS.find((s) => s.key === "dialect")!.enum!.join(", ")}; ignored`,
    "ibert.features.hover must be true or false; ignored",
  ]);
});

test("removing a setting is detected (the server only applies changes on top)", () => {
  const prev = { dialect: "postgres", features: { hover: false, model: false } };
  assert.deepEqual(removedKeys(prev, { dialect: "mysql", features: { hover: false } }), ["features.model"]);
  assert.deepEqual(removedKeys(prev, { features: { hover: true, model: false } }), ["dialect"]);
  assert.deepEqual(removedKeys(prev, { ...prev, device: "cuda" }), []);
});

test("process settings restart the server", () => {
  const changed = new Set(["ibert.python", "ibert.dialect"]);
  assert.deepEqual(processSettingChanged((s) => changed.has(s)), ["python"]);
  assert.deepEqual(processSettingChanged(() => false), []);
  assert.ok(PROCESS_SETTINGS.includes("serverPath"));
});

test("didChangeConfiguration nests the options under `ibert`", () => {
  assert.deepEqual(didChangeConfigurationParams({ dialect: "mysql" }), { settings: { ibert: { dialect: "mysql" } } });
});

// package.json must declare every setting the mapping reads, with the server's default.
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
const props: Record<string, { default?: unknown; enum?: string[]; description?: string; markdownDescription?: string }> =
  pkg.contributes.configuration.properties;

test("package.json declares every server setting with the same default and a description", () => {
  for (const spec of SERVER_SETTINGS) {
    const p = props[`ibert.${spec.key}`];
    assert.ok(p, `ibert.${spec.key} missing from package.json`);
    // Paths and optional strings are plain strings in the Settings editor; "" stands for the
    // server's default (null).
    assert.deepEqual(p.default, spec.kind === "path" || spec.default === null ? "" : spec.default,
      `default of ibert.${spec.key}`);
    assert.ok((p.description ?? p.markdownDescription ?? "").length > 20, `description of ibert.${spec.key}`);
    if (spec.enum) {
      assert.deepEqual(p.enum, [...spec.enum], `enum of ibert.${spec.key}`);
    }
  }
  for (const f of FEATURE_SWITCHES) {
    const p = props[`ibert.features.${f}`];
    assert.ok(p, `ibert.features.${f} missing from package.json`);
    assert.equal(p.default, true);
    assert.ok((p.description ?? "").length > 10);
  }
  for (const k of PROCESS_SETTINGS) {
    assert.ok(props[`ibert.${k}`], `ibert.${k} missing from package.json`);
  }
});

test("package.json declares no ibert setting the extension ignores", () => {
  const known = new Set([
    ...SERVER_SETTINGS.map((s) => `ibert.${s.key}`),
    ...FEATURE_SWITCHES.map((f) => `ibert.features.${f}`),
    ...PROCESS_SETTINGS.map((k) => `ibert.${k}`),
    "ibert.trace.server", // read by vscode-languageclient itself (client id "ibert")
  ]);
  assert.deepEqual(Object.keys(props).filter((k) => !known.has(k)), []);
});

test("the server never takes code-running environment from a workspace", () => {
  const { env, ignored } = serverEnvironment(
    { PATH: "/bin", HOME: "/home/u" },
    {
      globalValue: { IBERT_HOME: "/data", IBERT_ALLOW_PLUGINS: "1" },
      workspaceValue: { IBERT_ALLOW_PLUGINS: "1", PYTHONPATH: "/repo", OMP_NUM_THREADS: "1" },
      workspaceFolderValue: { LD_PRELOAD: "/repo/x.so" },
    },
  );
  assert.equal(env.PYTHONSAFEPATH, "1"); // the workspace folder (the cwd) is not on sys.path
  assert.equal(env.PATH, "/bin");
  assert.equal(env.IBERT_HOME, "/data");
  assert.equal(env.IBERT_ALLOW_PLUGINS, "1"); // the user's own setting stands
  assert.equal(env.OMP_NUM_THREADS, "1");
  assert.equal(env.PYTHONPATH, undefined);
  assert.equal(env.LD_PRELOAD, undefined);
  assert.deepEqual(ignored.sort(), ["IBERT_ALLOW_PLUGINS", "LD_PRELOAD", "PYTHONPATH"]);
  assert.equal(serverEnvironment({}, undefined).env.PYTHONSAFEPATH, "1");
});
