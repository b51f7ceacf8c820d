"""One SELECT: FROM/JOIN -> WHERE -> GROUP BY/HAVING -> projection -> DISTINCT -> ORDER BY -> LIMIT.

Each clause is a small function that takes the relation so far and returns the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp

from ibert_lsp.tasks.codebuild import kwarg, short

from .aggregates import is_aggregate
from .code import ATOM, V, as_expr, call_text, is_ident, lit, pystr
from .context import Ctx, Rel, Scope
from .errors import Unsupported, readable
from .expressions import translate
from .relations import conjuncts, deep_tables, from_clause
from .windows import sort_key


def key(node: exp.Expression) -> str:
    return node.sql(dialect="duckdb")


def correlated(node: exp.Expression) -> bool:
    """Does any subquery inside refer to a table it does not define itself?"""
    for sub in node.find_all(exp.Select):
        inner = {t.alias_or_name for t in sub.find_all(exp.Table)}
        inner |= {s.alias_or_name for s in sub.find_all(exp.Subquery) if s.alias_or_name}
        if any(c.table and c.table not in inner for c in sub.find_all(exp.Column)):
            return True
    return False


def find_aggregates(node: exp.Expression) -> list[exp.Expression]:
    """Aggregate calls in an expression, not looking into subqueries or under OVER."""
    if isinstance(node, (exp.Select, exp.Subquery, exp.Exists)):
        return []
    if is_aggregate(node) and not isinstance(node.parent, exp.Window):
        if isinstance(node.parent, exp.Filter) and node.parent.this is node:
            return []
        return [node]
    out: list[exp.Expression] = []
    for child in node.iter_expressions():
        out += find_aggregates(child)
    return out


def has_window(node: exp.Expression) -> bool:
    return any(True for w in node.find_all(exp.Window))


def only_inside_aggregates(node: exp.Expression) -> bool:
    """Every column reference sits inside an aggregate (so the whole thing is one metric)."""
    for col in node.find_all(exp.Column):
        p = col.parent
        while p is not None and p is not node and not is_aggregate(p):
            p = p.parent
        if p is None or (p is node and not is_aggregate(node)):
            return False
    return True


_AUTO = re.compile(r"^_col_\d+$")


def nice_name(e: exp.Expression, taken: set[str]) -> str:
    """A readable name for an unnamed select item (`sum_amount`, `count`, `upper_name`)."""
    while isinstance(e, exp.Paren):
        e = e.this
    base = "col"
    if isinstance(e, exp.Column):
        base = e.name
    elif isinstance(e, exp.Func):
        fn = e.sql_name().lower()
        if isinstance(e, exp.Count) and isinstance(e.this, exp.Distinct):
            fn = "count_distinct"
        cols = [c.name for c in e.find_all(exp.Column)]
        base = f"{fn}_{cols[0]}" if cols and not isinstance(e.this, exp.Star) else fn
    base = re.sub(r"\W+", "_", base).strip("_") or "col"
    if not is_ident(base):
        base = f"{base}_"
    name, i = base, 1
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def items(node: exp.Select) -> list[tuple[str, exp.Expression]]:
    """(output name, expression) for each select item; qualify aliased them all."""
    out: list[tuple[str, exp.Expression]] = []
    explicit = {e.alias for e in node.expressions if isinstance(e, exp.Alias) and not _AUTO.match(e.alias)}
    for e in node.expressions:
        if isinstance(e, exp.Alias) and _AUTO.match(e.alias):
            name = nice_name(e.this, explicit)
            explicit.add(name)
            out.append((name, e.this))
        elif isinstance(e, exp.Alias):
            out.append((e.alias, e.this))
        elif isinstance(e, exp.Column):
            out.append((e.name, e))
        elif isinstance(e, exp.Star):
            raise Unsupported("unexpanded *")
        else:
            out.append((e.alias_or_name or "col", e))
    return [(n, _unparen(e)) for n, e in out]


def _unparen(e: exp.Expression) -> exp.Expression:
    while isinstance(e, exp.Paren):
        e = e.this
    return e


def filter_(rel: Rel, preds: list[V]) -> Rel:
    preds = [as_expr(p) for p in preds]
    return rel.then(f"{rel.text}.filter({call_text(tuple(preds), {})})",
                    rel.value.filter(*[p.value for p in preds]))


def where_clause(rel: Rel, terms: list[exp.Expression], scope: Scope, hint: str) -> Rel:
    if not terms:
        return rel
    scope.ctx.feature("where")
    if not rel.named and any(correlated(t) for t in terms):
        rel = scope.ctx.assign(hint, rel)
    scope.rel = rel
    return filter_(rel, [translate(t, scope) for t in terms])


@dataclass
class Output:
    """The projected relation plus the SQL name of each output column."""

    rel: Rel
    names: list[tuple[str, str]] = field(default_factory=list)  # (sql name, column)


def unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            m = f"{n}_{seen[n]}"
            while m in seen:
                seen[n] += 1
                m = f"{n}_{seen[n]}"
            seen[m] = 1
            out.append(m)
        else:
            seen[n] = 1
            out.append(n)
    return out


def project(rel: Rel, cols: list[tuple[str, V]]) -> Rel:
    """`.select(...)`: plain columns as strings, computed ones as keywords (or `.name()`)."""
    names = [n for n, _ in cols]
    plain = [v.text == rel.ref(n).text if n in rel.names else False for n, v in cols]
    if names == rel.names and all(plain):
        return rel
    first_kw = next((i for i, p in enumerate(plain) if not p), len(plain))
    mixed = all(plain[:first_kw]) and not any(plain[first_kw:]) and all(
        is_ident(n) and n != "ibis" for n, _ in cols[first_kw:])
    parts, pos_vals, kw_vals = [], [], {}
    for (n, v), p in zip(cols, plain):
        v = as_expr(v)
        if p:
            parts.append(pystr(n))
            pos_vals.append(n)
        elif mixed:
            parts.append(kwarg(n, v.text))
            kw_vals[n] = v.value
        else:
            parts.append(f"{v.text}.name({pystr(n)})" if v.prec >= 14 else f"({v.text}).name({pystr(n)})")
            pos_vals.append(v.value.name(n))
    value = rel.value.select(*pos_vals, **kw_vals)
    return rel.then(f"{rel.text}.select({', '.join(parts)})", value, {"": {}})


def order_clause(rel: Rel, order: exp.Order, scope: Scope) -> Rel:
    scope.ctx.feature("order_by")
    keys = [sort_key(o, scope) for o in order.expressions]
    try:
        value = rel.value.order_by(*[k.value for k in keys])
    except Exception as exc:  # noqa: BLE001 - Ibis refused the keys here: abstain, say why
        raise Unsupported(f"{key(order)[:80]}: {readable(exc)}") from None
    return rel.then(f"{rel.text}.order_by({call_text(tuple(keys), {})})", value)


def limit_clause(rel: Rel, node: exp.Expression) -> Rel:
    limit, offset = node.args.get("limit"), node.args.get("offset")
    if limit is None and offset is None:
        return rel
    n = _const(limit.expression) if limit is not None else None
    m = _const(offset.expression) if offset is not None else None
    kw = {"offset": lit(m)} if m else {}
    args = (lit(n),)
    return rel.then(f"{rel.text}.limit({call_text(args, kw)})", rel.value.limit(n, offset=m or 0))


def _const(node: exp.Expression) -> int:
    if isinstance(node, exp.Literal) and not node.is_string:
        return int(node.this)
    raise Unsupported("LIMIT/OFFSET must be integer constants")


def output_scope(out: Rel, sel: list[tuple[str, exp.Expression]], names: list[str], ctx: Ctx,
                 outer: Scope | None, sql_names: list[str]) -> Scope:
    """A scope over the projected relation: select aliases and select expressions resolve."""
    cols = {n: c for n, c in zip(sql_names, names)}
    for (n, _), c in zip(sel, names):
        cols.setdefault(n, c)
    s = Scope(ctx, Rel(out.text, out.value, {"": cols}), outer=outer)
    s.taken = set()
    for (n, e), c in zip(sel, names):
        s.subst.setdefault(key(e), out.ref(c))
    return s


def source_rel(node: exp.Select, outer: Scope | None, ctx: Ctx, taken: set[str]) -> tuple[Rel, Scope, str]:
    """FROM/JOIN and WHERE: the rows a SELECT works on, and a scope over them."""
    if node.args.get("from_") is None:
        raise Unsupported("SELECT without FROM is not supported")
    where = conjuncts(node.args["where"].this) if node.args.get("where") else []
    rel = from_clause(node, outer, ctx, where, taken)
    scope = Scope(ctx, rel, outer=outer, taken=taken, deep=deep_tables(node, ctx))
    hint = next(iter(rel.cols)) if len(rel.cols) == 1 else "joined"
    rel = where_clause(rel, where, scope, hint)
    scope.rel = rel
    return rel, scope, hint


def hidden_aggregates(order: exp.Order, sel: list[tuple[str, exp.Expression]]) -> bool:
    """Does an ORDER BY key use an aggregate that no select item is? (`GROUP BY city ORDER BY
    count(*) DESC`): it must be ordered on the aggregated rows, before the projection drops it."""
    selected = {key(e) for _, e in sel}
    for o in order.expressions:
        term = _unparen(o.this if isinstance(o, exp.Ordered) else o)
        if key(term) in selected:
            continue
        if any(key(a) not in selected for a in find_aggregates(term)):
            return True
    return False


def _own_aliases(node: exp.Select) -> set[str]:
    """Table aliases this SELECT defines in its FROM/JOINs (a column of another is an outer one)."""
    from_ = node.args.get("from_")
    srcs = ([from_.this] if from_ is not None else []) + [j.this for j in node.args.get("joins") or []]
    return {s.alias_or_name for s in srcs}


def _outside(node: exp.Expression, stop: exp.Expression, keys: set[str]) -> bool:
    """Is `node` (a column) outside every aggregate, subquery, window and grouping key up to `stop`?"""
    p: exp.Expression | None = node
    while p is not None:
        if key(p) in keys or is_aggregate(p) or isinstance(p, (exp.Select, exp.Subquery, exp.Window)):
            return False
        if p is stop:
            return True
        p = p.parent
    return True


def ungrouped_columns(node: exp.Select, sel: list[tuple[str, exp.Expression]]) -> list[str]:
    """Columns selected or ordered by in a grouped SELECT that are neither grouped nor inside an
    aggregate. SQLite accepts them (a value from an arbitrary row of the group); DuckDB does not."""
    group = node.args.get("group")
    from .grouping import grouping_sets

    keys = {key(_unparen(g)) for g in (grouping_sets(group)[0] if group is not None else [])}
    own = _own_aliases(node)
    order = node.args.get("order")
    terms = [e for _, e in sel] + ([o.this for o in order.expressions] if order is not None else [])
    selected = {key(e) for _, e in sel}
    loose: list[str] = []
    for i, term in enumerate(terms):
        if i >= len(sel) and key(term) in selected:
            continue  # ORDER BY a select item
        for col in term.find_all(exp.Column):
            if col.table in own and _outside(col, term, keys) and col.name not in loose:
                loose.append(col.name)
    return loose


def ungrouped_reason(cols: list[str]) -> str:
    names = ", ".join(short(c) for c in cols)
    return (f"column {names} is neither grouped nor aggregated: SQLite takes it from an arbitrary row "
            "of each group and DuckDB rejects the query, so there is no single right translation "
            "(add it to GROUP BY or aggregate it, e.g. ANY_VALUE/MIN)")


def distinct_order_reason(order: exp.Order, sel: list[tuple[str, exp.Expression]]) -> str:
    """SELECT DISTINCT ... ORDER BY something not selected: name what is not selected."""
    selected = {key(e) for _, e in sel} | {n for n, _ in sel}
    missing: list[str] = []
    for o in order.expressions:
        term = _unparen(o.this if isinstance(o, exp.Ordered) else o)
        if key(term) in selected:
            continue
        for col in term.find_all(exp.Column):
            if key(col) not in selected and col.name not in selected and col.name not in missing:
                missing.append(col.name)
    names = ", ".join(short(c) for c in missing) or "an expression"
    return (f"SELECT DISTINCT ... ORDER BY {names}, which is not selected: SQLite and DuckDB order "
            "each distinct row by the value of an arbitrary one of its source rows, so there is no "
            "single right translation (select it too, or order by an aggregate of it)")


def _constant(e: exp.Expression) -> V | None:
    """A select item that is a plain constant (string, number, boolean, NULL), as a literal."""
    e = _unparen(e)
    if isinstance(e, exp.Neg):
        inner = _constant(e.this)
        return lit(-inner.value) if inner is not None and isinstance(inner.value, (int, float)) \
            and not isinstance(inner.value, bool) else None
    if isinstance(e, exp.Literal):
        from .expressions import number

        return lit(e.this) if e.is_string else lit(number(e.this))
    if isinstance(e, exp.Boolean):
        return lit(bool(e.this))
    if isinstance(e, exp.Null):
        return V("None", None, ATOM, True)
    return None


def constant_select(node: exp.Select, ctx: Ctx) -> Rel:
    """`SELECT 'n/a' AS label` (no FROM): one constant row, `ibis.memtable({"label": ["n/a"]})`."""
    import ibis

    from ibert_lsp.tasks.codebuild import dict_lit

    for arg in ("where", "group", "having", "order", "joins", "distinct", "limit", "offset"):
        if node.args.get(arg):
            raise Unsupported(f"SELECT without FROM with {arg.upper()} is not supported")
    sel = items(node)
    values = [_constant(e) for _, e in sel]
    if any(v is None for v in values):
        raise Unsupported("SELECT without FROM is supported only with constant values")
    names = unique_names([n for n, _ in sel])
    ctx.feature("constant_row")
    text = f"ibis.memtable({dict_lit((n, f'[{v.text}]') for n, v in zip(names, values))})"
    value = ibis.memtable({n: [v.value] for n, v in zip(names, values)})
    sql_names = [e.alias_or_name for e in node.expressions]
    return Rel(text, value, {"": dict(zip(sql_names, names))})


def select_query(node: exp.Select, outer: Scope | None, ctx: Ctx, taken: set[str]) -> Rel:
    """The whole SELECT pipeline."""
    ctx.feature("select")
    if node.args.get("from_") is None:
        return constant_select(node, ctx)
    for arg in ("qualify", "windows", "laterals", "pivots", "sample", "connect", "prewhere"):
        if node.args.get(arg):
            raise Unsupported(f"{arg.upper()} is not supported")
    rel, scope, hint = source_rel(node, outer, ctx, taken)
    sel = items(node)
    grouped = node.args.get("group") is not None or node.args.get("having") is not None or any(
        find_aggregates(e) for _, e in sel)
    if grouped:
        loose = ungrouped_columns(node, sel)
        if loose:
            raise Unsupported(ungrouped_reason(loose))
        if rel.named and not correlated(node.args.get("having") or exp.Null()):
            rel = Rel(rel.text, rel.value, rel.cols)  # metrics read through `_`, as Ibis docs do
            scope.rel = rel
        from .grouping import group_by_clause

        rel, scope = group_by_clause(node, rel, scope, outer)
    if any(correlated(e) for _, e in sel) and not rel.named:
        rel = ctx.assign(hint, rel)
        scope.rel = rel
    names = unique_names([n for n, _ in sel])
    cols = [(c, translate(e, scope)) for c, (_, e) in zip(names, sel)]
    order = node.args.get("order")
    distinct = node.args.get("distinct")
    if distinct is not None and distinct.args.get("on"):
        raise Unsupported("DISTINCT ON is not supported")
    sql_names = [e.alias_or_name for e in node.expressions]
    mapping = {"": dict(zip(sql_names, names))}
    out = project(rel, cols)
    out = Rel(out.text, out.value, mapping)
    if distinct is not None:
        ctx.feature("distinct")
        out = out.then(f"{out.text}.distinct()", out.value.distinct())
    if order is not None:
        try:
            if grouped and hidden_aggregates(order, sel):
                raise Unsupported("ORDER BY an aggregate that is not selected")
            oscope = output_scope(out, sel, names, ctx, outer, sql_names)
            for alias in _own_aliases(node):  # this SELECT's tables are not the outer ones
                oscope.rel.cols.setdefault(alias, {})
            out = order_clause(out, order, oscope)
        except Unsupported:
            if distinct is not None:
                raise Unsupported(distinct_order_reason(order, sel)) from None
            ordered = order_clause(rel, order, scope)
            scope.rel = ordered
            cols = [(c, translate(e, scope)) for c, (_, e) in zip(names, sel)]
            out = project(ordered, cols)
            out = Rel(out.text, out.value, mapping)
    out = limit_clause(out, node)
    return Rel(out.text, out.value, mapping, named=out.named)
