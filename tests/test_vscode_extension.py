"""The VS Code extension's own test suite (node's test runner), run as part of the one test command.

It type-checks and bundles the extension, runs its unit tests and its tests against the real
`ibert-lsp` over vscode-jsonrpc, then packages the .vsix.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "vscode-extension"
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NPM is None or not (EXT / "node_modules").is_dir(),
    reason="needs npm and `scripts/setup.sh --dev` (which runs npm ci in vscode-extension/)",
)


def _npm(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "IBERT_PYTHON": sys.executable}
    return subprocess.run([NPM, *args], cwd=EXT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_extension_node_tests_pass():
    r = _npm("test", timeout=900)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    summary = re.findall(r"^\S*\s*(pass|fail) (\d+)$", r.stdout, flags=re.M)
    counts = {k: int(v) for k, v in summary}
    assert counts.get("fail") == 0 and counts.get("pass", 0) > 0, tail


def test_extension_packages_a_vsix():
    r = _npm("run", "package", timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    vsix = list(EXT.glob("*.vsix"))
    assert vsix and vsix[0].stat().st_size > 10_000
