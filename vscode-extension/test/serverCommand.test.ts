import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
  PROBE_BROKEN,
  PROBE_MODULE_MISSING,
  PROBE_TOO_OLD,
  classifyProbe,
  describeCommand,
  expandPath,
  installCommandFor,
  probeArgv,
  probeServer,
  problemReport,
  resolveServerCommand,
  type ServerCommand,
} from "../src/serverCommand";

const home = "/home/u";

test("ibert.serverPath wins over every interpreter", () => {
  const cmd = resolveServerCommand({
    serverPath: "~/venv/bin/ibert-lsp",
    python: "/usr/bin/python3.12",
    pythonExtensionInterpreter: "/opt/py/bin/python",
    serverArgs: ["--log-level", "debug"],
    homeDir: home,
  });
  assert.deepEqual(cmd, {
    command: "/home/u/venv/bin/ibert-lsp",
    args: ["--log-level", "debug"],
    source: "serverPath",
  });
});

test("ibert.python runs the server as a module", () => {
  const cmd = resolveServerCommand({
    python: "${workspaceFolder}/.venv/bin/python",
    pythonExtensionInterpreter: "/opt/py/bin/python",
    workspaceFolder: "/ws",
  });
  assert.deepEqual(cmd, {
    command: "/ws/.venv/bin/python",
    args: ["-m", "ibert_lsp"],
    source: "python",
    python: "/ws/.venv/bin/python",
  });
});

test("a relative interpreter path is taken from the workspace folder; a bare name from PATH", () => {
  assert.equal(resolveServerCommand({ python: ".venv/bin/python", workspaceFolder: "/ws" }).command, "/ws/.venv/bin/python");
  assert.equal(resolveServerCommand({ python: "python3.11", workspaceFolder: "/ws" }).command, "python3.11");
});

test("blank settings fall through to the Python extension, then python3 / python", () => {
  const ext = resolveServerCommand({ serverPath: "  ", python: "", pythonExtensionInterpreter: "/opt/py/bin/python" });
  assert.equal(ext.source, "pythonExtension");
  assert.deepEqual([ext.command, ...ext.args], ["/opt/py/bin/python", "-m", "ibert_lsp"]);
  const linux = resolveServerCommand({ platform: "linux" });
  assert.deepEqual([linux.command, linux.source], ["python3", "default"]);
  const win = resolveServerCommand({ platform: "win32" });
  assert.deepEqual([win.command, win.source], ["python", "default"]);
});

test("expandPath handles ~, ${userHome}, ${env:X} and refuses ${workspaceFolder} with no folder", () => {
  assert.equal(expandPath("~", { homeDir: home }), home);
  assert.equal(expandPath("~/x/py", { homeDir: home }), "/home/u/x/py");
  assert.equal(expandPath("${userHome}/py", { homeDir: home }), "/home/u/py");
  assert.equal(expandPath("${env:PYROOT}/bin/python", { env: { PYROOT: "/p" } }), "/p/bin/python");
  assert.throws(() => expandPath("${workspaceFolder}/.venv/bin/python", {}), /no folder is open/);
});

test("describeCommand quotes what a shell would need quoted", () => {
  const cmd: ServerCommand = { command: "/a b/python", args: ["-m", "ibert_lsp", "it's"], source: "python" };
  assert.equal(describeCommand(cmd), `'/a b/python' -m ibert_lsp 'it'\\''s'`);
});

const py: ServerCommand = { command: "/v/bin/python", args: ["-m", "ibert_lsp"], source: "python", python: "/v/bin/python" };
const exe: ServerCommand = { command: "/v/bin/ibert-lsp", args: [], source: "serverPath" };

