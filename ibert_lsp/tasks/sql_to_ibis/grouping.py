"""GROUP BY, ROLLUP/CUBE/GROUPING SETS and HAVING: the keys, the metrics, one aggregate per
grouping set (a UNION ALL of them), and the scope the rest of the SELECT sees."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ibert_lsp.tasks.codebuild import kwarg

from .code import ATOM, V, as_expr, call_text, is_ident, pystr, wrap
from .context import Rel, Scope
from .errors import Unsupported
from .expressions import translate
from .relations import conjuncts
from .select import (
    _unparen,
    correlated,
    find_aggregates,
    has_window,
    items,
    key,
    only_inside_aggregates,
    where_clause,
)


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
