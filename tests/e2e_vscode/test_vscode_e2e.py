"""The VS Code extension in a real VS Code (code-server), driven in a real browser (Debian's
chromium through playwright-core), against the real `ibert-lsp` with the micro model.

`setup.sh` (run by `scripts/setup.sh --dev`, or here when it has not run) installs Node 24,
code-server and playwright-core from npm and chromium from Debian into git-ignored folders;
when it cannot, the test skips with its reason. The extension is built and packaged from the
working tree, installed into a throwaway profile, and `drive.mjs` checks the eight steps of
issue 16 in the browser, writing one screenshot per step to `tests/e2e_vscode/artifacts/`.
Everything code-server writes (profile, extensions, ~/.config, ~/.local/share) goes to this
test's temporary directory; every wait is bounded; code-server, the browser and the servers the
extension starts are killed by process group at the end, also on failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_model_support import micro_run

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXT = ROOT / "vscode-extension"
TOOLS = HERE / ".tools"
CODE_SERVER = HERE / "tools" / "node_modules" / ".bin" / "code-server"
ARTIFACTS = HERE / "artifacts"
PYTHON = ROOT / ".venv" / "bin" / "python"
SETUP_LIMIT_S = 1500
DRIVE_LIMIT_S = 420


def _node24() -> Path | None:
    ready = TOOLS / "ready"
    if ready.is_file() and CODE_SERVER.exists():
        node = Path(ready.read_text().strip())
        if node.is_file():
            return node
    return None


@pytest.fixture(scope="module")
def node24() -> Path:
    """Node 24's binary. When `scripts/setup.sh --dev` has not run setup.sh yet, runs it here
    (bounded); when setup.sh recorded why it could not install something, skips with that."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the VS Code end-to-end test needs it for its tools")
    why = TOOLS / "unavailable"
    node = _node24()
    if node is None and not why.is_file():
        try:
            subprocess.run(["bash", str(HERE / "setup.sh")], timeout=SETUP_LIMIT_S, check=False,
                           stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.skip(f"tests/e2e_vscode/setup.sh took over {SETUP_LIMIT_S} s")
        node = _node24()
    if node is None:
        pytest.skip(why.read_text().strip() if why.is_file() else
                    "tests/e2e_vscode/setup.sh did not finish; see its .tools/setup.log")
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (tests/e2e_vscode/setup.sh installs it "
                    "as root)")
    if not (EXT / "node_modules").is_dir():
        pytest.skip("the extension's node packages are missing: run scripts/setup.sh --dev")
    return node


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    """The extension built (vscode:prepublish) and packaged from the working tree."""
    tmp = tmp_path_factory.mktemp("vsix")
    out = tmp / "ibert.vsix"
    r = subprocess.run([shutil.which("npm"), "exec", "--", "vsce", "package", "--no-dependencies",
                        "--allow-missing-repository", "-o", str(out)],
                       cwd=EXT, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, check=False,
                       env={**os.environ, "npm_config_update_notifier": "false",
                            "npm_config_cache": str(tmp / "npm-cache")})
    assert r.returncode == 0 and out.is_file(), (r.stdout + r.stderr)[-3000:]
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the process group (code-server, its watcher, extension host, ibert-lsp and its
    workers; or node, chromium and its helpers), SIGKILL to what is left after 5 s."""
    for sig, wait_s in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader: a zombie still counts as a member of its group
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture
def vscode(node24, vsix, tmp_path):
    """A code-server on 127.0.0.1 with a throwaway profile, the .vsix installed, the workspace a
    fresh copy of `workspace/`, and ibert pointed at this project's Python and the micro model."""
    run_dir, _ = micro_run()
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    user = tmp_path / "user"
    exts = tmp_path / "extensions"
    for d in (home, user / "User", exts):
        d.mkdir(parents=True)
    shutil.copytree(HERE / "workspace", ws)
    settings = {
        "ibert.python": str(PYTHON),
        "ibert.modelPath": str(run_dir / "model"),
        "ibert.maxLatencyMs": 5000,
        "ibert.serverEnv": {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
                            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        "files.autoSave": "off",
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "workbench.enableExperiments": False,
        "security.workspace.trust.enabled": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "extensions.ignoreRecommendations": True,
        "editor.inlineSuggest.enabled": True,
        "editor.suggest.preview": False,
        "editor.minimap.enabled": False,
        "chat.disableAIFeatures": True,
        "window.commandCenter": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
    }
    (user / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    # code-server is a remote window: machine-scoped settings (ibert.python, ...) come from here
    (user / "Machine").mkdir()
    (user / "Machine" / "settings.json").write_text(json.dumps(settings, indent=2))
    env = {
        **os.environ,
        "PATH": f"{node24.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "npm_config_cache": str(tmp_path / "npm-cache"),
        "VSCODE_PROXY_URI": "",
    }
    env.pop("VSCODE_IPC_HOOK_CLI", None)
    common = [str(CODE_SERVER), "--user-data-dir", str(user), "--extensions-dir", str(exts)]
    r = subprocess.run([*common, "--install-extension", str(vsix)], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
                       check=False)
    assert r.returncode == 0 and "ibert" in (r.stdout + r.stderr), (r.stdout + r.stderr)[-3000:]

    port = _free_port()
    short_tmp = tempfile.mkdtemp(prefix="ibert-e2e-")
    env["TMPDIR"] = short_tmp  # short: chromium's singleton socket path must fit in 108 bytes
    log = open(tmp_path / "code-server.log", "wb")  # noqa: SIM115 - open while it runs
    proc = subprocess.Popen(
        [*common, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust",
         "--disable-getting-started-override",
         "--ignore-last-opened", str(ws)],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("code-server did not start: "
                                + (tmp_path / "code-server.log").read_text()[-3000:])
                time.sleep(0.3)
        yield {"url": f"http://127.0.0.1:{port}/?folder={ws}", "ws": ws, "user": user,
               "pgid": proc.pid, "env": env, "tmp": tmp_path}
    finally:
        _kill_group(proc)
        log.close()
        shutil.rmtree(short_tmp, ignore_errors=True)


def _ibert_log(user: Path) -> str:
    """The extension's Output channel ("ibert"), as VS Code writes it to the profile's logs."""
    logs = sorted((user / "logs").rglob("*ibert*.log"), key=lambda p: p.stat().st_mtime)
    return "\n".join(p.read_text(errors="replace") for p in logs if p.is_file())


def test_extension_in_real_vscode(vscode, node24):
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    results = vscode["tmp"] / "results.json"
    cfg = {"url": vscode["url"], "workspace": str(vscode["ws"]), "artifacts": str(ARTIFACTS),
           "results": str(results), "pgid": vscode["pgid"], "chromium": shutil.which("chromium")}
    driver_log = vscode["tmp"] / "drive.log"
    with open(driver_log, "wb") as out:
        proc = subprocess.Popen([str(node24), str(HERE / "drive.mjs"), json.dumps(cfg)],
                                cwd=HERE / "tools", env=vscode["env"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            proc.wait(timeout=DRIVE_LIMIT_S)
        except subprocess.TimeoutExpired:
            pass
        finally:
            _kill_group(proc)
    shutil.copy(driver_log, ARTIFACTS / "drive.log")
    log_text = _ibert_log(vscode["user"])
    (ARTIFACTS / "output-ibert.log").write_text(log_text)
    tail = driver_log.read_text(errors="replace")[-6000:]
    assert results.is_file(), f"the browser driver wrote no results:\n{tail}"
    steps = json.loads(results.read_text())
    failed = [s for s in steps if not s["ok"]]
    assert not failed, json.dumps(failed, indent=1) + "\n" + tail
    assert len(steps) == 8, [s["step"] for s in steps]

    # The Output channel: the server's own log, and nothing harmless tagged [error] while it ran.
    # (the language client's own "Server process exited with signal SIGKILL" line is the
    # deliberate kill of step 8, logged in the same millisecond as ours, in either order)
    before_kill = re.split(r"server exited; restarting|Server process exited with signal",
                           log_text)[0]
    assert "[ibert] server command" in log_text and "[ibert] found" in log_text, log_text[-3000:]
    assert "ibert: model loaded from" in log_text, log_text[-3000:]  # the server's window/logMessage
    errors = [ln for ln in before_kill.splitlines() if re.search(r"\[error\]", ln)]
    assert not errors, errors
    assert log_text.count("server exited; restarting") == 1, log_text[-3000:]

    # The statement completed by the inline suggestion (accepted with Tab) passes the gate:
    # `ibert to-sql` evaluates it with the gate and compiles it, or exits 2.
    line = next(s for s in steps if s["step"] == 5)["data"]["line"]
    tables = (HERE / "workspace" / "orders.py").read_text().split("\n\nbig =")[0]
    source = f"{tables}\n{line}\n"
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "ibert"), "to-sql", "-"], input=source,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and "SELECT" in r.stdout, (line, r.stdout, r.stderr)
