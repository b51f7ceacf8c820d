"""Aggregate functions -> Ibis reductions; `FILTER (WHERE c)` becomes `where=c`."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from .code import V, method
from .context import Scope
from .errors import Unsupported
from .expressions import expr_v, handles, translate

AggFn = Callable[[exp.Expression, Scope, dict], V]
AGGREGATES: dict[type, AggFn] = {}


def aggregate(*types: type) -> Callable[[AggFn], AggFn]:
    """Register an aggregate translator, usable bare or under FILTER."""

    def deco(fn: AggFn) -> AggFn:
        for t in types:
            AGGREGATES[t] = fn
            handles(t)(lambda node, scope, _fn=fn: _fn(node, scope, {}))
        return fn

    return deco


def is_aggregate(node: exp.Expression) -> bool:
    return type(node) in AGGREGATES or (isinstance(node, exp.Filter) and type(node.this) in AGGREGATES)


def table_ref(scope: Scope) -> V:
    """The relation a COUNT(*) counts: the table itself while named, else `_`."""
    rel = scope.rel
    if rel is None:
        raise Unsupported("COUNT(*) without a FROM clause")
    return V(rel.text if rel.named else "_", rel.value)


def _distinct_arg(node: exp.Expression) -> tuple[exp.Expression, bool]:
    arg = node.this
    if isinstance(arg, exp.Distinct):
        if len(arg.expressions) != 1:
            raise Unsupported("aggregate over DISTINCT of several columns")
        return arg.expressions[0], True
    return arg, False


@aggregate(exp.Count)
def count(node: exp.Count, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    arg, distinct = _distinct_arg(node)
    if isinstance(arg, exp.Star) or arg is None or (
            isinstance(arg, (exp.Literal, exp.Boolean)) and not distinct):  # COUNT(1) = COUNT(*)
        return method(table_ref(scope), "count", **kw)
    if distinct:
        scope.ctx.feature("count_distinct")
        return method(expr_v(arg, scope), "nunique", **kw)
    return method(expr_v(arg, scope), "count", **kw)


_SIMPLE = {
    exp.Sum: "sum", exp.Avg: "mean", exp.Min: "min", exp.Max: "max", exp.Median: "median",
    exp.ApproxDistinct: "approx_nunique", exp.LogicalAnd: "all", exp.LogicalOr: "any",
    exp.AnyValue: "arbitrary", exp.Mode: "mode",
}


def _simple(name: str) -> AggFn:
    def fn(node: exp.Expression, scope: Scope, kw: dict) -> V:
        scope.ctx.feature("aggregate")
        arg, distinct = _distinct_arg(node)
        if distinct and name not in ("sum", "mean", "min", "max"):
            raise Unsupported(f"{name} over DISTINCT is not supported")
        if distinct and name in ("min", "max"):
            distinct = False
        if distinct:
            kw = {**kw, "distinct": True}
        return method(expr_v(arg, scope), name, **kw)

    return fn


for _node, _name in _SIMPLE.items():
    aggregate(_node)(_simple(_name))


@aggregate(exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance, exp.VariancePop)
def spread(node: exp.Expression, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    name = "var" if isinstance(node, (exp.Variance, exp.VariancePop)) else "std"
    how = "pop" if isinstance(node, (exp.StddevPop, exp.VariancePop)) else "sample"
    return method(expr_v(node.this, scope), name, how=how, **kw)


@aggregate(exp.CountIf)
def count_if(node: exp.CountIf, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    cond = translate(node.this, scope)
    if kw:
        raise Unsupported("COUNT_IF with FILTER is not supported")
    return method(table_ref(scope), "count", where=cond)


@aggregate(exp.GroupConcat)
def group_concat(node: exp.GroupConcat, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    sep = node.args.get("separator")
    arg = node.this
    if isinstance(arg, (exp.Order, exp.Distinct)):
        raise Unsupported("STRING_AGG with ORDER BY/DISTINCT is not supported")
    args = [translate(sep, scope)] if sep is not None else []
    return method(expr_v(arg, scope), "group_concat", *args, **kw)


@aggregate(exp.ArgMax, exp.ArgMin)
def arg_max_min(node: exp.Expression, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    name = "argmax" if isinstance(node, exp.ArgMax) else "argmin"
    return method(expr_v(node.this, scope), name, expr_v(node.expression, scope), **kw)


@aggregate(exp.Quantile, exp.PercentileCont)
def quantile(node: exp.Expression, scope: Scope, kw: dict) -> V:
    scope.ctx.feature("aggregate")
    q = translate(node.expression if node.expression is not None else node.args.get("quantile"), scope)
    if not q.literal:
        raise Unsupported("quantile must be a constant")
    return method(expr_v(node.this, scope), "quantile", q, **kw)


@handles(exp.Filter)
def agg_filter(node: exp.Filter, scope: Scope) -> V:
    """AGG(x) FILTER (WHERE c) -> x.agg(where=c)."""
    fn = AGGREGATES.get(type(node.this))
    if fn is None:
        raise Unsupported("FILTER on a non-aggregate")
    scope.ctx.feature("aggregate_filter")
    where = node.expression
    cond = where.this if isinstance(where, exp.Where) else where
    return fn(node.this, scope, {"where": translate(cond, scope)})