test("classifyProbe: every outcome has its kind", () => {
  const none = { stdout: "", stderr: "" };
  assert.deepEqual(classifyProbe(py, { errorCode: "ENOENT", exitCode: null, ...none }), {
    ok: false,
    kind: "notFound",
    detail: "/v/bin/python was not found",
  });
  assert.equal((classifyProbe(exe, { errorCode: "EACCES", exitCode: null, ...none }) as { kind: string }).kind, "notExecutable");
  assert.match(classifyProbe(py, { errorCode: "ETIMEDOUT", exitCode: null, ...none }).detail, /did not answer/);
  assert.deepEqual(classifyProbe(py, { exitCode: 0, stdout: "ibert-lsp 0.1.0 in /v/bin/python (Python 3.11.9)\n", stderr: "" }), {
    ok: true,
    detail: "ibert-lsp 0.1.0 in /v/bin/python (Python 3.11.9)",
  });
  assert.equal((classifyProbe(py, { exitCode: PROBE_MODULE_MISSING, stdout: "/v/bin/python\n", stderr: "" }) as { kind: string }).kind, "moduleMissing");
  const old = classifyProbe(py, { exitCode: PROBE_TOO_OLD, stdout: "3.8.10\n", stderr: "" });
  assert.equal(old.ok, false);
  assert.match(old.detail, /Python 3\.8\.10; ibert needs 3\.11/);
  assert.deepEqual(classifyProbe(py, { exitCode: PROBE_BROKEN, stdout: "ModuleNotFoundError: No module named 'pygls'\n", stderr: "" }), {
    ok: false,
    kind: "broken",
    detail: "ibert_lsp is installed in /v/bin/python but does not import (ModuleNotFoundError: No module named 'pygls')",
  });
  const crash = classifyProbe(py, { exitCode: 1, stdout: "", stderr: "Traceback...\nSyntaxError: bad\n" });
  assert.deepEqual(crash, { ok: false, kind: "failed", detail: "/v/bin/python exited with 1: SyntaxError: bad" });
  // ibert.serverPath: `--version` must answer with ibert-lsp's version.
  assert.equal(classifyProbe(exe, { exitCode: 0, stdout: "ibert-lsp 0.1.0\n", stderr: "" }).ok, true);
  assert.equal((classifyProbe(exe, { exitCode: 0, stdout: "Python 3.12.1\n", stderr: "" }) as { kind: string }).kind, "broken");
  assert.deepEqual(classifyProbe(exe, { exitCode: 1, stdout: "", stderr: "ImportError: torch\n" }), {
    ok: false,
    kind: "broken",
    detail: "/v/bin/ibert-lsp --version exited with 1: ImportError: torch",
  });
});

test("probeArgv: the Python check, or --version for an executable", () => {
  const argv = probeArgv(py);
  assert.equal(argv.command, "/v/bin/python");
  assert.equal(argv.args[0], "-c");
  assert.match(argv.args[1], /import ibert_lsp\.server/);
  assert.deepEqual(probeArgv(exe), { command: "/v/bin/ibert-lsp", args: ["--version"] });
});

test("problemReport: missing module offers the install command first", () => {
  const r = problemReport(py, { ok: false, kind: "moduleMissing", detail: "" }, true);
  assert.equal(r.installCommand, "/v/bin/python -m pip install ibert");
  assert.deepEqual(r.actions, ["copyInstallCommand", "selectInterpreter", "openSettings"]);
  assert.match(r.message, /not installed in \/v\/bin\/python \(from setting ibert\.python\)/);
  const noExt = problemReport(py, { ok: false, kind: "notFound", detail: "" }, false);
  assert.ok(!noExt.actions.includes("selectInterpreter"));
  assert.match(noExt.message, /Python was not found/);
  const badExe = problemReport(exe, { ok: false, kind: "notFound", detail: "" }, true);
  assert.match(badExe.message, /ibert\.serverPath/);
  assert.equal(installCommandFor("C:\\Program Files\\Python\\python.exe"), `"C:\\Program Files\\Python\\python.exe" -m pip install ibert`);
});

// The probe, run for real.

test("probeServer: an interpreter that does not exist", async () => {
  const cmd = resolveServerCommand({ python: "/nonexistent/bin/python" });
  const r = await probeServer(cmd);
  assert.deepEqual(r, { ok: false, kind: "notFound", detail: "/nonexistent/bin/python was not found" });
});

