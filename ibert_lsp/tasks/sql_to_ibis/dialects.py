"""Dialect quirks made explicit on the SQL tree, before it is transpiled to DuckDB and translated.

The gate proves the translation against the *rewritten* DuckDB SQL, so each rewrite here must
reproduce the source dialect's meaning exactly; where no rewrite can (the engines would disagree
on some rows, or one of them fails), the translator abstains and says why. One function each:

- `string_identifiers`: SQLite reads `"open"` as the string 'open' when no column is so named.
- `like_ignores_case`: SQLite's LIKE is DuckDB's ILIKE.
- `integer_division`: SQLite's integer `/` truncates; such a query abstains with its reason.
- `scalar_subquery_first_row`: SQLite reads the first row of a scalar subquery (`LIMIT 1`).
- `implicit_casts`: a text column compared with a number, or a number column with a string, gets
  the conversion the dialect applies (SQLite's type affinity, DuckDB's literal casts).
"""

from __future__ import annotations

import re

from sqlglot import exp

from ibert_lsp.tasks.codebuild import short

from .errors import Unsupported

_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_TEXT_TYPES = ("string",)
_NUMBER_PREFIXES = ("int", "uint", "float", "decimal")


def normalize(tree: exp.Expression, schemas: dict[str, dict[str, str]], dialect: str) -> exp.Expression:
    """The source-dialect tree with its implicit conversions spelled out (same meaning)."""
    if dialect == "sqlite":
        tree = string_identifiers(tree, schemas)
        tree = like_ignores_case(tree)
        tree = scalar_subquery_first_row(tree)
        integer_division(tree, schemas)
    return implicit_casts(tree, schemas, dialect)


# --- names the query can see ----------------------------------------------------------------


def _tables_ci(schemas: dict[str, dict[str, str]]) -> dict[str, str]:
    """Lower-cased table name -> the schema's spelling (SQLite names are case-insensitive)."""
    return {t.lower(): t for t in schemas}


def visible_names(tree: exp.Expression, schemas: dict[str, dict[str, str]]) -> set[str]:
    """Lower-cased names a column reference in this query could mean: the columns of every table
    it reads, every alias it defines (select items, tables, CTEs and their column lists)."""
    tables = _tables_ci(schemas)
    names: set[str] = set()
    for t in tree.find_all(exp.Table):
        real = tables.get(t.name.lower())
        if real is not None:
            names |= {c.lower() for c in schemas[real]}
    for a in tree.find_all(exp.Alias, exp.TableAlias):
        if a.alias:
            names.add(a.alias.lower())
        for c in a.args.get("columns") or []:
            names.add(c.name.lower())
    return names


def string_identifiers(tree: exp.Expression, schemas: dict[str, dict[str, str]]) -> exp.Expression:
    """SQLite: a double-quoted name that resolves to no column is a string literal."""
    names = visible_names(tree, schemas)
    for col in list(tree.find_all(exp.Column)):
        ident = col.this
        if col.table or not isinstance(ident, exp.Identifier) or not ident.quoted:
            continue
        if ident.name.lower() in names:
            continue
        col.replace(exp.Literal.string(ident.name))
    return tree


def like_ignores_case(tree: exp.Expression) -> exp.Expression:
    """SQLite's LIKE ignores case (ASCII letters): it is DuckDB's ILIKE."""
    for node in list(tree.find_all(exp.Like)):
        if node.args.get("escape") is None:
            node.replace(exp.ILike(this=node.this, expression=node.expression,
                                   negate=node.args.get("negate")))
    return tree


def _single_row(select: exp.Select) -> bool:
    """An aggregate-only SELECT without GROUP BY returns exactly one row anyway."""
    from .aggregates import is_aggregate

    return not select.args.get("group") and all(
        any(is_aggregate(n) for n in e.walk()) for e in select.expressions)


