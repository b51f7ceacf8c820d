"""Shared helpers for the model/training tests: a small constructed corpus and a micro model
trained once per test session (seconds on a CPU).

Tests must not depend on data/generated/ (git-ignored), so the corpus is built here: real
Ibis code over two tables, all six tasks, with template families split like datagen's.
"""

from __future__ import annotations

import functools
import json
import random
import tempfile
from pathlib import Path

SCHEMAS = {
    "events": {"user_id": "int64", "amount": "float64", "country": "string", "kind": "string"},
    "users": {"user_id": "int64", "name": "string", "age": "int64"},
}
CONTEXT = {"tables": {t: {"schema": cols} for t, cols in SCHEMAS.items()}}
TABLE_DEFS = (
    "events = ibis.table({'user_id': 'int64', 'amount': 'float64', 'country': 'string', "
    "'kind': 'string'}, name='events')\n"
)


def _rec(i, task, inp, target, family):
    return {
        "id": f"{task}-{i}",
        "task": task,
        "dialect": "duckdb",
        "context": CONTEXT,
        "input": inp,
        "target": target,
        "meta": {"family": family, "template": family, "source": "synthetic"},
    }


def make_records(n: int = 24, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    cols = ["user_id", "amount", "country", "kind"]
    countries = ["US", "FR", "DE", "JP"]
    for i in range(n):
        k = rng.randint(1, 99)
        c = rng.choice(countries)
        col = rng.choice(cols)
        fam = "where_gt" if i % 3 else "where_eq"
        if fam == "where_gt":
            sql = f"SELECT {col} FROM events WHERE amount > {k}"
            ibis_code = f"events.filter(events.amount > {k}).select('{col}')"
        else:
            sql = f"SELECT {col} FROM events WHERE country = '{c}'"
            ibis_code = f"events.filter(events.country == '{c}').select('{col}')"
        out.append(_rec(i, "sql_to_ibis", {"sql": sql}, {"ibis": ibis_code}, fam))
        out.append(_rec(i, "ibis_to_sql", {"ibis": ibis_code, "dialect": "duckdb"},
                        {"sql": sql}, fam))
        out.append(_rec(i, "code_completion",
                        {"prefix": f"expr = events.filter(events.amount > {k}).", "suffix": ""},
                        {"completion": f"select('{col}')"}, "complete_select"))
        bad = col[:-1] if len(col) > 3 else col + "x"
        out.append(_rec(i, "error_resolution",
                        {"code": f"events.select('{bad}')",
                         "error": f"Column '{bad}' is not found in table"},
                        {"fixed": f"events.select('{col}')"}, "fix_column"))
        out.append(_rec(i, "qa", {"question": f"How do I keep rows where amount is above {k}?"},
                        {"answer": f"Use filter: `events.filter(events.amount > {k})`."},
                        "qa_filter"))
        out.append(_rec(i, "documentation",
                        {"code": f"def above_{k}(t):\n    return t.filter(t.amount > {k})",
                         "style": "google"},
                        {"docstring": f"Rows with amount above {k}.\n\nArgs:\n    t: the events "
                                      "table.\n\nReturns:\n    The filtered table."},
                        "doc_filter"))
    return out


def write_corpus(root: Path, n_train: int = 36, n_test: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    splits = {
        "train": make_records(n_train, seed=1),
        "valid": make_records(4, seed=2),
        "test": make_records(n_test, seed=3),
        "test_family": make_records(n_test, seed=4),
    }
    for name, recs in splits.items():
        with (root / f"{name}.jsonl").open("w") as fh:
            for r in recs:
                fh.write(json.dumps(r) + "\n")
    return root


@functools.cache
def micro_run() -> tuple[Path, dict]:
    """(run directory, state) of the micro recipe trained on the constructed corpus; cached."""
    from training.config import config_path, load_config
    from training.pipeline import run

    root = Path(tempfile.mkdtemp(prefix="ibert-micro-"))
    data = write_corpus(root / "data")
    cfg = load_config(config_path("micro"), {"data": {"dir": str(data)},
                                             "eval": {"max_per_task": 2}})
    state = run(cfg, root / "run", progress=False)
    return root / "run", state


def test_constructed_corpus_is_real_ibis():
    """The fixture's Ibis code compiles with Ibis itself (so the tests exercise real code)."""
    import ibis

    events = ibis.table(SCHEMAS["events"], name="events")
    for r in make_records(6):
        if r["task"] == "sql_to_ibis":
            expr = eval(r["target"]["ibis"], {"events": events, "ibis": ibis})  # trusted fixture
            assert "SELECT" in ibis.to_sql(expr)
