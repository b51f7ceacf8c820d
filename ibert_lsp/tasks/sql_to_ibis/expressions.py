"""SQL scalar expressions -> Ibis: one small function per construct, found through HANDLERS.

A new construct is one function decorated with `@handles(exp.SomeNode)`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from .code import ATOM, V, as_expr, binop, func, invert, lit, method, negate
from .context import Scope
from .errors import Unsupported, readable

Handler = Callable[[exp.Expression, Scope], V]
HANDLERS: dict[type, Handler] = {}


def handles(*types: type) -> Callable[[Handler], Handler]:
    """Register a translator for one or more sqlglot node types."""

    def deco(fn: Handler) -> Handler:
        for t in types:
            HANDLERS[t] = fn
        return fn

    return deco


def translate(node: exp.Expression, scope: Scope) -> V:
    """Translate one SQL expression in a scope (substitutions first, then the handler)."""
    if scope.subst:
        hit = scope.subst.get(node.sql(dialect="duckdb"))
        if hit is not None:
            return hit
    handler = None
    for klass in type(node).__mro__:
        handler = HANDLERS.get(klass)
        if handler is not None:
            break
    if handler is None:
        if isinstance(node, exp.Anonymous):
            raise Unsupported(f"SQL function {str(node.name).upper()[:40]} is not supported yet")
        name = node.sql_name() if isinstance(node, exp.Func) else node.key.upper()
        raise Unsupported(f"SQL construct {name} is not supported yet")
    if node.args.get("negate") and not isinstance(node, _NEGATABLE):
        raise Unsupported(f"negated {node.key.upper()} is not supported")
    try:
        return handler(node, scope)
    except Unsupported:
        raise
    except Exception as exc:  # noqa: BLE001 - Ibis rejected what we built: abstain, say why
        raise Unsupported(f"{node.sql(dialect='duckdb')[:80]}: {readable(exc)}") from None


_NEGATABLE = (exp.Like, exp.ILike, exp.Is)


def expr_v(node: exp.Expression, scope: Scope) -> V:
    """Translate and make sure the result is an Ibis expression, not a bare Python literal."""
    return as_expr(translate(node, scope))


# --- columns and literals -------------------------------------------------------------------


@handles(exp.Column)
def column(node: exp.Column, scope: Scope) -> V:
    if not node.table:
        rel = scope.rel
        if rel is not None:
            owners = [a for a, cols in rel.cols.items() if node.name in cols]
            if len(owners) == 1:
                return scope.column(owners[0], node.name)
            if node.name in rel.names:
                return rel.ref(node.name)
        raise Unsupported(f"cannot resolve column {node.name}")
    return scope.column(node.table, node.name)


def number(text: str) -> int | float:
    """A SQL numeric literal as a Python number."""
    try:
        return int(text)
    except ValueError:
        return float(text)


@handles(exp.Literal)
def literal(node: exp.Literal, scope: Scope) -> V:
    if node.is_string:
        return lit(node.this)
    return lit(number(node.this))


@handles(exp.Null)
def null(node: exp.Null, scope: Scope) -> V:
    return V("None", None, ATOM, True)


@handles(exp.Boolean)
def boolean(node: exp.Boolean, scope: Scope) -> V:
    return lit(bool(node.this))


@handles(exp.Paren)
def paren(node: exp.Paren, scope: Scope) -> V:
    return translate(node.this, scope)


@handles(exp.Neg)
def neg(node: exp.Neg, scope: Scope) -> V:
    return negate(translate(node.this, scope))


# --- boolean logic and comparisons ----------------------------------------------------------


@handles(exp.Not)
def not_(node: exp.Not, scope: Scope) -> V:
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.In) and not inner.args.get("query"):
        return in_list(inner, scope, negated=True)
    if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
        return method(expr_v(inner.this, scope), "notnull")
    return invert(translate(inner, scope))


@handles(exp.And)
def and_(node: exp.And, scope: Scope) -> V:
    return binop(translate(node.this, scope), "&", translate(node.expression, scope))


@handles(exp.Or)
def or_(node: exp.Or, scope: Scope) -> V:
    return binop(translate(node.this, scope), "|", translate(node.expression, scope))


_CMP = {exp.EQ: "==", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}


@handles(*_CMP)
def comparison(node: exp.Binary, scope: Scope) -> V:
    return binop(translate(node.this, scope), _CMP[type(node)], translate(node.expression, scope))


@handles(exp.NullSafeEQ)
def null_safe_eq(node: exp.NullSafeEQ, scope: Scope) -> V:
    return method(expr_v(node.this, scope), "identical_to", translate(node.expression, scope))


@handles(exp.NullSafeNEQ)
def null_safe_neq(node: exp.NullSafeNEQ, scope: Scope) -> V:
    return invert(method(expr_v(node.this, scope), "identical_to", translate(node.expression, scope)))


@handles(exp.Is)
def is_(node: exp.Is, scope: Scope) -> V:
    if isinstance(node.expression, exp.Null):
        scope.ctx.feature("null_handling")
        return method(expr_v(node.this, scope), "notnull" if node.args.get("negate") else "isnull")
    if node.args.get("negate"):
        raise Unsupported("IS NOT with this right-hand side is not supported")
    if isinstance(node.expression, exp.Boolean):
        target = bool(node.expression.this)
        v = expr_v(node.this, scope)
        return method(v, "identical_to", lit(target))
    raise Unsupported("IS with this right-hand side is not supported")


@handles(exp.In)
def in_(node: exp.In, scope: Scope) -> V:
    if node.args.get("query") is not None:
        from .subqueries import in_subquery

        return in_subquery(node, scope)
    if node.args.get("unnest") or node.args.get("field"):
        raise Unsupported("IN UNNEST is not supported")
    return in_list(node, scope)


def in_list(node: exp.In, scope: Scope, negated: bool = False) -> V:
    if node.args.get("query") is not None:
        from .subqueries import in_subquery

        return invert(in_subquery(node, scope))
    values = [translate(e, scope) for e in node.expressions]
    scope.ctx.feature("in")
    return method(expr_v(node.this, scope), "notin" if negated else "isin", values)


@handles(exp.Between)
def between(node: exp.Between, scope: Scope) -> V:
    scope.ctx.feature("between")
    return method(
        expr_v(node.this, scope), "between",
        translate(node.args["low"], scope), translate(node.args["high"], scope),
    )


@handles(exp.Like)
def like(node: exp.Like, scope: Scope) -> V:
    scope.ctx.feature("like")
    v = method(expr_v(node.this, scope), "like", translate(node.expression, scope))
    return invert(v) if node.args.get("negate") else v


@handles(exp.ILike)
def ilike(node: exp.ILike, scope: Scope) -> V:
    scope.ctx.feature("like")
    v = method(expr_v(node.this, scope), "ilike", translate(node.expression, scope))
    return invert(v) if node.args.get("negate") else v


@handles(exp.Escape)
def escape(node: exp.Escape, scope: Scope) -> V:
    raise Unsupported("LIKE ... ESCAPE is not supported")


@handles(exp.RegexpLike)
def regexp_like(node: exp.RegexpLike, scope: Scope) -> V:
    return method(expr_v(node.this, scope), "re_search", translate(node.expression, scope))


# --- arithmetic -----------------------------------------------------------------------------

_ARITH = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%", exp.IntDiv: "//"}


def fold(a: V, op: str, b: V) -> V | None:
    """Fold arithmetic on two numeric literals exactly (SQL decimals are exact; floats are not)."""
    if not (a.literal and b.literal) or isinstance(a.value, (str, bool)) or isinstance(b.value, (str, bool)):
        return None
    if a.value is None or b.value is None or op in ("//", "%"):
        return None
    try:
        x, y = Decimal(a.text), Decimal(b.text)
    except InvalidOperation:
        return None
    if op == "/":  # DuckDB's `/` is floating-point division, also for integers
        return lit(float(x) / float(y)) if y != 0 else None
    r = {"+": x + y, "-": x - y, "*": x * y}[op]
    if isinstance(a.value, int) and isinstance(b.value, int):
        return lit(int(r))
    return lit(float(r))


@handles(*_ARITH)
def arithmetic(node: exp.Binary, scope: Scope) -> V:
    op = _ARITH[type(node)]
    a, b = translate(node.this, scope), translate(node.expression, scope)
    folded = fold(a, op, b)
    if folded is not None:
        return folded
    if isinstance(node, exp.Div) and (node.args.get("typed") or node.args.get("safe")):
        raise Unsupported("typed/safe integer division is not supported")
    return binop(a, op, b)


@handles(exp.Pow)
def power(node: exp.Pow, scope: Scope) -> V:
    return binop(expr_v(node.this, scope), "**", translate(node.expression, scope))


@handles(exp.DPipe)
def dpipe(node: exp.DPipe, scope: Scope) -> V:
    scope.ctx.feature("string")
    return method(expr_v(node.this, scope), "concat", translate(node.expression, scope))


# --- conditionals ---------------------------------------------------------------------------


@handles(exp.Case)
def case(node: exp.Case, scope: Scope) -> V:
    scope.ctx.feature("case")
    branches = [(translate(w.this, scope), translate(w.args["true"], scope)) for w in node.args["ifs"]]
    default = node.args.get("default")
    kwargs = {"else_": translate(default, scope)} if default is not None else {}
    branches = [tuple(as_expr(x) if x.literal and x.value is None else x for x in b) for b in branches]
    subject = node.this
    if subject is not None:
        return method(expr_v(subject, scope), "cases", *branches, **kwargs)
    return func("cases", *branches, **kwargs)


@handles(exp.If)
def if_(node: exp.If, scope: Scope) -> V:
    scope.ctx.feature("case")
    false = node.args.get("false")
    return func("ifelse", translate(node.this, scope), as_expr(translate(node.args["true"], scope)),
                translate(false, scope) if false is not None else V("None", None, ATOM, True))


@handles(exp.Coalesce)
def coalesce(node: exp.Coalesce, scope: Scope) -> V:
    scope.ctx.feature("coalesce")
    args = [translate(node.this, scope)] + [translate(e, scope) for e in node.expressions]
    return func("coalesce", *args)


@handles(exp.Nullif)
def nullif(node: exp.Nullif, scope: Scope) -> V:
    scope.ctx.feature("null_handling")
    return method(expr_v(node.this, scope), "nullif", translate(node.expression, scope))


# --- types ----------------------------------------------------------------------------------


def ibis_type(node: exp.DataType) -> str:
    """The Ibis type string for a SQL type, through Ibis' own DuckDB type mapper."""
    from ibis.backends.sql.datatypes import DuckDBType

    try:
        return str(DuckDBType.to_ibis(node))
    except Exception:  # noqa: BLE001 - any unmappable type
        raise Unsupported(f"type {node.sql('duckdb')} is not supported") from None


