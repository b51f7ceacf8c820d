/**
 * The status bar item's text and tooltip, and the restart policy for a server that dies.
 *
 * Pure logic: no `vscode` import.
 */

export type ServerState = "stopped" | "starting" | "running" | "restarting" | "failed";

/** What the client knows about the model: from the server's status, or not yet known. */
export type ModelState = "unknown" | "loading" | "loaded" | "off" | "failed";

export interface StatusModel {
  server: ServerState;
  model: ModelState;
  /** e.g. "default model (tiny)", "Qwen2.5-Coder-1.5B + adapter" — as the server names it. */
  modelName?: string;
  /** Latency of the last request the extension timed, in milliseconds. */
  lastLatencyMs?: number;
  /** Which request that was ("inline completion", "hover", ...). */
  lastRequest?: string;
  /** One line on why the server is not running. */
  error?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** true when the item should use the error background. */
  error: boolean;
}

const ICON: Record<ServerState, string> = {
  stopped: "$(circle-slash)",
  starting: "$(loading~spin)",
  running: "$(check)",
  restarting: "$(loading~spin)",
  failed: "$(error)",
};

const MODEL_LABEL: Record<ModelState, string> = {
  unknown: "model ?",
  loading: "model loading",
  loaded: "model ready",
  off: "no model",
  failed: "model failed",
};

export function formatLatency(ms: number): string {
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

export function renderStatus(s: StatusModel): StatusView {
  const parts = [`${ICON[s.server]} ibert`];
  if (s.server === "running") {
    parts.push(MODEL_LABEL[s.model]);
    if (s.lastLatencyMs !== undefined) {
      parts.push(formatLatency(s.lastLatencyMs));
    }
  } else {
    parts.push(s.server);
  }
  const lines = [`ibert language server: ${s.server}`];
  if (s.error) {
    lines.push(s.error);
  }
  lines.push(
    `Model: ${MODEL_LABEL[s.model].replace(/^model /, "")}${s.modelName ? ` (${s.modelName})` : ""}`,
  );
  if (s.lastLatencyMs !== undefined) {
    lines.push(`Last ${s.lastRequest ?? "request"}: ${formatLatency(s.lastLatencyMs)}`);
  }
  lines.push("Click for the server output.");
  return { text: parts.join(" · "), tooltip: lines.join("\n"), error: s.server === "failed" };
}

/**
 * Reads the model's state from whatever the server reports (a status notification, the result of
 * a status command, or a progress message), tolerating several shapes: `{model: "loaded"}`,
 * `{model_loaded: true}`, `{modelLoaded: false, model_error: "..."}`, `{model: {loaded, name}}`.
 */
export function modelStateFrom(report: unknown): { state: ModelState; name?: string } | undefined {
  if (!report || typeof report !== "object") {
    return undefined;
  }
  const r = report as Record<string, unknown>;
  const settings = r.settings && typeof r.settings === "object" ? (r.settings as Record<string, unknown>) : {};
  const name =
    pickString(r, ["model_name", "modelName", "model_path", "modelPath"]) ??
    pickString(settings, ["model_path", "modelPath"]);
  const nested = r.model;
  if (nested && typeof nested === "object") {
    const inner = modelStateFrom({
      ...(nested as Record<string, unknown>),
      model: (nested as Record<string, unknown>).state ?? (nested as Record<string, unknown>).status,
    });
    if (inner) {
      return { state: inner.state, name: inner.name ?? pickString(nested as Record<string, unknown>, ["name", "path"]) ?? name };
    }
  }
  if (typeof nested === "string") {
    const v = nested.toLowerCase();
    const map: Record<string, ModelState> = {
      loaded: "loaded",
      ready: "loaded",
      loading: "loading",
      off: "off",
      disabled: "off",
      none: "off",
      missing: "off",
      failed: "failed",
      error: "failed",
    };
    if (v in map) {
      const state = map[v];
      // ibert.status: {"model": "failed", "model_error": "..."}; the default model has no path.
      const isDefault = "settings" in r && (state === "loaded" || state === "loading");
      return { state, name: name ?? (isDefault ? "default model" : undefined) };
    }
  }
  const err = pickString(r, ["model_error", "modelError"]);
  const loaded = r.model_loaded ?? r.modelLoaded ?? r.loaded;
  if (typeof loaded === "boolean") {
    if (loaded) {
      return { state: "loaded", name };
    }
    if (err) {
      return { state: "failed", name };
    }
    const loading = r.model_loading ?? r.modelLoading ?? r.loading;
    return { state: loading === true ? "loading" : "off", name };
  }
  if (err) {
    return { state: "failed", name };
  }
  return undefined;
}

function pickString(r: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = r[k];
    if (typeof v === "string" && v) {
      return v;
    }
  }
  return undefined;
}

export type ServerLogLevel = "debug" | "info" | "warn" | "error";

const PY_LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;
const PY_LEVEL: Record<string, ServerLogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  ERROR: "error",
  CRITICAL: "error",
};

/**
 * The level of one line the server wrote to stderr. The server's log lines carry their level
 * (`<date> <time> <logger> <LEVEL> <message>`, Python's logging); anything else on stderr (a
 * traceback, a crash message) is an error. vscode-languageclient would tag every stderr line
 * `[error]`, so a harmless warning would look like a failure.
 */
export function serverLogLevel(line: string): ServerLogLevel {
  const m = PY_LOG_LINE.exec(line);
  return m ? PY_LEVEL[m[1]] : "error";
}

/**
 * Restart policy for a server process that exits: restart at once, up to `maxRestarts` times in
 * `windowMs`; beyond that, stop and tell the user (a server that crashes at start-up would
 * otherwise loop forever).
 */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    readonly maxRestarts = 4,
    readonly windowMs = 3 * 60 * 1000,
  ) {}

  /** Records a crash at `now`; returns true if the server should be restarted. */
  shouldRestart(now: number = Date.now()): boolean {
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    return this.crashes.length <= this.maxRestarts;
  }

  /** Forgets past crashes (after a manual restart or a settings change). */
  reset(): void {
    this.crashes = [];
  }

  get recentCrashes(): number {
    return this.crashes.length;
  }
}
