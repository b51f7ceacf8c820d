/**
 * Which process to start as the language server, and what to tell the user when it cannot start.
 *
 * Pure logic: no `vscode` import. extension.ts gathers the inputs (settings, the Python
 * extension's interpreter, the workspace folder) and runs the probe; the unit tests exercise the
 * same functions with fake inputs.
 */
import { spawn } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";

export type ServerSource = "serverPath" | "python" | "pythonExtension" | "default";

export interface ServerCommand {
  /** Executable to spawn. */
  command: string;
  /** Arguments after the executable. */
  args: string[];
  /** Where the choice came from (shown in the output channel and in error messages). */
  source: ServerSource;
  /** The Python interpreter involved, when the server is started as `python -m ibert_lsp`. */
  python?: string;
}

export interface ResolveInputs {
  /** `ibert.serverPath`: an `ibert-lsp` executable. Wins over everything else. */
  serverPath?: string;
  /** `ibert.python`: the interpreter that has ibert installed. */
  python?: string;
  /** Extra arguments for the server (`ibert.serverArgs`). */
  serverArgs?: readonly string[];
  /** The interpreter chosen in the Python extension, when that extension is installed. */
  pythonExtensionInterpreter?: string;
  /** First workspace folder, for `${workspaceFolder}`. */
  workspaceFolder?: string;
  /** Defaults to the running platform. */
  platform?: NodeJS.Platform;
  /** Defaults to the user's home directory. */
  homeDir?: string;
}

/** Expands `~`, `${workspaceFolder}`, `${userHome}` and `${env:NAME}` in a path setting. */
export function expandPath(
  value: string,
  opts: { workspaceFolder?: string; homeDir?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const home = opts.homeDir ?? os.homedir();
  const env = opts.env ?? process.env;
  let out = value.trim();
  out = out.replace(/\$\{workspaceFolder\}/g, () => {
    if (!opts.workspaceFolder) {
      throw new Error(`"${value}" uses \${workspaceFolder} but no folder is open`);
    }
    return opts.workspaceFolder;
  });
  out = out.replace(/\$\{userHome\}/g, () => home);
  out = out.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? "");
  if (out === "~") {
    out = home;
  } else if (out.startsWith("~/") || out.startsWith("~\\")) {
    out = path.join(home, out.slice(2));
  }
  // A relative path with a separator is taken relative to the workspace, as VS Code users expect
  // for `.venv/bin/python`; a bare name (`python3`) is looked up on PATH by spawn.
  if (opts.workspaceFolder && !path.isAbsolute(out) && /[\\/]/.test(out)) {
    out = path.join(opts.workspaceFolder, out);
  }
  return out;
}

/** The interpreter name to try last: `python3` (`python` on Windows, where `python3` is a store stub). */
export function defaultPython(platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? "python" : "python3";
}

/**
 * The server command, in the order the settings document: `ibert.serverPath`, `ibert.python`,
 * the Python extension's interpreter, then `python3`. The Python variants run `-m ibert_lsp`,
 * which works for any environment ibert is installed in, whether or not its scripts are on PATH.
 */
export function resolveServerCommand(inputs: ResolveInputs): ServerCommand {
  const platform = inputs.platform ?? process.platform;
  const expand = (v: string) =>
    expandPath(v, { workspaceFolder: inputs.workspaceFolder, homeDir: inputs.homeDir });
  const extra = [...(inputs.serverArgs ?? [])];
  const serverPath = inputs.serverPath?.trim();
  if (serverPath) {
    return { command: expand(serverPath), args: extra, source: "serverPath" };
  }
  const python = inputs.python?.trim();
  if (python) {
    const exe = expand(python);
    return { command: exe, args: ["-m", "ibert_lsp", ...extra], source: "python", python: exe };
  }
  const fromExt = inputs.pythonExtensionInterpreter?.trim();
  if (fromExt) {
    return {
      command: fromExt,
      args: ["-m", "ibert_lsp", ...extra],
      source: "pythonExtension",
      python: fromExt,
    };
  }
  const exe = defaultPython(platform);
  return { command: exe, args: ["-m", "ibert_lsp", ...extra], source: "default", python: exe };
}

/** One line for the output channel: the command as a shell would show it. */
export function describeCommand(cmd: ServerCommand): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [cmd.command, ...cmd.args].map(quote).join(" ");
}

export function sourceLabel(source: ServerSource): string {
  switch (source) {
    case "serverPath":
      return "setting ibert.serverPath";
    case "python":
      return "setting ibert.python";
    case "pythonExtension":
      return "the Python extension's selected interpreter";
    case "default":
      return "the default interpreter on PATH";
  }
}

