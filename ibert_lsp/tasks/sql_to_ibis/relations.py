"""FROM clauses: tables, views for self-joins, CTE names, derived tables, and join chains."""

from __future__ import annotations

from sqlglot import exp

from ibert_lsp.tasks.codebuild import short

from .code import V, call_text, is_ident, pystr
from .context import Ctx, Rel, Scope
from .errors import Unsupported
from .expressions import translate


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """Top-level AND terms of a condition, parentheses removed."""
    if node is None:
        return []
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def _columns(value, alias: str) -> dict[str, dict[str, str]]:
    """SQL names (as written and lower-cased, as DuckDB folds them) -> real column names."""
    cols: dict[str, str] = {}
    for c in value.schema().names:
        cols.setdefault(c.lower(), c)
    for c in value.schema().names:
        cols[c] = c
    return {alias: cols}


def _table_name(name: str, ctx: Ctx) -> str:
    """The schema's spelling of a table name (sqlglot folds unquoted names to lower case)."""
    if name in ctx.ctes or name in ctx.tables:
        return name
    same = [t for t in list(ctx.ctes) + list(ctx.tables) if t.lower() == name.lower()]
    return same[0] if len(same) == 1 else name


def table_source(node: exp.Table, ctx: Ctx, taken: set[str]) -> Rel:
    """A table or CTE name; a second use while the first is in scope becomes `.view()`."""
    if node.args.get("db") or node.args.get("catalog"):
        raise Unsupported("schema-qualified table names are not supported")
    name, alias = _table_name(node.name, ctx), node.alias_or_name
    if name in ctx.ctes:
        base = ctx.ctes[name]
    elif name in ctx.tables:
        if not is_ident(name) or name == "ibis":
            raise Unsupported(f"table name {short(name)} is not a plain Python name, so Ibis code "
                              "cannot refer to it")
        base = Rel(name, ctx.tables[name], {}, named=True)
    else:
        known = ", ".join(sorted(ctx.tables)) or "no tables"
        raise Unsupported(f"unknown table {name}; the schema has: {known}")
    if name in taken:
        ctx.feature("self_join")
        view = Rel(f"{base.text}.view()", base.value.view(), {}, named=False)
        base = ctx.assign(alias if alias != name else f"{name}_2", view)
    taken.add(name)
    cols = _columns(base.value, alias)
    if name in ctx.ctes:  # a CTE keeps its SQL column names
        cols = {alias: dict(ctx.ctes[name].cols.get("", cols[alias]))}
    return Rel(base.text, base.value, cols, named=True)


def derived_source(node: exp.Subquery, scope: Scope | None, ctx: Ctx, taken: set[str]) -> Rel:
    """(SELECT ...) AS alias."""
    from .query import query

    ctx.feature("subquery_from")
    rel = query(node.this, scope, ctx)
    alias = node.alias_or_name
    return Rel(rel.text, rel.value, {alias: dict(rel.cols.get("", {}))}, named=rel.named)


def source(node: exp.Expression, scope: Scope | None, ctx: Ctx, taken: set[str]) -> Rel:
    if isinstance(node, exp.Table):
        return table_source(node, ctx, taken)
    if isinstance(node, exp.Subquery):
        return derived_source(node, scope, ctx, taken)
    raise Unsupported(f"FROM {node.key.upper()} is not supported")


def _how(join: exp.Join) -> str:
    kind = (join.args.get("kind") or "").upper()
    side = (join.args.get("side") or "").upper()
    if join.args.get("method"):
        raise Unsupported(f"{join.args['method']} joins are not supported")
    if kind in ("SEMI", "ANTI"):
        return kind.lower()
    if kind == "CROSS":
        return "cross"
    if kind not in ("", "INNER", "OUTER"):
        raise Unsupported(f"{kind} joins are not supported")
    return {"": "inner", "LEFT": "left", "RIGHT": "right", "FULL": "outer"}[side]


def _aliases(node: exp.Expression) -> set[str]:
    return {c.table for c in node.find_all(exp.Column) if c.table}


def _has_subquery(node: exp.Expression) -> bool:
    return any(True for _ in node.find_all(exp.Subquery, exp.Exists, exp.Select))


