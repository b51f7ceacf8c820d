"""SQL vs Ibis on synthetic data: right pairs pass, subtly wrong pairs are caught, runaway
queries time out instead of hanging."""

from __future__ import annotations

import math
import time

import pandas as pd
import pyarrow as pa
import pytest

from ibert_lsp.validate.compare import compare_frames
from ibert_lsp.validate.equivalence import check_ibis_vs_ibis, check_sql_vs_ibis, run_sql

SCHEMAS = {
    "orders": {"order_id": "int64", "customer_id": "int64", "amount": "float64",
               "status": "string", "price": "decimal(12, 2)"},
    "customers": {"customer_id": "int64", "name": "string", "region": "string"},
}

SAME = [
    ("SELECT order_id FROM orders WHERE amount > 100",
     "orders.filter(orders.amount > 100).select('order_id')"),
    ("SELECT DISTINCT status FROM orders", "orders.select('status').distinct()"),
    ("SELECT status, SUM(amount) AS total FROM orders GROUP BY status HAVING SUM(amount) > 500",
     "orders.group_by('status').agg(total=_.amount.sum()).filter(_.total > 500)"),
    ("SELECT c.name, o.amount FROM orders o JOIN customers c ON o.customer_id = c.customer_id",
     "orders.join(customers, 'customer_id').select('name', 'amount')"),
    ("SELECT status, COUNT(DISTINCT customer_id) AS n FROM orders GROUP BY status",
     "orders.group_by('status').agg(n=_.customer_id.nunique())"),
    ("SELECT customer_id, AVG(amount) AS a FROM orders GROUP BY customer_id",
     "orders.group_by('customer_id').agg(a=_.amount.sum() / _.amount.count())"),
    ("SELECT SUM(price) AS p FROM orders", "orders.aggregate(p=orders.price.sum().cast('float64'))"),
    ("SELECT order_id, amount FROM orders ORDER BY amount DESC NULLS LAST LIMIT 5",
     "orders.select('order_id', 'amount').order_by(ibis.desc('amount')).limit(5)"),
    ("SELECT customer_id FROM orders ORDER BY customer_id",  # ties: many equal keys
     "orders.select('customer_id').order_by('customer_id')"),
]

DIFFERENT = [
    ("SELECT order_id FROM orders WHERE amount > 100",
     "orders.filter(orders.amount >= 100).select('order_id')", "row counts differ"),
    ("SELECT DISTINCT status FROM orders", "orders.select('status')", "row counts differ"),
    ("SELECT status, SUM(amount) AS total FROM orders GROUP BY status HAVING SUM(amount) > 500",
     "orders.group_by('status').agg(total=_.amount.sum())", "row counts differ"),
    ("SELECT status, COUNT(DISTINCT customer_id) AS n FROM orders GROUP BY status",
     "orders.group_by('status').agg(n=_.customer_id.count())", "different rows"),
    ("SELECT c.name, o.amount FROM orders o LEFT JOIN customers c ON o.customer_id = c.customer_id",
     "orders.join(customers, 'customer_id').select('name', 'amount')", "row counts differ"),
    ("SELECT order_id, amount FROM orders ORDER BY amount DESC NULLS LAST LIMIT 5",
     "orders.select('order_id', 'amount').order_by('amount').limit(5)", "different rows"),
    ("SELECT order_id, amount FROM orders ORDER BY amount DESC NULLS LAST",
     "orders.select('order_id', 'amount').order_by('amount')", "order differs"),
    ("SELECT order_id, amount FROM orders", "orders.select('order_id')", "column counts differ"),
]


@pytest.mark.parametrize("sql,code", SAME, ids=[f"same{i}" for i in range(len(SAME))])
def test_equivalent_pairs_pass(sql, code):
    v = check_sql_vs_ibis(sql, code, SCHEMAS)
    assert v.ok, (v.reason, v.checks)
    assert v.checks["nonempty_runs"] >= 1 and v.checks["nonempty"] is True
    assert len(v.checks["seeds"]) == 3


@pytest.mark.parametrize("sql,code,why", DIFFERENT, ids=[f"diff{i}" for i in range(len(DIFFERENT))])
def test_subtly_wrong_pairs_are_caught(sql, code, why):
    v = check_sql_vs_ibis(sql, code, SCHEMAS)
    assert not v.ok
    assert v.checks["kind"] == "mismatch" and why in v.reason, v.reason


