"""Does a piece of Ibis code compute what a SQL query (or other Ibis code) computes? Run both on
the same synthetic rows for a few seeds in a locked DuckDB and compare the results."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ibert_lsp.schema.types import Schemas, normalize_schemas
from ibert_lsp.validate.compare import compare_frames, compare_rows, rows_of
from ibert_lsp.validate.duck import Sandbox, check_query, sandbox
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.isolation import isolated
from ibert_lsp.validate.ordering import Order, expr_order, key_idx, sql_order
from ibert_lsp.validate.safe_eval import evaluate
from ibert_lsp.validate.synth import literals_from_code, literals_from_sql, synth_tables

__all__ = [
    "Verdict",
    "check_ibis_vs_ibis",
    "check_sql_vs_ibis",
    "compare_frames",
    "run_sql",
    "transpile",
]


MAX_SQL_CHARS = 100_000


@dataclass
class Verdict:
    """ok: all seeds agree; reason: why not (or "equivalent"); checks: what was measured."""

    ok: bool
    reason: str
    checks: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "checks": self.checks}


def run_sql(con: Any, sql: str, timeout_s: float = 5.0) -> Any:
    """Run one read-only query under a time limit; `con` is a Sandbox or None (this thread's)."""
    box = con if isinstance(con, Sandbox) else sandbox()
    return box.run_sql(sql, timeout_s)


@lru_cache(maxsize=64)
def _normalized(key: str) -> Schemas:
    return normalize_schemas(json.loads(key))


def _schemas(schemas: Schemas) -> Schemas:
    return _normalized(json.dumps(schemas))


def transpile(sql: str, dialect: str) -> str:
    """The query in DuckDB's dialect (sqlglot), or a GateError of kind syntax."""
    if dialect in ("duckdb", None, ""):
        return sql
    from ibert_lsp.validate import sqlutil

    try:
        out = sqlutil.transpile(sql, read=dialect, write="duckdb")
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GateError("syntax", f"SQL ({dialect}) does not parse: {msg}") from None
    if len(out) != 1:
        raise GateError("forbidden", f"expected exactly one SQL query, got {len(out)} statements")
    return out[0]


def _fail(kind: str, reason: str, checks: dict, error: GateError | None = None) -> Verdict:
    checks["kind"] = kind
    if error is not None:
        checks["error"] = error.to_dict()
    return Verdict(False, reason, checks)


def _run(box: Sandbox, side: Any, timeout_s: float) -> Any:
    return box.run_sql(side, timeout_s) if isinstance(side, str) else box.run_expr(side, timeout_s)


def _run_left(box: Sandbox, left: Any, order: Order, timeout_s: float
              ) -> tuple[Any, list[tuple], list[tuple] | None]:
    """Left side's table, rows, and hidden sort keys (when its ORDER BY keys are not outputs)."""
    if order.hidden_sql is not None:
        try:
            table = box.run_sql(order.hidden_sql, timeout_s)
        except GateError as exc:
            if exc.kind != "execution":
                raise
            order.hidden_sql = None  # e.g. an alias DuckDB will not reuse: plain order check
        else:
            n = table.num_columns - order.n_hidden
            rows = rows_of(table)
            return table.select(list(range(n))), [r[:n] for r in rows], [r[n:] for r in rows]
    table = _run(box, left, timeout_s)
    return table, rows_of(table), None


def _compare_runs(left: Any, right: Any, schemas: Schemas, literals: list[Any], order: Order,
                  seeds: tuple[int, ...], timeout_s: float, n_rows: int,
                  labels: tuple[str, str]) -> Verdict:
    """Shared loop: `left`/`right` are SQL strings or Ibis expressions."""
    checks: dict[str, Any] = {"seeds": [], "nonempty_runs": 0, "ordered": order.ordered}
    t0 = time.perf_counter()
    box = sandbox()
    for seed in seeds:
        try:
            box.load(schemas, synth_tables(schemas, literals, seed, n_rows))
            ra, rows_a, hidden = _run_left(box, left, order, timeout_s)
            rb = _run(box, right, timeout_s)
        except GateError as exc:
            box = sandbox()  # replaced if the run broke it
            checks["ms"] = round((time.perf_counter() - t0) * 1000, 2)
            return _fail(exc.kind, f"seed {seed}: {exc.message}", checks, exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a type synth cannot fill; never raise raw
            checks["ms"] = round((time.perf_counter() - t0) * 1000, 2)
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return _fail("execution", f"seed {seed}: {msg}", checks)
        names_a, names_b = list(ra.column_names), list(rb.column_names)
        checks["names_match"] = checks.get("names_match", True) and \
            [n.lower() for n in names_a] == [n.lower() for n in names_b]
        checks["columns"] = {labels[0]: names_a, labels[1]: names_b}
        rows_b = rows_of(rb)
        checks["nonempty_runs"] += bool(rows_a)
        reason: str | None
        if len(names_a) != len(names_b):
            reason = (f"column counts differ: {len(names_a)} ({labels[0]}) vs "
                      f"{len(names_b)} ({labels[1]})")
        else:
            reason = _compare(rows_a, rows_b, order, names_a, hidden, checks)
        checks["seeds"].append({"seed": seed, "rows": [len(rows_a), len(rows_b)],
                                "ok": reason is None})
        if reason is not None:
            checks["ms"] = round((time.perf_counter() - t0) * 1000, 2)
            checks["mismatch"] = {"seed": seed, "sample": {
                labels[0]: [list(r) for r in rows_a[:5]], labels[1]: [list(r) for r in rows_b[:5]]}}
            return _fail("mismatch", f"{labels[0]} and {labels[1]} differ on seed {seed}: {reason}",
                         checks)
    checks["nonempty"] = checks["nonempty_runs"] > 0
    checks["kind"] = None
    checks["ms"] = round((time.perf_counter() - t0) * 1000, 2)
    weak = "" if checks["nonempty"] else " (weak: every seed gave an empty result)"
    return Verdict(True, f"same results on {len(seeds)} seeds{weak}", checks)


def _compare(rows_a: list[tuple], rows_b: list[tuple], order: Order, names: list[str],
             hidden: list[tuple] | None, checks: dict[str, Any]) -> str | None:
    """Pick how order is judged: the ORDER BY expressions themselves (hidden columns), output
    key columns (set operations, DISTINCT), or the full sequence."""
    if not order.ordered:
        return compare_rows(rows_a, rows_b)
    if hidden is not None:
        checks["order_by"] = "hidden sort keys"
        return compare_rows(rows_a, rows_b, ordered=True, keys_a=hidden, limited=order.limited)
    idx = key_idx(order.keys, names)
    if idx is not None:
        checks["order_by"] = "output columns"
        return compare_rows(rows_a, rows_b, ordered=True,
                            keys_a=[tuple(r[k] for k in idx) for r in rows_a],
                            keys_b=[tuple(r[k] for k in idx) for r in rows_b],
                            limited=order.limited)
    checks["order_by"] = "full rows (ties not tolerated)"
    return compare_rows(rows_a, rows_b, ordered=True)


@isolated
def check_sql_vs_ibis(sql: str, ibis_code: str, schemas: Schemas, *, dialect: str = "duckdb",
                      seeds: tuple[int, ...] = (0, 1, 2), timeout_s: float = 5.0,
                      n_rows: int = 40) -> Verdict:
    """Same multiset of rows (same sequence when the SQL orders at the top level)."""
    checks: dict[str, Any] = {}
    try:
        if not isinstance(sql, str) or len(sql) > MAX_SQL_CHARS:
            raise GateError("limit", f"SQL must be text of at most {MAX_SQL_CHARS} characters")
        schemas = _schemas(schemas)
        duck_sql = transpile(sql, dialect)
        check_query(duck_sql)
        order = sql_order(duck_sql)
        expr = evaluate(ibis_code, schemas)
    except GateError as exc:
        return _fail(exc.kind, exc.message if exc.line is None else str(exc), checks, exc)
    except Exception as exc:  # noqa: BLE001 - e.g. SchemaError
        return _fail("execution", str(exc), checks)
    if dialect not in ("duckdb", None, ""):
        checks["duckdb_sql"] = duck_sql
    literals = literals_from_sql(duck_sql) + literals_from_code(ibis_code)
    verdict = _compare_runs(duck_sql, expr, schemas, literals, order, tuple(seeds), timeout_s,
                            n_rows, ("sql", "ibis"))
    verdict.checks.update(checks)
    return verdict


@isolated
def check_ibis_vs_ibis(code_a: str, code_b: str, schemas: Schemas, *,
                       seeds: tuple[int, ...] = (0, 1, 2), timeout_s: float = 5.0,
                       n_rows: int = 40) -> Verdict:
    """Same results for two Ibis snippets (ordered when the first sorts at the top level)."""
    try:
        schemas = _schemas(schemas)
        expr_a = evaluate(code_a, schemas)
        expr_b = evaluate(code_b, schemas)
    except GateError as exc:
        return _fail(exc.kind, str(exc), {}, exc)
    except Exception as exc:  # noqa: BLE001
        return _fail("execution", str(exc), {})
    literals = literals_from_code(code_a) + literals_from_code(code_b)
    return _compare_runs(expr_a, expr_b, schemas, literals, expr_order(expr_a), tuple(seeds),
                         timeout_s, n_rows, ("a", "b"))
