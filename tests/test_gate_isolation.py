"""The gate's worker processes: hard limits hold even for code that escaped the interpreter,
a stuck call costs one answer, and results come back as data only."""

from __future__ import annotations

import os
import pickle
import time

import pytest

from ibert_lsp.validate import isolation
from ibert_lsp.validate.errors import GateError
from tests import gate_probes


@pytest.fixture(scope="module")
def gate():
    isolation.enable(workers=1)
    yield isolation.pool()
    isolation.disable()


def test_calls_run_in_another_process(gate):
    assert gate_probes.pid() != os.getpid()


def test_worker_cannot_create_files(gate, tmp_path):
    target = tmp_path / "marker"
    assert gate_probes.write_file(str(target)).startswith("refused")
    assert not target.exists() or target.stat().st_size == 0


def test_worker_memory_is_capped(gate):
    with pytest.raises(GateError) as err:
        gate_probes.allocate(2 << 30)
    assert err.value.kind == "limit"
    assert gate_probes.allocate(10 << 20) == 10 << 20  # still serving


def test_worker_file_descriptors_are_capped(gate):
    assert gate_probes.open_many(500).startswith("refused")


def test_worker_environment_is_clean(gate, monkeypatch):
    monkeypatch.setenv("IBERT_TEST_SECRET", "hunter2")
    env = gate_probes.environment()
    assert "IBERT_TEST_SECRET" not in env
    assert not any("hunter2" in v for v in env.values())


def test_stuck_call_is_stopped_and_worker_replaced(gate):
    before = gate_probes.pid()
    t0 = time.monotonic()
    with pytest.raises(GateError) as err:
        gate_probes.spin(60, _timeout_s=1.5)
    assert err.value.kind == "timeout"
    assert time.monotonic() - t0 < 5
    assert gate_probes.spin(0.01) == "done"
    assert gate_probes.pid() != before


def test_results_are_rebuilt_as_data_only(gate, tmp_path):
    before = gate_probes.pid()
    with pytest.raises(GateError) as err:
        gate_probes.hostile_result()
    # refused by the caller's unpickler (it never calls os.system), worker kept in service
    assert err.value.kind == "forbidden" and "system" in err.value.message
    assert gate_probes.pid() == before  # a refused value costs no worker restart
    payload = pickle.dumps((os.system, ("true",)))
    with pytest.raises(pickle.UnpicklingError):
        isolation.loads_result(payload)


def test_ibis_values_cross_both_ways(gate):
    from ibert_lsp.tasks.analysis import analyze, gate_eval

    schemas = {"t": {"amount": "int64", "b": "string"}}
    an = analyze("x = t.filter(t.amount > 1)\ny = x.amout\n", schemas)
    assert [p.code for p in an.problems] == ["unknown-column"]
    assert an.problems[0].line == 1
    value = gate_eval("(x.amount.sum())", schemas, an.env)
    assert str(value.type()) == "int64"
    mem = gate_eval("ibis.memtable({'q': [1, 2]})", {})
    assert list(mem.columns) == ["q"]


def test_gate_errors_keep_their_position(gate):
    from ibert_lsp.validate.safe_eval import evaluate

    with pytest.raises(GateError) as err:
        evaluate("t.amout", {"t": {"amount": "float64"}})
    assert err.value.kind == "attribute"
    assert err.value.line == 1 and err.value.suggestions == ["amount"]


def test_analysis_of_real_code_crosses_whole(gate):
    """Connections are typed as their backend class, results of calls as their classes: all of
    it comes back through the restricted unpickler."""
    from ibert_lsp.tasks.analysis import analyze

    code = ('con = ibis.duckdb.connect()\nt = con.table("x")\nt.head()\nsql = ibis.to_sql(t)\n'
            "cols = ibis.memtable({'a': [1]}).columns\n")
    an = analyze(code, {})
    assert an.types["con"].__name__ == "Backend" and an.types["t"].__name__ == "Table"
    assert sorted(set(an.modeled_lines)) == [0, 1, 2, 3, 4]