def deep_tables(node: exp.Select, ctx: Ctx) -> set[str]:
    """Every table a SELECT's FROM reads, also inside its derived tables and CTEs: a subquery
    that reads one of them again needs a `.view()`, or Ibis may merge the two (TPC-H q15)."""
    out: set[str] = set()
    sources = [node.args["from_"].this] + [j.this for j in node.args.get("joins") or []]
    for src in sources:
        for t in src.find_all(exp.Table):
            out.add(_table_name(t.name, ctx))
            out |= ctx.cte_tables.get(_table_name(t.name, ctx), set())
    return out


def _comma_only(joins: list[exp.Join]) -> bool:
    return all(not any(j.args.get(k) for k in ("kind", "side", "on", "using", "method")) for j in joins)


def _link_order(first: exp.Expression, joins: list[exp.Join], where: list[exp.Expression]) -> list[exp.Join]:
    """For `FROM a, b, c` pick each next table linked by a WHERE term to those already joined,
    so comma joins become equi-joins instead of cross joins (inner joins commute)."""
    joined = {first.alias_or_name}
    rest, order = list(joins), []
    while rest:
        pick = next((j for j in rest if any(
            j.this.alias_or_name in _aliases(t) and (_aliases(t) - {j.this.alias_or_name}) and
            (_aliases(t) - {j.this.alias_or_name}) <= joined for t in where)), rest[0])
        rest.remove(pick)
        order.append(pick)
        joined.add(pick.this.alias_or_name)
    return order


def from_clause(node: exp.Select, scope: Scope | None, ctx: Ctx, where: list[exp.Expression],
                taken: set[str]) -> Rel:
    """FROM + JOINs; WHERE terms linking comma-joined tables become join predicates."""
    joins = node.args.get("joins") or []
    first_node = node.args["from_"].this
    if joins and _comma_only(joins):
        joins = _link_order(first_node, joins, where)
    first = source(first_node, scope, ctx, taken)
    if not joins:
        return first
    ctx.feature("join")
    if not first.named:
        first = ctx.assign(next(iter(first.cols)), first)
    parts: list[tuple[str, Rel]] = [(next(iter(first.cols)), first)]
    text, value = first.text, first.value
    equalities: list[tuple[str, str, str, str]] = []
    for join in joins:
        right = source(join.this, scope, ctx, taken)
        if not right.named:
            right = ctx.assign(next(iter(right.cols)), right)
        alias = next(iter(right.cols))
        right = rename_case_clashes(right, alias, value, ctx)
        how = _how(join)
        conds = conjuncts(join.args.get("on"))
        if join.args.get("using"):
            raise Unsupported("JOIN USING should have been expanded")
        if how in ("inner", "cross") and not conds:
            known = {a for a, _ in parts} | {alias}
            for term in list(where):
                used = _aliases(term)
                if alias in used and len(used) > 1 and used <= known and not _has_subquery(term):
                    conds.append(term)
                    where.remove(term)
            how = "inner" if conds else "cross"
        parts.append((alias, right))
        jscope = Scope(ctx, None, outer=scope, join_refs={a: p for a, p in parts})
        preds = [translate(c, jscope) for c in conds]
        for c in conds:
            if isinstance(c, exp.EQ) and isinstance(c.this, exp.Column) and isinstance(c.expression, exp.Column):
                a, b = c.this, c.expression
                pa, pb = dict(parts).get(a.table), dict(parts).get(b.table)
                if pa is not None and pb is not None:
                    equalities.append((a.table, pa.cols[a.table][a.name], b.table, pb.cols[b.table][b.name]))
        ctx.feature(f"join_{how}")
        text, value = _join(text, value, right, alias, how, preds)
    case_clash(value)
    return Rel(text, value, join_columns(value, parts, equalities), named=False)


