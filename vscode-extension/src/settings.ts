/**
 * VS Code settings (`ibert.*`) → the server's settings object (initializationOptions and
 * workspace/didChangeConfiguration), as `ibert_lsp/config.py` reads it: flat camelCase keys and a
 * `features` mapping.
 *
 * Only settings the user set explicitly (in user, workspace or folder settings) are sent, so that
 * a value from the project's `pyproject.toml [tool.ibert]` or from the environment (which the
 * server reads itself and which rank below editor options) is not overwritten by an editor
 * default nobody chose.
 *
 * Pure logic: no `vscode` import.
 */

export type SettingKind = "path" | "string" | "number" | "enum";

export interface ServerSettingSpec {
  /** Key under `ibert.` in VS Code settings. */
  key: string;
  /** Key the server reads (camelCase; config.py also accepts snake_case). */
  serverKey: string;
  kind: SettingKind;
  /** The server's default (config.py `Settings`), shown as the VS Code default. */
  default: string | number | null;
  enum?: readonly string[];
}

/** Dialects offered for SQL output (sqlglot names that Ibis compiles to). */
export const SQL_DIALECTS: readonly string[] = [
  "duckdb",
  "postgres",
  "mysql",
  "sqlite",
  "bigquery",
  "snowflake",
  "trino",
  "clickhouse",
  "mssql",
  "oracle",
  "databricks",
  "datafusion",
  "pyspark",
  "risingwave",
  "exasol",
  "druid",
  "impala",
  "flink",
  "athena",
];

export const DOCSTRING_STYLES: readonly string[] = ["google", "numpy"];

/** The server's settings, one for one with `ibert_lsp.config.Settings` (except `features`). */
export const SERVER_SETTINGS: readonly ServerSettingSpec[] = [
  { key: "modelPath", serverKey: "modelPath", kind: "path", default: null },
  { key: "adapter", serverKey: "adapter", kind: "path", default: null },
  { key: "apiKeyEnv", serverKey: "apiKeyEnv", kind: "string", default: null },
  { key: "device", serverKey: "device", kind: "string", default: "cpu" },
  { key: "maxLatencyMs", serverKey: "maxLatencyMs", kind: "number", default: 500 },
  { key: "dialect", serverKey: "dialect", kind: "enum", default: "duckdb", enum: SQL_DIALECTS },
  { key: "database", serverKey: "database", kind: "path", default: null },
  { key: "schemaFile", serverKey: "schemaFile", kind: "path", default: null },
  {
    key: "docstringStyle",
    serverKey: "docstringStyle",
    kind: "enum",
    default: "google",
    enum: DOCSTRING_STYLES,
  },
  { key: "diagnosticsDebounceMs", serverKey: "diagnosticsDebounceMs", kind: "number", default: 60 },
];

/** Feature switches: `ibert.features.<key>` → `features: {<key>: bool}` (config.py FEATURES). */
export const FEATURE_SWITCHES: readonly string[] = [
  "completion",
  "inlineCompletion",
  "diagnostics",
  "codeActions",
  "hover",
  "model",
];

/** Settings that change which process runs: changing them restarts the server. */
export const PROCESS_SETTINGS: readonly string[] = ["python", "serverPath", "serverArgs", "serverEnv"];