def scalar_subquery_first_row(tree: exp.Expression) -> exp.Expression:
    """SQLite uses the first row of a scalar subquery that returns several (DuckDB fails): that
    is `LIMIT 1`, written out so both engines mean the same."""
    from . import expressions  # noqa: F401  (registers the aggregates)

    for sub in list(tree.find_all(exp.Subquery)):
        inner = sub.this
        if isinstance(sub.parent, (exp.From, exp.Join, exp.In, exp.Exists, exp.SetOperation, exp.With,
                                   exp.CTE)) or not isinstance(inner, exp.Select):
            continue
        if inner.args.get("limit") is None and not _single_row(inner):
            inner.set("limit", exp.Limit(expression=exp.Literal.number(1)))
    return tree


# --- column types, resolved by name through the enclosing SELECTs ---------------------------


def _sources(select: exp.Select, tables: dict[str, str]) -> dict[str, str]:
    """Lower-cased alias -> schema table, for the base tables in one SELECT's FROM/JOINs."""
    out: dict[str, str] = {}
    from_ = select.args.get("from_") or select.args.get("from")
    nodes = ([from_.this] if from_ is not None else []) + [j.this for j in select.args.get("joins") or []]
    for n in nodes:
        if isinstance(n, exp.Table) and not n.args.get("db"):
            real = tables.get(n.name.lower())
            if real is not None:
                out[n.alias_or_name.lower()] = real
    return out


def column_type(col: exp.Column, schemas: dict[str, dict[str, str]]) -> tuple[str, str] | None:
    """(column's schema spelling, Ibis type) when the name resolves to exactly one base-table
    column of the SELECT it sits in (or an enclosing one); None when unknown (CTEs, subqueries,
    ambiguous names): those comparisons are left as written."""
    tables = _tables_ci(schemas)
    select = col.find_ancestor(exp.Select)
    while select is not None:
        sources = _sources(select, tables)
        if col.table:
            real = sources.get(col.table.lower())
            candidates = [real] if real is not None else []
        else:
            candidates = list(sources.values())
        hits = []
        for table in candidates:
            for name, typ in schemas[table].items():
                if name.lower() == col.name.lower():
                    hits.append((name, typ))
        if len(hits) == 1:
            return hits[0]
        if hits or (col.table and col.table.lower() in sources):
            return None
        if not col.table and _defines_alias(select, col.name):
            return None
        select = select.find_ancestor(exp.Select)
    return None


def _defines_alias(select: exp.Select, name: str) -> bool:
    return any(isinstance(e, exp.Alias) and e.alias.lower() == name.lower() for e in select.expressions)


def _kind(typ: str) -> str | None:
    if typ.startswith(_TEXT_TYPES):
        return "text"
    if typ.startswith(_NUMBER_PREFIXES):
        return "number"
    return None


def _integer_typed(node: exp.Expression, schemas) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        found = column_type(node, schemas)
        return found is not None and found[1].startswith(("int", "uint"))
    if isinstance(node, exp.Count):
        return True
    text = _number_text(node)
    return text is not None and bool(_INTEGER.match(text))


def integer_division(tree: exp.Expression, schemas: dict[str, dict[str, str]]) -> None:
    """SQLite divides two integers as integers (7 / 2 = 3, truncated) where DuckDB's `/` gives
    3.5: no translation is offered for it; the reason says how to write what was meant."""
    for node in tree.find_all(exp.Div):
        if _integer_typed(node.this, schemas) and _integer_typed(node.expression, schemas):
            raise Unsupported(f"{node.sql('sqlite')[:60]} divides two integers, which SQLite truncates "
                              "(7 / 2 = 3): write CAST(x AS REAL) / y for a fraction, or use a "
                              "DuckDB-dialect query with // for integer division")