@handles(exp.Cast, exp.TryCast)
def cast(node: exp.Cast, scope: Scope) -> V:
    scope.ctx.feature("cast")
    to = node.args["to"]
    inner = node.this
    if isinstance(inner, exp.Literal) and inner.is_string and not isinstance(node, exp.TryCast):
        if to.this == exp.DataType.Type.DATE:
            scope.ctx.feature("date")
            return func("date", inner.this)
        if to.this == exp.DataType.Type.TIMESTAMP:
            scope.ctx.feature("date")
            return func("timestamp", inner.this)
    typ = ibis_type(to)
    v = expr_v(inner, scope)
    return method(v, "try_cast" if isinstance(node, exp.TryCast) else "cast", typ)


_UNITS = {
    "YEAR": ("years", 1), "YEARS": ("years", 1), "QUARTER": ("months", 3), "QUARTERS": ("months", 3),
    "MONTH": ("months", 1), "MONTHS": ("months", 1), "WEEK": ("weeks", 1), "WEEKS": ("weeks", 1),
    "DAY": ("days", 1), "DAYS": ("days", 1), "HOUR": ("hours", 1), "HOURS": ("hours", 1),
    "MINUTE": ("minutes", 1), "MINUTES": ("minutes", 1), "SECOND": ("seconds", 1),
    "SECONDS": ("seconds", 1),
}


@handles(exp.Interval)
def interval(node: exp.Interval, scope: Scope) -> V:
    scope.ctx.feature("interval")
    unit = node.args.get("unit")
    amount = node.this
    text = amount.this if isinstance(amount, exp.Literal) else None
    unit_name = unit.name.upper() if unit is not None else None
    if text is not None and unit_name is None and " " in text.strip():
        text, unit_name = text.split()[0], text.split()[1].upper()
    if unit_name not in _UNITS:
        raise Unsupported(f"interval unit {unit_name} is not supported")
    kw, mult = _UNITS[unit_name]
    if text is not None:
        n = number(text)
        if not isinstance(n, int):
            raise Unsupported("fractional intervals are not supported")
        return func("interval", **{kw: lit(n * mult)})
    raise Unsupported("non-literal intervals are not supported")


def str_arg(node: exp.Expression | None, what: str) -> str:
    """A constant string argument (format, unit)."""
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, (exp.Var, exp.Column, exp.Identifier)):
        return node.name
    raise Unsupported(f"{what} must be a constant")


__all__ = ["HANDLERS", "expr_v", "handles", "translate"]

# Register the other construct families.
from . import aggregates, functions, subqueries, windows  # noqa: F401
