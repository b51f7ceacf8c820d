"""When row order matters and which columns decide it: a top-level ORDER BY (or Ibis Sort).
Sort keys that are not output columns are fetched as hidden extra columns, so rows tied on the
key can be told apart from rows in the wrong order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HIDDEN = "__ibert_sort_key_"


@dataclass
class Order:
    """ordered: order matters; keys: output names / 1-based positions (None: not an output
    column); limited: LIMIT cuts the ordered result; hidden_sql: the query with its sort keys
    appended as `n_hidden` extra columns (None where that would change the query)."""

    ordered: bool = False
    keys: list[Any] = field(default_factory=list)
    limited: bool = False
    hidden_sql: str | None = None
    n_hidden: int = 0


def sql_order(sql: str) -> Order:
    """Order facts of a DuckDB query (parsed with sqlglot)."""
    from sqlglot import exp

    from ibert_lsp.validate.sqlutil import parse

    tree = parse(sql, "duckdb")[0]
    order = tree.args.get("order")
    if not order:
        return Order()
    keys: list[Any] = []
    for o in order.expressions:
        e = o.this
        if isinstance(e, exp.Column) and not e.table:
            keys.append(e.name)
        elif isinstance(e, exp.Literal) and not e.is_string:
            keys.append(int(e.this))
        else:
            keys.append(None)
    limited = tree.args.get("limit") is not None or tree.args.get("offset") is not None
    return Order(True, keys, limited, *_with_hidden_keys(tree, order.expressions))


def _with_hidden_keys(tree: Any, ordering: list[Any]) -> tuple[str | None, int]:
    """The query with each ORDER BY expression also selected, or (None, 0) when unsafe
    (DISTINCT would change, set operations, positional keys over `*`)."""
    from sqlglot import exp

    if not isinstance(tree, exp.Select) or tree.args.get("distinct"):
        return None, 0
    projections = tree.expressions
    extra = []
    for i, o in enumerate(ordering):
        e = o.this
        if isinstance(e, exp.Literal) and not e.is_string:
            k = int(e.this)
            if not 1 <= k <= len(projections) or isinstance(projections[k - 1], exp.Star):
                return None, 0
            e = projections[k - 1].unalias()
        extra.append(exp.alias_(e.copy(), f"{HIDDEN}{i}", quoted=True))
    aug = tree.copy()
    aug.set("expressions", [*[p.copy() for p in projections], *extra])
    return aug.sql("duckdb"), len(extra)


def expr_order(expr: Any) -> Order:
    """Order facts of an Ibis expression: a top-level Sort, possibly under a Limit."""
    import ibis.expr.operations as ops

    op = expr.op()
    limited = False
    if isinstance(op, ops.Limit):
        op, limited = op.parent, True
    if not isinstance(op, ops.Sort):
        return Order()
    keys = [k.arg.name if isinstance(k.arg, ops.Field) else None for k in op.keys]
    return Order(True, keys, limited)


def key_idx(keys: list[Any], names: list[str]) -> list[int] | None:
    """Positions of the sort keys among the output columns, or None if any is not one."""
    low = [n.lower() for n in names]
    idx: list[int] = []
    for k in keys:
        if isinstance(k, int) and 1 <= k <= len(names):
            idx.append(k - 1)
        elif isinstance(k, str) and low.count(k.lower()) == 1:
            idx.append(low.index(k.lower()))
        else:
            return None
    return idx
