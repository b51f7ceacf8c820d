"""A real editor: headless Neovim (Debian's `neovim` package, >= 0.7) with its built-in LSP
client attaches ibert-lsp, gets diagnostics, completion, a quick fix it applies, and a hover."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NVIM = shutil.which("nvim")

pytestmark = [
    pytest.mark.neovim,
    pytest.mark.skipif(NVIM is None, reason="nvim is not installed (apt-get install -y neovim)"),
]


def test_neovim_builtin_client_end_to_end():
    work = Path(tempfile.mkdtemp(prefix="ibert_nvim_"))
    doc = work / "demo.py"
    doc.write_text((ROOT / "examples" / "demo.py").read_text())
    out = work / "out.json"
    env = dict(os.environ)
    env.update({
        "IBERT_LSP_CMD": f"{sys.executable} -m ibert_lsp",
        "IBERT_NVIM_OUT": str(out),
        "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        "XDG_STATE_HOME": str(work / "state"), "XDG_DATA_HOME": str(work / "data"),
        "XDG_CONFIG_HOME": str(work / "config"), "XDG_CACHE_HOME": str(work / "cache"),
    })
    proc = subprocess.run(
        [NVIM, "--headless", "-n", "-i", "NONE", "-u", str(ROOT / "tests" / "nvim" / "init.lua"),
         str(doc), "-c", f"luafile {ROOT / 'tests' / 'nvim' / 'drive.lua'}"],
        env=env, cwd=work, capture_output=True, text=True, timeout=150,
    )
    assert out.exists(), f"nvim wrote nothing (rc={proc.returncode}): {proc.stderr[-2000:]}"
    res = json.loads(out.read_text())
    assert "error" not in res, res
    assert res["steps"] == ["attached", "diagnostics", "completion", "code_action", "hover"]
    assert res["client"] == "ibert"
    msgs = [d["message"] for d in res["diagnostics"]]
    assert any("did you mean 'amount'" in m for m in msgs), msgs
    first = res["completion"][:5]
    # the five columns first (those the file already uses before the others)
    assert sorted(first) == sorted(["order_id", "customer_id", "status", "amount",
                                    "created_at"]), first
    assert "filter" in res["completion"] and "group_by" in res["completion"]
    assert any(a["kind"] == "quickfix" for a in res["actions"]), res["actions"]
    assert res["fixed_line"] == "big_orders = orders.filter(orders.amount > 100)"
    assert "group_by" in res["hover"] and "```python" in res["hover"]
