import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import {
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
  assert.equal(classifyProbe(py, { errorCode: "ENOENT", exitCode: null, stdout: "", stderr: "" }).ok, false);
  assert.deepEqual(
    classifyProbe(py, { errorCode: "ENOENT", exitCode: null, stdout: "", stderr: "" }),
    { ok: false, kind: "notFound", detail: "/v/bin/python was not found" },
  );
  assert.equal((classifyProbe(exe, { errorCode: "EACCES", exitCode: null, stdout: "", stderr: "" }) as { kind: string }).kind, "notExecutable");
  assert.deepEqual(classifyProbe(py, { exitCode: 0, stdout: "/v/bin/python 3.11.9 /x/server.py\n", stderr: "" }), {
    ok: true,
    detail: "/v/bin/python 3.11.9 /x/server.py",
  });
  assert.equal(
    (classifyProbe(py, { exitCode: PROBE_MODULE_MISSING, stdout: "/v/bin/python\n", stderr: "" }) as { kind: string }).kind,
    "moduleMissing",
  );
  const old = classifyProbe(py, { exitCode: PROBE_TOO_OLD, stdout: "3.8.10\n", stderr: "" });
  assert.equal(old.ok, false);
  assert.match(old.detail, /Python 3\.8\.10; ibert needs 3\.11/);
  const crash = classifyProbe(py, { exitCode: 1, stdout: "", stderr: "Traceback...\nSyntaxError: bad\n" });
  assert.deepEqual(crash, { ok: false, kind: "failed", detail: "/v/bin/python exited with 1: SyntaxError: bad" });
  assert.equal(classifyProbe(exe, { exitCode: 0, stdout: "", stderr: "" }).ok, true);
});

test("probeArgv asks Python, and nothing for an executable", () => {
  const argv = probeArgv(py)!;
  assert.equal(argv.command, "/v/bin/python");
  assert.equal(argv.args[0], "-c");
  assert.match(argv.args[1], /find_spec\('ibert_lsp\.server'\)/);
  assert.equal(probeArgv(exe), undefined);
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
    t.skip("no python3 on PATH");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-probe-"));
  const wrapper = path.join(dir, "python");
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${python} -I -S "$@"\n`, { mode: 0o755 });
  const r = await probeServer(resolveServerCommand({ python: wrapper }));
  assert.equal(r.ok, false);
  assert.equal((r as { kind: string }).kind, "moduleMissing");
});

test("probeServer: serverPath checks the file", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ibert-exe-"));
  const plain = path.join(dir, "ibert-lsp");
  fs.writeFileSync(plain, "#!/bin/sh\n", { mode: 0o644 });
  const r1 = await probeServer(resolveServerCommand({ serverPath: plain }));
  assert.equal((r1 as { kind?: string }).kind, "notExecutable");
  fs.chmodSync(plain, 0o755);
  assert.equal((await probeServer(resolveServerCommand({ serverPath: plain }))).ok, true);
  const r3 = await probeServer(resolveServerCommand({ serverPath: dir }));
  assert.equal((r3 as { kind?: string }).kind, "notExecutable");
  const r4 = await probeServer(resolveServerCommand({ serverPath: path.join(dir, "missing") }));
  assert.equal((r4 as { kind?: string }).kind, "notFound");
});

function findSystemPython(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, "python3");
    if (dir && fs.existsSync(p)) {
      return p;
    }
  }
  return undefined;
}
