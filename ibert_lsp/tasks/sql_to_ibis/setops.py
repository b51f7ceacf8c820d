"""UNION / INTERSECT / EXCEPT: the right side is renamed (and cast) to the left's columns."""

from __future__ import annotations

from sqlglot import exp

from ibert_lsp.tasks.codebuild import dict_lit, short

from .code import V, call_text, is_ident, method, pystr
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
        # new name -> old name: keywords when every new name is plain, else one dict
        if all(is_ident(ln) for ln in pairs):
            text = call_text((), {ln: rn for ln, rn in pairs.items()})
        else:
            text = dict_lit((ln, pystr(rn)) for ln, rn in pairs.items())
        return right.then(f"{right.text}.rename({text})", right.value.rename(pairs))
    parts, vals = [], []
    for (ln, lt), (rn, rt) in zip(ls.items(), rs.items()):
        ref = right.ref(rn)
        cur, val = ref, ref.value
        if lt != rt:
            common = lt if rt.castable(lt) else None
            if common is None:
                raise Unsupported(f"set operation columns {short(ln)} and {short(rn)} have types "
                                  f"{lt} and {rt}")
            cur = method(ref, "cast", str(lt))
            val = cur.value
        parts.append((ln, rn, cur))
        vals.append(val.name(ln))
    if all(is_ident(ln) for ln, _, _ in parts):  # `a=_.a.cast("float64"), b=_.c`
        text = call_text((), {ln: cur for ln, _, cur in parts})
    else:  # an output name that is not a plain name is data: `.name("x y")` takes any string
        text = ", ".join(pystr(ln) if ln == rn and cur.text == right.ref(rn).text
                         else method(cur, "name", ln).text for ln, rn, cur in parts)
    return right.then(f"{right.text}.select({text})", right.value.select(*vals))


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