test("probeServer: a real Python without ibert reports the missing module", async (t) => {
  // A fresh interpreter with no site-packages: `python -I -S` cannot see ibert wherever it is installed.
  const python = findSystemPython();
  if (!python) {
    t.skip("no Python >= 3.11 found (IBERT_PYTHON, ../.venv, PATH)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-probe-"));
  const wrapper = path.join(dir, "python");
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${python} -I -S "$@"\n`, { mode: 0o755 });
  const r = await probeServer(resolveServerCommand({ python: wrapper }));
  assert.equal(r.ok, false);
  assert.equal((r as { kind: string }).kind, "moduleMissing");
});

test("probeServer: ibert installed but broken (a dependency missing) is told apart", async (t) => {
  const python = findSystemPython();
  if (!python) {
    t.skip("no Python >= 3.11 found (IBERT_PYTHON, ../.venv, PATH)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-broken-"));
  fs.mkdirSync(path.join(dir, "ibert_lsp"));
  fs.writeFileSync(path.join(dir, "ibert_lsp", "__init__.py"), "__version__ = '0.0.0'\n");
  fs.writeFileSync(path.join(dir, "ibert_lsp", "server.py"), "import pygls_that_is_not_installed\n");
  const wrapper = path.join(dir, "python");
  fs.writeFileSync(wrapper, `#!/bin/sh\ncd ${dir} && exec ${python} -S "$@"\n`, { mode: 0o755 });
  const r = await probeServer(resolveServerCommand({ python: wrapper }));
  assert.deepEqual(r, {
    ok: false,
    kind: "broken",
    detail: `ibert_lsp is installed in ${wrapper} but does not import (ModuleNotFoundError: No module named 'pygls_that_is_not_installed')`,
  });
});

test("probeServer: serverPath runs `--version`", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-exe-"));
  const exePath = path.join(dir, "ibert-lsp");
  fs.writeFileSync(exePath, "#!/bin/sh\necho 'ibert-lsp 0.1.0'\n", { mode: 0o644 });
  const r1 = await probeServer(resolveServerCommand({ serverPath: exePath }));
  assert.equal((r1 as { kind?: string }).kind, "notExecutable");
  fs.chmodSync(exePath, 0o755);
  assert.deepEqual(await probeServer(resolveServerCommand({ serverPath: exePath })), { ok: true, detail: "ibert-lsp 0.1.0" });
  fs.writeFileSync(exePath, "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\necho 'ModuleNotFoundError: pygls' >&2\nexit 1\n");
  const r2 = await probeServer(resolveServerCommand({ serverPath: exePath }));
  assert.deepEqual(r2, { ok: false, kind: "broken", detail: `${exePath} --version exited with 1: ModuleNotFoundError: pygls` });
  const r3 = await probeServer(resolveServerCommand({ serverPath: dir }));
  assert.equal((r3 as { kind?: string }).kind, "notExecutable");
  const r4 = await probeServer(resolveServerCommand({ serverPath: path.join(dir, "missing") }));
  assert.equal((r4 as { kind?: string }).kind, "notFound");
});

test("probeServer: a hanging program is given up on", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-exe-"));
  const exePath = path.join(dir, "ibert-lsp");
  fs.writeFileSync(exePath, "#!/bin/sh\nexec sleep 30\n", { mode: 0o755 });
  const r = await probeServer(resolveServerCommand({ serverPath: exePath }), { timeoutMs: 300 });
  assert.equal(r.ok, false);
  assert.match(r.detail, /did not answer the check in time/);
});

/**
 * A Python ≥ 3.11 to run the probe on: the project's (IBERT_PYTHON or ../.venv), else python3 on
 * PATH. Tests run it with -S, which hides site-packages and so any installed ibert.
 */
function findSystemPython(): string | undefined {
  const candidates = [
    process.env.IBERT_PYTHON,
    path.resolve(__dirname, "..", "..", "..", ".venv", "bin", "python"),
    ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, "python3")),
  ];
  for (const p of candidates) {
    if (!p || !fs.existsSync(p)) {
      continue;
    }
    try {
      const v = execFileSync(p, ["-S", "-c", "import sys; print(sys.version_info >= (3, 11))"], { encoding: "utf8" });
      if (v.trim() === "True") {
        return p;
      }
    } catch {
      // not runnable: try the next
    }
  }
  return undefined;
}
