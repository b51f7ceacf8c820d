"""Subqueries inside expressions: IN (SELECT ..), EXISTS, scalar (SELECT ..)."""

from __future__ import annotations

from sqlglot import exp

from .code import V, attr, binop, lit, method
from .context import Rel, Scope
from .errors import Unsupported
from .expressions import expr_v, handles, translate


def _select_of(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Subquery):
        node = node.this
    return node


def _only_column(rel: Rel) -> V:
    names = rel.names
    if len(names) != 1:
        raise Unsupported("subquery must return exactly one column")
    return attr(V(rel.text, rel.value), names[0])


def in_subquery(node: exp.In, scope: Scope) -> V:
    from .query import query

    scope.ctx.feature("in_subquery")
    select = _select_of(node.args["query"])
    taken = _taken(scope)
    if _plain_column(select):
        from .select import source_rel

        rel, inner, hint = source_rel(select, scope, scope.ctx, taken)
        item = select.expressions[0]
        inner.rel = _inline(rel, item, scope, hint)  # `t.filter(..).col`
        col = translate(item.this if isinstance(item, exp.Alias) else item, inner)
    else:
        col = _only_column(query(select, scope, scope.ctx, taken))
    return method(expr_v(node.this, scope), "isin", col)


def _inline(rel: Rel, item: exp.Expression, scope: Scope, hint: str) -> Rel:
    """Refer to the subquery's rows through its chain text when it is used once (`t.filter(..)
    .x.mean()`); a chain used twice would build two different relations, so name it first."""
    if rel.named:
        return rel
    uses = sum(1 for _ in item.find_all(exp.Column)) + sum(1 for _ in item.find_all(exp.Star))
    if uses > 1 or isinstance(item, exp.Count):
        return scope.ctx.assign(f"{hint}_sub" if hint != "joined" else "sub", rel)
    return Rel(rel.text, rel.value, rel.cols, named=True)


def _plain_column(select: exp.Expression) -> bool:
    """SELECT <one non-aggregate expression> FROM .. WHERE ..: `rel.col` says it all."""
    from .select import find_aggregates, has_window

    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return False
    if any(select.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "order", "with_")):
        return False
    item = select.expressions[0]
    return not find_aggregates(item) and not has_window(item)


def _simple(select: exp.Expression) -> bool:
    """One table, WHERE only: EXISTS can be written as `(condition).any()`."""
    if not isinstance(select, exp.Select) or select.args.get("joins") or not select.args.get("where"):
        return False
    if any(select.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "order", "with_")):
        return False
    return isinstance(select.args["from_"].this, exp.Table)


@handles(exp.Exists)
def exists(node: exp.Exists, scope: Scope) -> V:
    from .query import query
    from .relations import table_source

    scope.ctx.feature("exists")
    select = _select_of(node.this)
    if _simple(select):
        taken = _taken(scope)
        rel = table_source(select.args["from_"].this, scope.ctx, taken)
        inner = Scope(scope.ctx, rel, outer=scope, taken=taken)
        cond = translate(select.args["where"].this, inner)
        if not any(True for _ in node.find_all(exp.Subquery)) and _refs_inner(cond, rel):
            return method(cond, "any")
    rel = query(select, scope, scope.ctx, _taken(scope))
    return binop(method(V(rel.text, rel.value), "count"), ">", lit(0))


def _refs_inner(cond: V, rel: Rel) -> bool:
    """`.any()` turns into EXISTS only when the condition touches the inner table."""
    import ibis.expr.operations as ops

    return any(isinstance(o, ops.Field) and o.rel == rel.value.op() for o in cond.value.op().find(ops.Field))


def _taken(scope: Scope) -> set[str]:
    """Tables in use by the enclosing scopes (their second use needs a view)."""
    return scope.all_taken()


def _scalar_aggregate(select: exp.Expression) -> bool:
    """SELECT <one aggregate expression> FROM .. WHERE ..: writable as a plain reduction."""
    from .select import find_aggregates, has_window, only_inside_aggregates

    if not isinstance(select, exp.Select) or len(select.expressions) != 1:
        return False
    if any(select.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "order", "with_")):
        return False
    item = select.expressions[0]
    item = item.this if isinstance(item, exp.Alias) else item
    return bool(find_aggregates(item)) and only_inside_aggregates(item) and not has_window(item)


@handles(exp.Subquery)
def scalar_subquery(node: exp.Subquery, scope: Scope) -> V:
    """(SELECT agg(..) FROM .. WHERE ..) -> the reduction itself; otherwise `.as_scalar()`."""
    from .query import query

    scope.ctx.feature("scalar_subquery")
    select = _select_of(node)
    if _scalar_aggregate(select):
        from .select import source_rel

        taken = _taken(scope)
        rel, inner, hint = source_rel(select, scope, scope.ctx, taken)
        item = select.expressions[0]
        inner.rel = _inline(rel, item, scope, hint)  # refs spelled through the chain
        return translate(item.this if isinstance(item, exp.Alias) else item, inner)
    rel = query(select, scope, scope.ctx, _taken(scope))
    col = _only_column(rel)
    return method(col, "as_scalar")


__all__ = ["exists", "in_subquery", "scalar_subquery"]