def test_order_ignored_without_top_level_order_by():
    v = check_sql_vs_ibis("SELECT order_id FROM orders",
                          "orders.select('order_id').order_by(ibis.desc('order_id'))", SCHEMAS)
    assert v.ok and v.checks["ordered"] is False


def test_names_may_differ_but_are_recorded():
    v = check_sql_vs_ibis("SELECT amount AS a FROM orders", "orders.select('amount')", SCHEMAS)
    assert v.ok and v.checks["names_match"] is False


def test_other_dialect_is_transpiled():
    v = check_sql_vs_ibis("SELECT TOP 3 order_id FROM orders ORDER BY order_id DESC",
                          "orders.select('order_id').order_by(ibis.desc('order_id')).limit(3)",
                          SCHEMAS, dialect="tsql")
    assert v.ok, v.reason
    assert "LIMIT" in v.checks["duckdb_sql"]


def test_empty_results_are_flagged_weak():
    v = check_sql_vs_ibis("SELECT order_id FROM orders WHERE 1 = 0",
                          "orders.filter(ibis.literal(False)).select('order_id')", SCHEMAS)
    assert v.ok and v.checks["nonempty_runs"] == 0 and v.checks["nonempty"] is False
    assert "weak" in v.reason


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM range(100000000000) a, range(100000000) b",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
])
def test_runaway_sql_is_stopped(sql):
    t0 = time.perf_counter()
    v = check_sql_vs_ibis(sql, "orders.count()", SCHEMAS, timeout_s=0.5)
    assert time.perf_counter() - t0 < 5
    # stopped by the timer, or by the sandbox's memory limit (it never spills to disk)
    assert not v.ok and v.checks["kind"] in ("timeout", "limit"), v.reason
    # the sandbox is replaced and keeps working
    assert check_sql_vs_ibis("SELECT COUNT(*) FROM orders", "orders.count()", SCHEMAS).ok


@pytest.mark.parametrize("sql,kind", [
    ("SELECT * FROM read_csv('/etc/passwd')", "execution"),
    ("COPY orders TO '/tmp/ibert_gate_leak.csv'", "forbidden"),
    ("SELECT 1; DROP TABLE orders", "forbidden"),
    ("ATTACH '/tmp/x.db' AS x", "forbidden"),
    ("SELECT FROM WHERE", "syntax"),
])
def test_hostile_or_broken_sql(sql, kind):
    v = check_sql_vs_ibis(sql, "orders.count()", SCHEMAS)
    assert not v.ok and v.checks["kind"] == kind, (v.reason, v.checks)


def test_gate_errors_in_ibis_code_pass_through():
    v = check_sql_vs_ibis("SELECT amount FROM orders", "orders.select('amout')", SCHEMAS)
    assert not v.ok and v.checks["kind"] == "attribute"
    assert v.checks["error"]["suggestions"][0] == "amount"
    v = check_sql_vs_ibis("SELECT 1", "orders.execute()", SCHEMAS)
    assert not v.ok and v.checks["kind"] == "forbidden"


def test_ibis_vs_ibis():
    assert check_ibis_vs_ibis("orders.filter(orders.amount > 10)",
                              "orders.filter(_.amount > 10)", SCHEMAS).ok
    v = check_ibis_vs_ibis("orders.filter(orders.amount > 10)",
                           "orders.filter(_.amount > 10.5)", SCHEMAS)
    assert not v.ok and v.checks["kind"] == "mismatch"


def test_null_spellings_compare_equal():
    a = pa.table({"x": [1.0, None, float("nan")], "y": ["a", None, "b"]})
    b = pd.DataFrame({"x": [pd.NA, 1, None], "y": [None, "a", "b"]}, dtype=object)
    assert compare_frames(a, b) is None
    c = pd.DataFrame({"x": [1.0, 2.0, None], "y": ["a", None, "b"]})
    assert compare_frames(a, c) is not None


def test_float_tolerance_and_numeric_spellings():
    from decimal import Decimal

    a = pa.table({"v": [0.1 + 0.2, 3.0]})
    b = [(Decimal("0.3"),), (3,)]
    assert compare_frames(a, b) is None
    assert compare_frames(a, [(0.3001,), (3,)]) is not None
    assert compare_frames(a, b, ordered=True) is None
    assert compare_frames(a, list(reversed(b)), ordered=True) is not None
    assert not math.isnan(0.0)


