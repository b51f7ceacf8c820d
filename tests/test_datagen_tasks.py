"""Task generators and the per-record check, through the real gate (small inputs)."""

from __future__ import annotations

import json
import random

import pytest

from datagen import gate, multitask
from datagen.docfuncs import check_documentation, parse_docstring, render_docstring
from datagen.multitask import check_record, completion_splits
from datagen.mutations import MUTATIONS, mutate
from datagen.records import make_record

S = {"orders": {"order_id": "int64", "customer_id": "int64", "status": "string",
                "amount": "float64", "order_date": "date"}}
CODE = ("orders.filter((orders.amount > 10) & (orders.status == 'shipped'))"
        ".group_by('status').agg(n=_.count(), total=_.amount.sum())")
SQL = ("SELECT status, COUNT(*) AS n, SUM(amount) AS total FROM orders "
       "WHERE amount > 10 AND status = 'shipped' GROUP BY status")


def _rec(task, inp, tgt, tables=S):
    return make_record(task, inp, tgt, tables=tables, template="t", source="test",
                       features=["x"], difficulty="easy", family="t")


def test_pairs_are_checked_by_execution():
    ok, why = gate.check_pair(SQL, CODE, S)
    assert ok, why
    bad_ibis = CODE.replace("amount > 10", "amount < 10")
    ok, why = gate.check_pair(SQL, bad_ibis, S)
    assert not ok and "differ" in why


def test_sql_to_ibis_and_ibis_to_sql_records():
    pair = {"sql": SQL, "ibis": CODE, "schemas": S, "template": "t", "features": ["where"],
            "difficulty": "easy", "family": "t", "dialect": "duckdb"}
    rec = multitask.sql_to_ibis_record(pair)
    assert rec["input"] == {"sql": SQL} and rec["target"] == {"ibis": CODE}
    assert rec["context"]["tables"]["orders"]["schema"] == S["orders"]
    assert check_record(rec) == (True, check_record(rec)[1])
    recs = multitask.build_ibis_to_sql({**pair, "dialects": ["duckdb", "postgres"]})
    assert {r["input"]["dialect"] for r in recs} == {"duckdb", "postgres"}
    for r in recs:
        assert check_record(r)[0]
        tampered = json.loads(json.dumps(r))
        tampered["target"]["sql"] = r["target"]["sql"].replace("10", "11")
        assert not check_record(tampered)[0]


def test_completion_splits_rebuild_the_code_and_bad_completions_fail():
    rng = random.Random(0)
    splits = completion_splits(CODE, rng, n=4)
    assert len(splits) >= 3
    assert {k for k, *_ in splits} <= {"argument", "method", "token", "line_end"}
    for _, prefix, middle, suffix in splits:
        assert prefix + middle + suffix == CODE and middle
    recs = multitask.build_completion({"ibis": CODE, "schemas": S, "template": "t",
                                       "seed": 1, "n": 3})
    assert recs and all(check_record(r)[0] for r in recs)
    bad = _rec("code_completion", {"prefix": "orders.filter(", "suffix": ")"},
               {"completion": "_.amout > 1"})
    ok, why = check_record(bad)
    assert not ok and "amout" in why


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_each_mutation_breaks_code_and_yields_a_checked_record(kind):
    code = CODE + ".order_by(ibis.desc('total')).limit(3)"
    if kind == "wrong_kwarg":
        code = "orders.join(orders.view(), 'order_id', how='left').select('status')"
    if kind == "literal_type":
        code = "orders.filter(orders.amount > 100).select('order_id')"
    broken = MUTATIONS[kind](code, S, random.Random(3))
    assert broken and broken != code
    msg = gate.expect_error(broken, S)
    assert msg, f"{kind}: {broken!r} passes the gate"
    rec = _rec("error_resolution", {"code": broken, "error": msg}, {"fixed": code})
    assert check_record(rec)[0]


def test_error_records_need_broken_code_that_fails():
    recs = multitask.build_errors({"ibis": CODE, "schemas": S, "template": "t", "seed": 5,
                                   "n": 3})
    assert len(recs) == 3
    for r in recs:
        assert r["target"]["fixed"] == CODE and r["input"]["error"]
        assert " at 0x" not in r["input"]["error"]
    fake = _rec("error_resolution", {"code": CODE, "error": "x"}, {"fixed": CODE + " "})
    assert not check_record(fake)[0]