// ---------------------------------------------------------------------------------------------
// Probe: can this command start a server at all?

export type ProbeKind = "notFound" | "notExecutable" | "moduleMissing" | "broken" | "pythonTooOld" | "failed";

export type ProbeResult = { ok: true; detail: string } | { ok: false; kind: ProbeKind; detail: string };

/** Exit code the probe script uses when `ibert_lsp` is not installed. */
export const PROBE_MODULE_MISSING = 3;
/** Exit code the probe script uses when Python is older than ibert's minimum. */
export const PROBE_TOO_OLD = 4;
/** Exit code the probe script uses when `ibert_lsp.server` is installed but does not import. */
export const PROBE_BROKEN = 5;
export const MIN_PYTHON: readonly [number, number] = [3, 11];

/**
 * A few lines of Python that check the interpreter can run the server: the version, whether
 * `ibert_lsp` is installed, and whether `ibert_lsp.server` imports (pygls and friends; the model
 * stack is imported later, by the server, in the background). Last line of stdout: the detail.
 */
export const PROBE_SCRIPT = [
  "import sys, importlib.util",
  `if sys.version_info < (${MIN_PYTHON[0]}, ${MIN_PYTHON[1]}):`,
  "    print(sys.version.split()[0]); sys.exit(" + PROBE_TOO_OLD + ")",
  "if importlib.util.find_spec('ibert_lsp') is None:",
  "    print(sys.executable); sys.exit(" + PROBE_MODULE_MISSING + ")",
  "try:",
  "    import ibert_lsp.server as server",
  "except Exception as exc:",
  "    print(f'{type(exc).__name__}: {exc}'.splitlines()[0]); sys.exit(" + PROBE_BROKEN + ")",
  "from ibert_lsp import __version__",
  "print(f'ibert-lsp {__version__} in {sys.executable} (Python {sys.version.split()[0]})')",
].join("\n");

export interface SpawnOutcome {
  /** Error code from spawn (`ENOENT`, `EACCES`, `ETIMEDOUT`...), when the process did not run. */
  errorCode?: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function lastLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ""
  );
}

/** Classifies what the probe process did. Pure, so every branch is unit-tested. */
export function classifyProbe(cmd: ServerCommand, outcome: SpawnOutcome): ProbeResult {
  const out = lastLine(outcome.stdout);
  const err = lastLine(outcome.stderr);
  if (outcome.errorCode === "ENOENT") {
    return { ok: false, kind: "notFound", detail: `${cmd.command} was not found` };
  }
  if (outcome.errorCode === "EACCES" || outcome.errorCode === "EISDIR") {
    return { ok: false, kind: "notExecutable", detail: `${cmd.command} is not an executable file` };
  }
  if (outcome.errorCode === "ETIMEDOUT") {
    return { ok: false, kind: "failed", detail: `${cmd.command} did not answer the check in time` };
  }
  if (outcome.errorCode) {
    return { ok: false, kind: "failed", detail: `${cmd.command}: ${outcome.errorCode}` };
  }
  if (outcome.exitCode === 0) {
    if (cmd.python === undefined && !/ibert-lsp/.test(out)) {
      // ibert.serverPath: `--version` must name the server, or this is some other program.
      return { ok: false, kind: "broken", detail: `${cmd.command} --version printed "${out}", not ibert-lsp's version` };
    }
    return { ok: true, detail: out };
  }
  if (cmd.python !== undefined && outcome.exitCode === PROBE_MODULE_MISSING) {
    return { ok: false, kind: "moduleMissing", detail: `ibert is not installed in ${out || cmd.command}` };
  }
  if (cmd.python !== undefined && outcome.exitCode === PROBE_TOO_OLD) {
    return {
      ok: false,
      kind: "pythonTooOld",
      detail: `${cmd.command} is Python ${out}; ibert needs ${MIN_PYTHON.join(".")} or newer`,
    };
  }
  if (cmd.python !== undefined && outcome.exitCode === PROBE_BROKEN) {
    return { ok: false, kind: "broken", detail: `ibert_lsp is installed in ${cmd.command} but does not import (${out})` };
  }
  const why = err || out;
  return {
    ok: false,
    kind: cmd.python === undefined ? "broken" : "failed",
    detail: `${cmd.command}${cmd.python === undefined ? " --version" : ""} exited with ${outcome.exitCode}${why ? `: ${why}` : ""}`,
  };
}

/** The argv the probe runs: the Python check, or `<ibert-lsp> --version`. */
export function probeArgv(cmd: ServerCommand): { command: string; args: string[] } {
  if (cmd.python === undefined) {
    return { command: cmd.command, args: ["--version"] };
  }
  return { command: cmd.python, args: ["-c", PROBE_SCRIPT] };
}