def test_run_sql_uses_the_sandbox():
    table = run_sql(None, "SELECT 42 AS x", timeout_s=2.0)
    assert table.to_pylist() == [{"x": 42}]


def test_select_star_keeps_schema_column_order():
    v = check_sql_vs_ibis("SELECT * FROM customers", "customers", SCHEMAS)
    assert v.ok and v.checks["columns"]["sql"] == ["customer_id", "name", "region"]


def test_runaway_ibis_side_times_out():
    code = "x = orders.select(a0='order_id')\n" + "".join(
        f"x = x.cross_join(orders.select(a{i}='order_id'))\n" for i in range(1, 7)) + "x.count()"
    t0 = time.perf_counter()
    v = check_sql_vs_ibis("SELECT COUNT(*) FROM orders", code, SCHEMAS, timeout_s=0.5)
    assert time.perf_counter() - t0 < 6
    assert not v.ok and v.checks["kind"] == "timeout" and "Ibis" in v.reason


def test_huge_results_are_refused_not_compared():
    v = check_sql_vs_ibis("SELECT a.order_id FROM orders a, orders b, orders c", "orders",
                          SCHEMAS)
    assert not v.ok and v.checks["kind"] == "limit"


ORDERED = [
    # sort key not in the output: fetched as a hidden column, ties tolerated
    ("SELECT name FROM customers ORDER BY customer_id",
     "customers.order_by('customer_id').select('name')", True),
    ("SELECT name FROM customers ORDER BY customer_id DESC",
     "customers.order_by('customer_id').select('name')", False),
    ("SELECT status FROM orders GROUP BY status ORDER BY SUM(amount) DESC",
     "orders.group_by('status').agg(t=_.amount.sum()).order_by(ibis.desc('t')).select('status')",
     True),
    ("SELECT status FROM orders GROUP BY status ORDER BY SUM(amount)",
     "orders.group_by('status').agg(t=_.amount.sum()).order_by(ibis.desc('t')).select('status')",
     False),
    # LIMIT through a tie run: any of the tied rows may be kept
    ("SELECT name FROM customers ORDER BY customer_id LIMIT 3",
     "customers.order_by('customer_id').select('name').limit(3)", True),
    ("SELECT name, customer_id FROM customers ORDER BY 2 DESC",
     "customers.select('name', 'customer_id').order_by(ibis.desc('customer_id'))", True),
    ("SELECT o.order_id FROM orders o ORDER BY o.amount DESC NULLS LAST, o.order_id",
     "orders.order_by([ibis.desc('amount'), 'order_id']).select('order_id')", True),
]


@pytest.mark.parametrize("sql,code,same", ORDERED, ids=[f"ord{i}" for i in range(len(ORDERED))])
def test_order_with_ties_and_hidden_keys(sql, code, same):
    v = check_sql_vs_ibis(sql, code, SCHEMAS)
    assert v.ok is same, v.reason
    if not same:
        assert "order differs" in v.reason


def test_tie_runs_allow_permutation_only_within_ties():
    from ibert_lsp.validate.compare import compare_rows

    a = [(1.0, "x"), (1.0, "y"), (2.0, "z")]
    assert compare_rows(a, [a[1], a[0], a[2]], ordered=True, keys_a=[(1.0,), (1.0,), (2.0,)]) is None
    assert compare_rows(a, [a[2], a[0], a[1]], ordered=True, keys_a=[(1.0,), (1.0,), (2.0,)])
    # under LIMIT the last tie run may hold other rows
    assert compare_rows(a, [a[0], a[1], (2.0, "w")], ordered=True,
                        keys_a=[(1.0,), (1.0,), (2.0,)], limited=True) is None


def test_concurrent_checks_use_separate_sandboxes():
    from concurrent.futures import ThreadPoolExecutor

    pairs = [SAME[0], SAME[2], DIFFERENT[0], DIFFERENT[1]] * 2
    with ThreadPoolExecutor(max_workers=3) as pool:
        verdicts = list(pool.map(lambda p: check_sql_vs_ibis(p[0], p[1], SCHEMAS), pairs))
    assert [v.ok for v in verdicts] == [True, True, False, False] * 2
