"""Query expressions: WITH, SELECT, set operations, parenthesized queries."""

from __future__ import annotations

from sqlglot import exp

from .context import Ctx, Rel, Scope
from .errors import Unsupported


def query(node: exp.Expression, scope: Scope | None, ctx: Ctx, taken: set[str] | None = None) -> Rel:
    """Translate any query node to a relation whose cols[""] maps SQL output names to columns."""
    if taken is None:
        taken = scope.all_taken() if scope is not None else set()
    taken = set(taken)
    with_ = node.args.get("with_") or node.args.get("with")
    if with_ is not None:
        ctes(with_, ctx)
    if isinstance(node, exp.Subquery):
        return query(node.this, scope, ctx, taken)
    if isinstance(node, exp.Select):
        from .select import select_query

        return select_query(node, scope, ctx, taken)
    if isinstance(node, exp.SetOperation):
        from .setops import set_operation

        return set_operation(node, scope, ctx, taken)
    raise Unsupported(f"{node.key.upper()} statements are not supported (only queries)")


def ctes(with_: exp.With, ctx: Ctx) -> None:
    """WITH name AS (...): each CTE becomes a variable assignment, in order."""
    if with_.args.get("recursive"):
        raise Unsupported("recursive CTEs are not supported")
    for cte in with_.expressions:
        ctx.feature("cte")
        rel = query(cte.this, None, ctx)
        named = ctx.assign(cte.alias_or_name, rel)
        ctx.ctes[cte.alias_or_name] = named
        ctx.cte_tables[cte.alias_or_name] = {t.name for t in cte.this.find_all(exp.Table)}
