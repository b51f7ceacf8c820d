"""Denial-of-service inputs through the CLI: each is refused (exit 2, one line on stderr)
within 10 s, and no process of the command grows past 1 GiB."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.dumps({"t": {"a": "int64", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!": "string"}})

CODE_INPUTS = {
    "nested_tuple_hash": "x = (((0,)*10000,)*10000,)*10000\n{x}\nt",
    "nested_list_eq": "t.filter(t.a == len([[[0]*10000]*10000]*10000 == [[[0]*10000]*10000]*10000))",
    "redos_selector": 't.select(ibis.selectors.matches("((a)+)+$"))',
    "comprehension_memory": "a = [[0]*10000]*10000\nb = [[0]*10000 for x in a]\nc = [[0]*10000 for x in a]\nt",
    "many_big_strings": "g = ['x' * 100_000 for q in range(12_000)]\nt",
    "deep_parens": "(" * 300 + "t" + ")" * 300,
    "huge_literal": "t.filter(t.a == " + "9" * 5000 + ")",
    "junk_bytes": "t.filter(\udcff\x7f\x1b[31m)",
}


def run_cli(args: list[str], stdin: str) -> tuple[subprocess.CompletedProcess, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ibert_lsp.cli", *args], input=stdin.encode(
        "utf-8", "surrogateescape"), capture_output=True, timeout=60, cwd=ROOT)
    took = time.monotonic() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc, took, max(peak_kb, before)


@pytest.mark.parametrize("name", sorted(CODE_INPUTS))
def test_to_sql_refuses_dos_inputs_quickly(name):
    proc, took, peak_kb = run_cli(["to-sql", "--schema", SCHEMA], CODE_INPUTS[name])
    err = proc.stderr.decode(errors="replace").strip()
    assert proc.returncode == 2, (name, proc.returncode, err)
    assert len(err.splitlines()) == 1 and err.startswith("ibert: error:"), err
    assert "Traceback" not in err
    assert took < 10, f"{name} took {took:.1f} s"
    assert peak_kb < 1024 * 1024, f"{name}: a process reached {peak_kb // 1024} MiB"


def test_from_sql_refuses_huge_in_list_before_parsing(tmp_path):
    sql = tmp_path / "in.sql"
    sql.write_text("SELECT a FROM t WHERE a IN (" + ",".join(["0"] * 900_000) + ")")
    proc, took, _ = run_cli(["from-sql", str(sql), "--schema", SCHEMA], "")
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and "too large" in err and len(err.splitlines()) == 1
    assert took < 10


def test_from_sql_self_cross_join_is_bounded():
    sql = "SELECT t0.a FROM t t0, t t1, t t2, t t3, t t4"
    proc, took, _ = run_cli(["from-sql", "-", "--schema", SCHEMA], sql)
    assert proc.returncode == 2
    assert took < 10, f"took {took:.1f} s"