/** Runs the probe (a second or so: it imports the server module, not the model). */
export async function probeServer(
  cmd: ServerCommand,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ProbeResult> {
  if (cmd.python === undefined) {
    // Spawning a directory or a non-executable file reports EACCES; say so precisely first.
    const fs = await import("node:fs/promises");
    try {
      const st = await fs.stat(cmd.command);
      if (st.isDirectory()) {
        return classifyProbe(cmd, { errorCode: "EISDIR", exitCode: null, stdout: "", stderr: "" });
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "failed";
      return classifyProbe(cmd, { errorCode: code, exitCode: null, stdout: "", stderr: "" });
    }
  }
  const argv = probeArgv(cmd);
  const outcome = await runCapture(argv.command, argv.args, opts.timeoutMs ?? 30000, opts.env);
  return classifyProbe(cmd, outcome);
}

function runCapture(
  command: string,
  args: string[],
  timeoutMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let settled = false;
    const done = (o: SpawnOutcome) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(o);
      }
    };
    let child;
    try {
      child = spawn(command, args, { env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      done({ errorCode: (e as NodeJS.ErrnoException).code ?? "failed", exitCode: null, stdout, stderr });
      return;
    }
    const timer = setTimeout(() => {
      child.kill();
      done({ errorCode: "ETIMEDOUT", exitCode: null, stdout, stderr });
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e: NodeJS.ErrnoException) =>
      done({ errorCode: e.code ?? "failed", exitCode: null, stdout, stderr }),
    );
    child.on("close", (code) => done({ exitCode: code, stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------
// What to tell the user.

export type FixAction = "selectInterpreter" | "openSettings" | "copyInstallCommand" | "showOutput";

export interface ProblemReport {
  message: string;
  /** Buttons, best first; extension.ts maps each to a VS Code action. */
  actions: FixAction[];
  /** The shell command that installs ibert into the interpreter in question. */
  installCommand?: string;
}

export function installCommandFor(python: string): string {
  const q = /^[\w@%+=:,./\\-]+$/.test(python) ? python : `"${python}"`;
  return `${q} -m pip install ibert`;
}

/**
 * The notification for a failed probe: what is wrong, where the choice came from, and the fix.
 * `hasPythonExtension` decides whether "Select Interpreter" is offered.
 */
export function problemReport(
  cmd: ServerCommand,
  result: Exclude<ProbeResult, { ok: true }>,
  hasPythonExtension: boolean,
): ProblemReport {
  const from = sourceLabel(cmd.source);
  const pick: FixAction[] = hasPythonExtension
    ? ["selectInterpreter", "openSettings"]
    : ["openSettings"];
  switch (result.kind) {
    case "notFound":
      if (cmd.source === "serverPath") {
        return {
          message: `ibert: the server ${cmd.command} (from ${from}) does not exist. Point ibert.serverPath at the ibert-lsp executable, or clear it to use a Python interpreter.`,
          actions: ["openSettings", "showOutput"],
        };
      }
      return {
        message: `ibert: Python was not found (${cmd.command}, from ${from}). Install Python ${MIN_PYTHON.join(".")}+ with ibert, then set ibert.python to that interpreter${hasPythonExtension ? " or select it in the Python extension" : ""}.`,
        actions: [...pick, "showOutput"],
      };
    case "notExecutable":
      return {
        message: `ibert: ${cmd.command} (from ${from}) is not an executable file.`,
        actions: ["openSettings", "showOutput"],
      };
    case "moduleMissing": {
      const install = installCommandFor(cmd.python ?? cmd.command);
      return {
        message: `ibert: ibert-lsp is not installed in ${cmd.python} (from ${from}). Install it with \`${install}\` (or \`pip install -e .\` in an ibert checkout), or choose another interpreter.`,
        actions: ["copyInstallCommand", ...pick],
        installCommand: install,
      };
    }
    case "broken":
      return {
        message: `ibert: the server cannot start: ${result.detail} (from ${from}). Reinstall it (\`${installCommandFor(cmd.python ?? "python")}\`) or choose another ${cmd.python === undefined ? "executable" : "interpreter"}.`,
        actions: ["showOutput", ...pick],
        installCommand: cmd.python === undefined ? undefined : installCommandFor(cmd.python),
      };
    case "pythonTooOld":
      return {
        message: `ibert: ${result.detail} (interpreter from ${from}). Choose a newer interpreter.`,
        actions: [...pick, "showOutput"],
      };
    case "failed":
      return {
        message: `ibert: could not check the server command (${result.detail}; from ${from}).`,
        actions: ["showOutput", ...pick],
      };
  }
}
