"""Window functions: `f(...) OVER (PARTITION BY .. ORDER BY .. frame)` -> `f.over(...)`.

Ibis' ranking functions are 0-based (SQL's are 1-based), and Ibis' default frame with an
ORDER BY is the whole partition while SQL's is RANGE UNBOUNDED PRECEDING .. CURRENT ROW, so
both are spelled out.
"""

from __future__ import annotations

from sqlglot import exp

from .code import V, binop, func, lit, method
from .context import Scope
from .errors import Unsupported
from .expressions import expr_v, handles, translate

_RANKING = {exp.RowNumber: "row_number", exp.Rank: "rank", exp.DenseRank: "dense_rank"}
_NO_FRAME = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile,
             exp.Lag, exp.Lead)


def sort_key(node: exp.Ordered | exp.Expression, scope: Scope) -> V:
    """One ORDER BY key: `x`, `x.desc()`, with explicit null placement when SQL asks for it."""
    if not isinstance(node, exp.Ordered):
        return expr_v(node, scope)
    v = expr_v(node.this, scope)
    desc = bool(node.args.get("desc"))
    nulls_first = node.args.get("nulls_first")
    if desc:
        return method(v, "desc", nulls_first=True) if nulls_first else method(v, "desc")
    return method(v, "asc", nulls_first=True) if nulls_first else v


def _bound(value: exp.Expression | str | None, side: str | None, scope: Scope) -> V:
    if value is None or (isinstance(value, str) and value.upper() == "UNBOUNDED"):
        return V("None", None, literal=True)
    if isinstance(value, str) and value.upper() == "CURRENT ROW":
        return lit(0)
    n = translate(value, scope)
    if not (n.literal and isinstance(n.value, int)):
        raise Unsupported("window frame bounds must be integer constants")
    return lit(-n.value if (side or "").upper() == "PRECEDING" else n.value)


def frame(spec: exp.WindowSpec | None, has_order: bool, fn: exp.Expression, scope: Scope) -> dict:
    """The frame as ibis.window keyword arguments."""
    if isinstance(fn, _NO_FRAME):
        return {}
    if spec is None:
        return {"range": (V("None", None, literal=True), lit(0))} if has_order else {}
    kind = (spec.args.get("kind") or "ROWS").lower()
    start = _bound(spec.args.get("start"), spec.args.get("start_side"), scope)
    end = _bound(spec.args.get("end"), spec.args.get("end_side"), scope)
    if spec.args.get("exclude"):
        raise Unsupported("window EXCLUDE is not supported")
    if kind not in ("rows", "range"):
        raise Unsupported(f"{kind.upper()} frames are not supported")
    return {kind: (start, end)}


def window_function(fn: exp.Expression, scope: Scope) -> V:
    """The function being windowed, before `.over`."""
    if type(fn) in _RANKING:
        return func(_RANKING[type(fn)])
    if isinstance(fn, exp.PercentRank):
        return func("percent_rank")
    if isinstance(fn, exp.CumeDist):
        return func("cume_dist")
    if isinstance(fn, exp.Ntile):
        return func("ntile", translate(fn.this, scope))
    if isinstance(fn, (exp.Lag, exp.Lead)):
        args = []
        offset, default = fn.args.get("offset"), fn.args.get("default")
        if offset is not None or default is not None:
            args.append(translate(offset, scope) if offset is not None else lit(1))
        if default is not None:
            args.append(translate(default, scope))
        return method(expr_v(fn.this, scope), "lag" if isinstance(fn, exp.Lag) else "lead", *args)
    if isinstance(fn, (exp.FirstValue, exp.LastValue)):
        return method(expr_v(fn.this, scope), "first" if isinstance(fn, exp.FirstValue) else "last")
    if isinstance(fn, exp.NthValue):
        n = translate(fn.args["offset"], scope)
        return method(expr_v(fn.this, scope), "nth", lit(n.value - 1))
    from .aggregates import is_aggregate

    if is_aggregate(fn):
        return translate(fn, scope)
    raise Unsupported(f"window function {fn.sql('duckdb')[:40]} is not supported")


@handles(exp.Window)
def window(node: exp.Window, scope: Scope) -> V:
    scope.ctx.feature("window")
    fn = node.this
    if isinstance(fn, (exp.IgnoreNulls, exp.RespectNulls)):
        raise Unsupported("IGNORE/RESPECT NULLS is not supported")
    if node.args.get("alias") is not None:
        raise Unsupported("named windows are not supported")
    base = window_function(fn, scope)
    kwargs: dict = {}
    partition = node.args.get("partition_by") or []
    if partition:
        keys = [expr_v(p, scope) for p in partition]
        kwargs["group_by"] = keys[0] if len(keys) == 1 else keys
    order = node.args.get("order")
    if order is not None:
        keys = [sort_key(o, scope) for o in order.expressions]
        kwargs["order_by"] = keys[0] if len(keys) == 1 else keys
    kwargs.update(frame(node.args.get("spec"), order is not None, fn, scope))
    if set(kwargs) - {"group_by", "order_by"}:
        over = method(base, "over", func("window", **kwargs))
    else:
        over = method(base, "over", **kwargs)
    if type(fn) in _RANKING or isinstance(fn, exp.Ntile):
        return binop(over, "+", lit(1))
    return over