# --- implicit conversions in comparisons ------------------------------------------------------

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def _number_text(node: exp.Expression) -> str | None:
    """The text of a numeric literal (with its sign), or of integer arithmetic on such literals
    (`400 + 100`: SQLite gives the sum no affinity either), or None."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul)):
        a, b = _number_text(node.this), _number_text(node.expression)
        if a is None or b is None or not (_INTEGER.match(a) and _INTEGER.match(b)):
            return None
        x, y = int(a), int(b)
        return str(x + y if isinstance(node, exp.Add) else x - y if isinstance(node, exp.Sub) else x * y)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return "-" + node.this.this
    if isinstance(node, exp.Literal) and not node.is_string:
        return node.this
    return None


def _number_node(text: str) -> exp.Expression:
    text = text.strip()
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text.lstrip("+"))


def _sqlite_text_of(number: str) -> str | None:
    """How SQLite writes a numeric literal as text (TEXT affinity): integers exactly, reals as
    Python's repr when that is SQLite's %!.15g form too; None when the forms could differ."""
    if _INTEGER.match(number):
        return str(int(number))
    value = float(number)
    text = repr(value)
    if "e" in text or "inf" in text or "nan" in text or len(text.replace("-", "").replace(".", "")) > 15:
        return None
    return text


def _text_vs_number(col: exp.Column, name: str, lit: exp.Expression, number: str, dialect: str
                    ) -> exp.Expression:
    """A text column compared with a number literal: the literal or column node to use."""
    if dialect == "sqlite":
        text = _sqlite_text_of(number)
        if text is None:
            raise Unsupported(f"text column {short(name)} is compared with the number {number}: "
                              "SQLite compares its text form, which DuckDB may write differently")
        return exp.Literal.string(text)
    if dialect == "duckdb" and _INTEGER.match(number):
        kind = "INT" if abs(int(number)) < 2**31 else "BIGINT"
        col.replace(exp.Cast(this=col.copy(), to=exp.DataType.build(kind)))
        return lit
    raise Unsupported(f"text column {short(name)} is compared with the number {number}: {dialect} "
                      "converts one side implicitly in a way no cast reproduces exactly; write "
                      f"CAST({name} AS INTEGER) or compare with the string '{number}'")


def _number_vs_text(name: str, typ: str, lit: exp.Literal, dialect: str) -> exp.Expression:
    """A number column compared with a string literal: the string read as a number."""
    text = lit.this
    ok = _INTEGER.match(text) if typ.startswith(("int", "uint")) and dialect != "sqlite" else _NUMBER.match(text)
    if not ok:
        raise Unsupported(f"number column {short(name)} is compared with the text {short(text)}: "
                          f"{dialect} and DuckDB disagree on text that is not a number")
    return _number_node(text)


def _coerce(col: exp.Expression, other: exp.Expression, schemas, dialect: str) -> exp.Expression | None:
    """The replacement for `other` when `col` is a typed column and `other` a literal of the
    wrong kind; None when nothing needs converting."""
    if not isinstance(col, exp.Column):
        return None
    found = column_type(col, schemas)
    if found is None:
        return None
    name, typ = found
    kind = _kind(typ)
    number = _number_text(other)
    if kind == "text" and number is not None:
        return _text_vs_number(col, name, other, number, dialect)
    if kind == "number" and isinstance(other, exp.Literal) and other.is_string:
        return _number_vs_text(name, typ, other, dialect)
    return None


def _fix_pair(node: exp.Expression, left: str, right: str, schemas, dialect: str) -> None:
    a, b = node.args.get(left), node.args.get(right)
    if a is None or b is None:
        return
    new = _coerce(a, b, schemas, dialect)
    if new is not None and new is not b:
        node.set(right, new)
        return
    a = node.args.get(left)
    new = _coerce(b, a, schemas, dialect)
    if new is not None and new is not a:
        node.set(left, new)


def implicit_casts(tree: exp.Expression, schemas: dict[str, dict[str, str]], dialect: str) -> exp.Expression:
    """Comparisons, IN lists and BETWEEN of a typed column with a literal of the other kind."""
    for node in list(tree.find_all(*_COMPARISONS, exp.In, exp.Between)):
        if isinstance(node, _COMPARISONS):
            _fix_pair(node, "this", "expression", schemas, dialect)
        elif isinstance(node, exp.In) and not node.args.get("query"):
            values = list(node.expressions)
            for i, v in enumerate(values):
                new = _coerce(node.this, v, schemas, dialect)
                if new is not None and new is not v:
                    values[i] = new
            node.set("expressions", values)
        elif isinstance(node, exp.Between):
            for side in ("low", "high"):
                v = node.args.get(side)
                new = _coerce(node.this, v, schemas, dialect) if v is not None else None
                if new is not None and new is not v:
                    node.set(side, new)
    return tree


__all__ = ["column_type", "implicit_casts", "normalize", "string_identifiers", "visible_names"]
