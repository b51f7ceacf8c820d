"""One SELECT: FROM/JOIN -> WHERE -> GROUP BY/HAVING -> projection -> DISTINCT -> ORDER BY -> LIMIT.

Each clause is a small function that takes the relation so far and returns the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlglot import exp

from ibert_lsp.tasks.codebuild import kwarg, short

from .aggregates import is_aggregate
from .code import ATOM, V, as_expr, call_text, is_ident, lit, pystr, wrap
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


@dataclass
class Key:
    """One grouping key: its output name, its translation, and whether it is a plain column."""

    name: str
    v: V
    plain: bool
    node: exp.Expression | None = None


def render_keys(keys: list[Key]) -> tuple[str, list, dict]:
    """`"a", "b", c=expr`: plain columns as strings, computed keys as keywords (or `.name()`)."""
    first_kw = next((i for i, k in enumerate(keys) if not k.plain), len(keys))
    mixed = not any(k.plain for k in keys[first_kw:])
    parts, pos, kw = [], [], {}
    for k in keys:
        if k.plain:
            parts.append(pystr(k.name))
            pos.append(k.name)
        elif mixed and is_ident(k.name):
            parts.append(kwarg(k.name, k.v.text))
            kw[k.name] = k.v.value
        else:
            parts.append(f"{wrap(k.v, ATOM)}.name({pystr(k.name)})")
            pos.append(k.v.value.name(k.name))
    return ", ".join(parts), pos, kw


def grouping_sets(group: exp.Group) -> tuple[list[exp.Expression], list[frozenset[int]] | None]:
    """All grouping expressions, and which of them each grouping set keeps (None: plain GROUP BY).

    ROLLUP(a, b) keeps (a, b), (a), (); CUBE every subset; GROUPING SETS the listed ones; plain
    keys next to them are kept in every set."""
    from itertools import combinations

    exprs: list[exp.Expression] = list(group.expressions)
    fixed = frozenset(range(len(exprs)))

    def index(e: exp.Expression) -> int:
        e = _unparen(e)
        for i, x in enumerate(exprs):
            if key(x) == key(e):
                return i
        exprs.append(e)
        return len(exprs) - 1

    kinds = [k for k in ("rollup", "cube", "grouping_sets") if group.args.get(k)]
    if not kinds:
        return exprs, None
    if len(kinds) > 1 or len(group.args[kinds[0]]) > 1:
        raise Unsupported("combined ROLLUP/CUBE/GROUPING SETS are not supported")
    spec = group.args[kinds[0]][0]
    if kinds[0] == "grouping_sets":
        sets = []
        for item in spec.expressions:
            members = item.expressions if isinstance(item, exp.Tuple) else [item]
            sets.append(fixed | {index(m) for m in members})
        return exprs, sets
    idx = [index(e) for e in spec.expressions]
    if kinds[0] == "rollup":
        return exprs, [fixed | set(idx[:i]) for i in range(len(idx), -1, -1)]
    return exprs, [fixed | set(c) for n in range(len(idx), -1, -1) for c in combinations(idx, n)]


def grouping_keys(node: exp.Select, rel: Rel, scope: Scope, sel, used: set[str]
                  ) -> tuple[list[Key], list[frozenset[int]] | None]:
    """GROUP BY keys, plus the grouping sets for ROLLUP/CUBE/GROUPING SETS."""
    group = node.args.get("group")
    if group is None:
        return [], None
    exprs, sets = grouping_sets(group)
    out: list[Key] = []
    for i, k in enumerate(exprs):
        v = translate(k, scope)
        alias = next((n for n, e in sel if key(e) == key(k) and n not in used and is_ident(n)), None)
        plain = isinstance(k, exp.Column) and v.text == rel.ref(v.value.get_name()).text
        if plain and (alias is None or alias == v.value.get_name()):
            name = v.value.get_name()
            out.append(Key(name, V(pystr(name), name), True, k))
        else:
            out.append(Key(alias or f"key{i}", as_expr(v), False, k))
        used.add(out[-1].name)
    if sets is not None:
        scope.ctx.feature("grouping_sets")
    return out, sets


def set_levels(keys: list[Key], sets: list[frozenset[int]], groupings) -> list[list[Key]]:
    """One key list per grouping set: dropped keys become typed NULLs, GROUPING(x) a constant
    (1 where x is dropped); every level has the same columns in the same order."""
    levels = []
    for kept in sets:
        level = [k if j in kept else Key(k.name, _null_key(k, str(k.v.value.type())), False, k.node)
                 for j, k in enumerate(keys)]
        dropped = {key(k.node) for j, k in enumerate(keys) if j not in kept}
        for g_name, g in groupings:
            bit = int(key(g.expressions[0]) in dropped)
            level.append(Key(g_name, V(f"ibis.literal({bit})", _ibis_literal(bit)), False))
        levels.append(level)
    return levels


def group_has(kind: str, node: exp.Select) -> bool:
    group = node.args.get("group")
    return group is not None and bool(group.args.get(kind))


def _ibis_literal(value):
    import ibis

    return ibis.literal(value)


def _null_key(k: Key, typ: str) -> V:
    import ibis

    return V(f"ibis.null().cast({pystr(typ)})", ibis.null().cast(typ))


def collect_groupings(clauses: list[exp.Expression], sets) -> list[tuple[str, exp.Expression]]:
    """GROUPING(x) calls, each to become a constant key column per grouping set."""
    groupings: list[tuple[str, exp.Expression]] = []
    for c in clauses:
        for g in c.find_all(exp.Grouping):
            if key(g) not in {key(x) for _, x in groupings}:
                if len(g.expressions) != 1 or sets is None:
                    raise Unsupported("GROUPING() needs one argument and ROLLUP/CUBE/GROUPING SETS")
                groupings.append((f"grouping_{len(groupings)}", g))
    return groupings


def collect_metrics(sel, extra: list[exp.Expression], scope: Scope, used: set[str]
                    ) -> tuple[list[tuple[str, V]], dict[str, str]]:
    """Named metrics: a select item made only of aggregates keeps its alias (`total=...`);
    aggregates needed elsewhere (HAVING, ORDER BY, mixed items) get hidden `aggN` columns."""
    metrics: list[tuple[str, V]] = []
    metric_of: dict[str, str] = {}
    for n, e in sel:
        if not find_aggregates(e) or has_window(e) or not only_inside_aggregates(e) or e.find(exp.Grouping):
            continue
        if key(e) in metric_of or n in used or not is_ident(n):
            continue
        metrics.append((n, as_expr(translate(e, scope))))
        metric_of[key(e)] = n
        used.add(n)
    for e in [e for _, e in sel if key(e) not in metric_of] + extra:
        for a in find_aggregates(e):
            if key(a) not in metric_of:
                name = f"agg{len(metrics)}"
                while name in used:
                    name += "_"
                metrics.append((name, as_expr(translate(a, scope))))
                metric_of[key(a)] = name
                used.add(name)
    return metrics, metric_of


def group_by_clause(node: exp.Select, rel: Rel, scope: Scope, outer: Scope | None) -> tuple[Rel, Scope]:
    """GROUP BY (+ grouping sets) + aggregates (+ HAVING) -> the aggregated relation and a scope
    over it in which keys, metrics and GROUPING() calls resolve to its columns."""
    ctx = scope.ctx
    sel = items(node)
    having = node.args.get("having")
    order = node.args.get("order")
    used: set[str] = set()
    keys, sets = grouping_keys(node, rel, scope, sel, used)
    orders = [o.this for o in order.expressions] if order is not None else []
    groupings = collect_groupings([e for _, e in sel] + ([having.this] if having else []) + orders, sets)
    having_pre = having is not None and bool(keys) and sets is None and only_inside_aggregates(having.this) \
        and not correlated(having.this)
    extra = ([having.this] if having is not None and not having_pre else []) + orders
    metrics, metric_of = collect_metrics(sel, extra, scope, used)
    ctx.feature("group_by" if keys else "aggregate")
    if sets is not None and group_has("rollup", node):
        ctx.feature("rollup")
    pred = as_expr(translate(having.this, scope)) if having_pre else None
    if having_pre:
        ctx.feature("having")
    for k in keys:  # plain keys carry the column itself: a rolled-up NULL needs its type
        if k.plain:
            k.v = V(k.v.text, rel.value[k.name])
    levels = set_levels(keys, sets, groupings) if sets is not None else [keys]
    if len(levels) > 1 and not rel.text.isidentifier():
        rel = ctx.assign("rows", rel)
    text, value = None, None
    for i, level in enumerate(levels):
        grand_total = sets is not None and not sets[i]
        t, v = _grand_total(rel, level, metrics) if grand_total else _aggregate(rel, level, metrics, pred)
        text, value = (t, v) if text is None else (f"{text}.union({t})", value.union(v))
    agg = Rel(text, value, {}, named=False)
    post = Scope(ctx, agg, outer=outer, taken=scope.taken, deep=scope.deep)
    for k in keys:
        post.subst[key(k.node)] = agg.ref(k.name)
    for g_name, g in groupings:
        post.subst[key(g)] = agg.ref(g_name)
    for k, n in metric_of.items():
        post.subst[k] = agg.ref(n)
    if having is not None and not having_pre:
        ctx.feature("having")
        agg = where_clause(agg, conjuncts(having.this), post, "grouped")
        post.rel = agg
    return agg, post


def _grand_total(rel: Rel, consts: list[Key], metrics: list[tuple[str, V]]):
    """The `()` grouping set: one row even over no input rows, so an ungrouped `agg`."""
    cols = [(k.name, k.v) for k in consts] + list(metrics)
    value = rel.value.aggregate(**{n: v.value for n, v in cols})
    return f"{rel.text}.agg({call_text((), dict(cols))})", value


def _aggregate(rel: Rel, keys: list[Key], metrics: list[tuple[str, V]], having: V | None):
    """`rel.group_by(keys).having(p).agg(metrics)` (or `rel.agg(...)` without keys)."""
    text, value = rel.text, rel.value
    if keys and not metrics and having is None and all(k.plain for k in keys):
        key_text, pos, _ = render_keys(keys)  # GROUP BY without aggregates: distinct keys
        return f"{text}.select({key_text}).distinct()", value.select(*pos).distinct()
    if keys:
        key_text, pos, kw = render_keys(keys)
        value = value.group_by(*pos, **kw)
        text = f"{text}.group_by({key_text})"
        if having is not None:
            value = value.having(having.value)
            text = f"{text}.having({having.text})"
    value = value.aggregate(**{n: v.value for n, v in metrics})
    return f"{text}.agg({call_text((), dict(metrics))})", value


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
