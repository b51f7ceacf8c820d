"""UNION / INTERSECT / EXCEPT: the right side is renamed (and cast) to the left's columns."""

from __future__ import annotations

from sqlglot import exp

from .code import V, call_text, is_ident, pystr
from .context import Ctx, Rel, Scope
from .errors import Unsupported
from .select import limit_clause, order_clause


def _align(left: Rel, right: Rel) -> Rel:
    """Make the right side's column names and types those of the left, as SQL does."""
    ls, rs = left.value.schema(), right.value.schema()
    if len(ls) != len(rs):
        raise Unsupported("set operation sides have different numbers of columns")
    if ls == rs:
        return right
    if list(ls.types) == list(rs.types):  # only the names differ: rename
        pairs = {ln: rn for ln, rn in zip(ls.names, rs.names) if ln != rn}
        text = ", ".join(f"{ln}={pystr(rn)}" if is_ident(ln) else f"{pystr(ln)}: {pystr(rn)}"
                         for ln, rn in pairs.items())
        if not all(is_ident(ln) for ln in pairs):
            text = "{" + text + "}"
        return right.then(f"{right.text}.rename({text})", right.value.rename(pairs))
    parts, vals = [], {}
    for (ln, lt), (rn, rt) in zip(ls.items(), rs.items()):
        ref = right.ref(rn)
        text, val = ref.text, ref.value
        if lt != rt:
            common = lt if rt.castable(lt) else None
            if common is None:
                raise Unsupported(f"set operation columns {ln} and {rn} have types {lt} and {rt}")
            text, val = f"{text}.cast({str(lt)!r})", val.cast(lt)
        parts.append(f"{ln}={text}")
        vals[ln] = val
    return right.then(f"{right.text}.select({', '.join(parts)})", right.value.select(**vals))


def set_operation(node: exp.SetOperation, scope: Scope | None, ctx: Ctx, taken: set[str]) -> Rel:
    from .query import query

    if node.args.get("by_name") or node.args.get("side") or node.args.get("kind"):
        raise Unsupported("BY NAME / CORRESPONDING set operations are not supported")
    left = query(node.this, scope, ctx, taken)
    right = _align(left, query(node.expression, scope, ctx, taken))
    distinct = bool(node.args.get("distinct"))
    name = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "difference"}[type(node)]
    ctx.feature(name if name != "difference" else "except")
    default = name != "union"  # ibis: union keeps duplicates, intersect/difference do not
    kw = {} if distinct == default else {"distinct": V(repr(distinct), distinct)}
    value = getattr(left.value, name)(right.value, distinct=distinct)
    text = f"{left.text}.{name}({call_text((V(right.text, right.value),), kw)})"
    out = Rel(text, value, {"": dict(left.cols.get("", {}))})
    order = node.args.get("order")
    if order is not None:
        out = order_clause(out, order, Scope(ctx, out, outer=scope))
    out = limit_clause(out, node)
    return Rel(out.text, out.value, {"": dict(left.cols.get("", {}))})