def rename_case_clashes(right: Rel, alias: str, left_value, ctx: Ctx) -> Rel:
    """A right-side column named like a left one up to case (`semester` vs `SEMESTER`) is renamed
    first (`semester_right`): DuckDB would otherwise see one name twice."""
    from ibert_lsp.tasks.codebuild import dict_lit

    left = set(left_value.schema().names)
    lower_left = {n.lower() for n in left}
    taken = lower_left | {n.lower() for n in right.names}
    ibis_renames = {n: f"{n}_right" for n in right.names if n in left}  # what Ibis would do
    unsafe = {n for n, r in ibis_renames.items() if r.lower() in taken}
    taken |= {r.lower() for n, r in ibis_renames.items() if n not in unsafe}
    renames: dict[str, str] = {}
    for name in right.names:
        if name in unsafe or (name not in left and name.lower() in lower_left):
            new, i = f"{name}_right", 1
            while new.lower() in taken:
                i += 1
                new = f"{name}_right{i}"
            taken.add(new.lower())
            renames[new] = name
    if not renames:
        return right
    if all(is_ident(n) for n in renames):
        text = call_text((), {n: V(pystr(o), o) for n, o in renames.items()})
    else:
        text = dict_lit((n, pystr(o)) for n, o in renames.items())
    back = {o: n for n, o in renames.items()}
    cols = {alias: {sql: back.get(real, real) for sql, real in right.cols[alias].items()}}
    renamed = Rel(f"{right.text}.rename({text})", right.value.rename(renames), cols)
    return ctx.assign(alias, renamed)


def case_clash(value) -> None:
    """DuckDB matches names case-insensitively, even quoted ones: a join output with `SEMESTER`
    and `semester` makes it rename one and read the other, so such a program is refused."""
    seen: dict[str, str] = {}
    for name in value.schema().names:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise Unsupported(f"the join has columns {short(other)} and {short(name)}, which differ only "
                              "in case: DuckDB cannot tell them apart")


def _join(text: str, value, right: Rel, alias: str, how: str, preds: list[V]):
    """One `.join(...)`/`.cross_join(...)`; clashing names get this side's alias as suffix
    when the default `_right` suffix is already taken."""
    kwargs: dict = {} if how in ("inner", "cross") else {"how": how}

    def call(kw: dict):
        if how == "cross":
            return value.cross_join(right.value, **kw)
        return value.join(right.value, [p.value for p in preds], **kw)

    joined = call(kwargs)
    if not _finishes(joined):
        # rname is a str.format template: braces in an alias must stay literal
        kwargs["rname"] = "{name}_" + alias.replace("{", "{{").replace("}", "}}")
        joined = call(kwargs)
    if how == "cross":
        return f"{text}.cross_join({call_text((V(right.text, None),), kwargs)})", joined
    pred_arg = preds[0] if len(preds) == 1 else preds
    return f"{text}.join({right.text}, {call_text((pred_arg,), kwargs)})", joined


def _finishes(joined) -> bool:
    from ibis.common.exceptions import IntegrityError

    try:
        joined.schema()
    except IntegrityError:
        return False
    return True


def join_columns(value, parts: list[tuple[str, Rel]], equalities) -> dict[str, dict[str, str]]:
    """Where each participant's columns ended up in the join's output (renamed or collapsed)."""
    op = value.op()
    refs = [op.first] + [link.table for link in op.rest]
    located: dict[tuple[int, str], str] = {}
    for out, field in op.values.items():
        for i, ref in enumerate(refs):
            if field.rel == ref:
                located[(i, field.name)] = out
    index = {alias: i for i, (alias, _) in enumerate(parts)}
    cols: dict[str, dict[str, str]] = {}
    for i, (alias, part) in enumerate(parts):
        mapping: dict[str, str] = {}
        for sql_name, real in part.cols[alias].items():
            out = located.get((i, real))
            if out is None:
                out = _collapsed(alias, real, equalities, index, located)
            if out is not None:
                mapping[sql_name] = out
        cols[alias] = mapping
    return cols


def _collapsed(alias, real, equalities, index, located) -> str | None:
    """An inner equi-join column Ibis folded into its partner: use the partner's name."""
    for a, ca, b, cb in equalities:
        if (a, ca) == (alias, real) and (index[b], cb) in located:
            return located[(index[b], cb)]
        if (b, cb) == (alias, real) and (index[a], ca) in located:
            return located[(index[a], ca)]
    return None


__all__ = ["conjuncts", "from_clause", "join_columns"]