def test_mutate_lists_only_real_changes():
    got = mutate(CODE, S, random.Random(0))
    assert len(got) >= 6
    assert all(b != CODE for _, b in got)


def test_documentation_check():
    code = ("def big_orders(orders, amount_cutoff=10.0):\n"
            "    return orders.filter(orders.amount > amount_cutoff)\n")
    params = [("orders", "ibis.Table", "The orders table", None),
              ("amount_cutoff", "float", "Minimum amount", "10.0")]
    for style in ("google", "numpy"):
        doc = render_docstring(style, "Orders above a cutoff.", params,
                               ("ibis.Table", "The big orders."))
        assert parse_docstring(doc, style)["params"] == ["orders", "amount_cutoff"]
        ok, why = check_documentation(code, doc, style, S)
        assert ok, why
        wrong = doc.replace("amount_cutoff", "cutoff")
        assert not check_documentation(code, wrong, style, S)[0]
    doc = render_docstring("google", "x.", params, ("ibis.Table", "y"))
    broken_body = code.replace("orders.amount", "orders.amont")
    assert not check_documentation(broken_body, doc, "google", S)[0]
    # the def is never executed: a body that is not Ibis fails the gate, not Python
    evil = "def f(orders):\n    return __import__('os').system('true')\n"
    ok, why = check_documentation(evil, "F.\n\nArgs:\n    orders (x): y.\n\nReturns:\n    z",
                                  "google", S)
    assert not ok


def test_qa_code_blocks_are_gated():
    good = _rec("qa", {"question": "How?"},
                {"answer": "Like this:\n\n```python\norders.filter(orders.amount > 1)\n```"})
    assert check_record(good)[0]
    bad = _rec("qa", {"question": "How?"},
               {"answer": "Like this:\n\n```python\norders.filter(orders.amont > 1)\n```"})
    assert not check_record(bad)[0]
    unterminated = _rec("qa", {"question": "How?"}, {"answer": "```python\norders"})
    assert not check_record(unterminated)[0]


def test_qa_from_the_installed_ibis():
    from datagen import qa

    entries = qa.api_entries()
    names = {e["qualname"] for e in entries}
    assert {"Table.group_by", "Table.join", "ibis.row_number"} <= names
    join = next(e for e in entries if e["qualname"] == "Table.join")
    assert "how" in {p["name"] for p in join["params"]}
    recs = qa.qa_from_api([join], random.Random(0))
    qs = [r["input"]["question"] for r in recs]
    assert any("`how`" in q for q in qs)
    assert all(check_record(r)[0] for r in recs)


def test_malformed_records_are_rejected():
    rec = _rec("sql_to_ibis", {"sql": SQL}, {"ibis": CODE})
    del rec["target"]["ibis"]
    ok, why = check_record(rec)
    assert not ok and "target.ibis" in why


def test_compiled_sql_is_deterministic_across_processes():
    """Column order is kept, and sqlglot use before compiling cannot change Ibis' MySQL SQL."""
    import subprocess
    import sys

    star = gate.compile_code("t.mutate(c=_.a + 1)", {"t": {"b": "int64", "a": "int64"}})
    assert star.index('"b"') < star.index('"a"')
    prog = ("from datagen import gate\nimport sqlglot\n"
            "sqlglot.transpile('SELECT LENGTH(s) FROM t', read='duckdb', write='mysql')\n"
            "print(gate.compile_code(\"t.agg(n=_.s.length().mean())\", {'t': {'s': 'string'}},"
            " 'mysql'))\n")
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                         timeout=120)
    here = gate.compile_code("t.agg(n=_.s.length().mean())", {"t": {"s": "string"}}, "mysql")
    assert out.stdout.strip() == here.strip(), out.stderr[-500:]


def test_set_ordered_sql_is_not_used_as_a_target():
    wide = {"w": {f"c{i}": "int64" for i in range(10)}}
    item = {"ibis": "w.drop('c1', 'c2')", "schemas": wide, "template": "t",
            "dialects": ["bigquery"]}
    assert multitask.build_ibis_to_sql(item) == []  # EXCEPT (`status`, `amount`) in set order
    one = multitask.build_ibis_to_sql({**item, "ibis": "w.drop('c1')"})
    assert len(one) == 1 and "EXCEPT (`c1`)" in one[0]["target"]["sql"]