/** What `WorkspaceConfiguration.inspect(key)` returns, reduced to what matters here. */
export interface InspectedValue {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** Looks up one `ibert.`-relative key; extension.ts passes `cfg.inspect.bind(cfg)`. */
export type Inspector = (key: string) => InspectedValue | undefined;

export interface ServerOptions {
  [serverKey: string]: unknown;
  features?: Record<string, boolean>;
}

export interface MappedSettings {
  options: ServerOptions;
  /** Values that were set but cannot be sent (wrong type); one line each, for the output channel. */
  problems: string[];
}

/** The most specific explicit value (folder > workspace > user), or undefined if none is set. */
export function explicitValue(inspected: InspectedValue | undefined): unknown {
  if (!inspected) {
    return undefined;
  }
  for (const v of [inspected.workspaceFolderValue, inspected.workspaceValue, inspected.globalValue]) {
    if (v !== undefined) {
      return v;
    }
  }
  return undefined;
}

/** Maps the explicit `ibert.*` settings to the object the server reads. */
export function mapSettings(inspect: Inspector): MappedSettings {
  const options: ServerOptions = {};
  const problems: string[] = [];
  for (const spec of SERVER_SETTINGS) {
    const value = explicitValue(inspect(spec.key));
    if (value === undefined) {
      continue;
    }
    const name = `ibert.${spec.key}`;
    switch (spec.kind) {
      case "path":
        if (value === null || value === "") {
          options[spec.serverKey] = null; // the server's default (e.g. the embedded model)
        } else if (typeof value === "string") {
          options[spec.serverKey] = value.trim();
        } else {
          problems.push(`${name} must be a string; ignored`);
        }
        break;
      case "string":
        if (typeof value === "string" && value.trim() !== "") {
          options[spec.serverKey] = value.trim();
        } else if (value !== "" && value !== null) {
          problems.push(`${name} must be a non-empty string; ignored`);
        }
        break;
      case "number":
        if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
          options[spec.serverKey] = Math.round(value);
        } else {
          problems.push(`${name} must be a non-negative number; ignored`);
        }
        break;
      case "enum":
        if (typeof value === "string" && value.trim() !== "") {
          // Dialects outside the list are still sent: the server knows sqlglot's full list.
          options[spec.serverKey] = value.trim().toLowerCase();
        } else {
          problems.push(`${name} must be one of ${(spec.enum ?? []).join(", ")}; ignored`);
        }
        break;
    }
  }
  const features: Record<string, boolean> = {};
  for (const f of FEATURE_SWITCHES) {
    const value = explicitValue(inspect(`features.${f}`));
    if (value === undefined) {
      continue;
    }
    if (typeof value === "boolean") {
      features[f] = value;
    } else {
      problems.push(`ibert.features.${f} must be true or false; ignored`);
    }
  }
  if (Object.keys(features).length > 0) {
    options.features = features;
  }
  return { options, problems };
}

/** Every key path of an options object (`dialect`, `features.hover`), for comparing two of them. */
function keyPaths(options: ServerOptions): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    if (k === "features" && v && typeof v === "object") {
      for (const f of Object.keys(v)) {
        out.push(`features.${f}`);
      }
    } else {
      out.push(k);
    }
  }
  return out;
}

/**
 * Whether moving from `prev` to `next` needs a server restart rather than a
 * didChangeConfiguration: the server applies changes on top of what it has, so a setting the user
 * removed (back to "whatever pyproject/env/default says") can only be undone by starting afresh.
 */
export function removedKeys(prev: ServerOptions, next: ServerOptions): string[] {
  const now = new Set(keyPaths(next));
  return keyPaths(prev).filter((k) => !now.has(k));
}

/** Which of the given changed `ibert.*` keys restart the process (e.g. ibert.python). */
export function processSettingChanged(affects: (section: string) => boolean): string[] {
  return PROCESS_SETTINGS.filter((k) => affects(`ibert.${k}`));
}

/** The payload of workspace/didChangeConfiguration: nested under `ibert`, as config.py accepts. */
export function didChangeConfigurationParams(options: ServerOptions): { settings: { ibert: ServerOptions } } {
  return { settings: { ibert: options } };
}

/** Environment keys that decide what code the server runs: taken from the user's own settings
 * only, never from a workspace's (a cloned repo's `.vscode/settings.json`). */
const CODE_ENV_KEY = /^(IBERT_ALLOW_PLUGINS|PYTHON.*|LD_.*|DYLD_.*|NODE_OPTIONS)$/i;

/** The server's environment: the editor's, then `PYTHONSAFEPATH=1` (the server runs in the
 * workspace folder, which must not come first on Python's path: a repository's `pygls.py` or
 * `ibert_lsp/` would run instead), then `serverEnv` — keys that decide what code runs only
 * from the user settings. */
export function serverEnvironment(
  base: Record<string, string | undefined>,
  serverEnv: InspectedValue | undefined,
): { env: Record<string, string>; ignored: string[] } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined) env[k] = v;
  }
  env.PYTHONSAFEPATH = "1";
  const asEnv = (v: unknown): Record<string, string> =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
  Object.assign(env, asEnv(serverEnv?.globalValue));
  const ignored: string[] = [];
  for (const scoped of [serverEnv?.workspaceValue, serverEnv?.workspaceFolderValue]) {
    for (const [k, v] of Object.entries(asEnv(scoped))) {
      if (CODE_ENV_KEY.test(k)) {
        ignored.push(k);
      } else {
        env[k] = String(v);
      }
    }
  }
  return { env, ignored };
}
