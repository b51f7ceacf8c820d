"""SQL text -> idiomatic Ibis program text (unverified): parse, transpile, qualify, translate."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from ibert_lsp.tasks.codebuild import CodeBuildError, check_names, collect_columns, short

from .context import Ctx
from .errors import Unsupported


@dataclass
class Candidate:
    """The deterministic translator's answer before verification."""

    code: str
    duckdb_sql: str
    features: list[str]


def parse(sql: str, dialect: str, schemas: dict[str, dict[str, str]] | None = None) -> exp.Expression:
    """One query statement in the given dialect, its implicit conversions made explicit
    against the schema (`dialects.normalize`), transpiled to DuckDB's form."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, col {first.get('col')}" if first else ""
        raise Unsupported(f"SQL does not parse as {dialect}{where}: {first.get('description', exc)}") from None
    except SqlglotError as exc:
        raise Unsupported(f"SQL does not parse as {dialect}: {exc}") from None
    if len(statements) != 1:
        raise Unsupported(f"expected one SQL statement, got {len(statements)}")
    tree = statements[0]
    if schemas is not None:
        from .dialects import normalize

        tree = normalize(tree, schemas, dialect)
    if dialect != "duckdb":
        try:
            tree = sqlglot.parse_one(tree.sql(dialect="duckdb"), read="duckdb")
        except SqlglotError as exc:
            raise Unsupported(f"cannot transpile {dialect} to duckdb: {exc}") from None
    if not isinstance(tree, (exp.Query, exp.Subquery)):
        raise Unsupported(f"{tree.key.upper()} statements are not supported (only queries)")
    return tree


def sqlglot_schema(schemas: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Our Ibis-typed schemas as SQL types sqlglot understands."""
    import ibis.expr.datatypes as dt
    from ibis.backends.sql.datatypes import DuckDBType

    return {t: {c: DuckDBType.from_ibis(dt.dtype(ty)).sql("duckdb") for c, ty in cols.items()}
            for t, cols in schemas.items()}


def known_tables(tree: exp.Expression, schemas: dict[str, dict[str, str]]) -> None:
    """Name an unknown table before name resolution reports one of its columns instead."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables = {t.lower() for t in schemas}
    for t in tree.find_all(exp.Table):
        if t.name and t.name.lower() not in tables and t.name.lower() not in ctes and not t.args.get("db"):
            known = ", ".join(sorted(schemas)) or "no tables"
            shown = t.name if t.name.isidentifier() else short(t.name)
            raise Unsupported(f"unknown table {shown}; the schema has: {known[:300]}")


def qualify(tree: exp.Expression, schemas: dict[str, dict[str, str]]) -> exp.Expression:
    """Every column qualified by its table alias, stars expanded, aliases everywhere."""
    from sqlglot.optimizer.qualify import qualify as sg_qualify

    known_tables(tree, schemas)
    try:
        return sg_qualify(tree, schema=sqlglot_schema(schemas), dialect="duckdb",
                          quote_identifiers=False, identify=False)
    except SqlglotError as exc:
        raise Unsupported(f"cannot resolve names against the schema: {exc}") from None


def build(sql: str, schemas: dict[str, dict[str, str]], dialect: str = "duckdb") -> Candidate:
    """Translate or raise Unsupported with the reason."""
    from ibert_lsp.schema.types import to_ibis_tables

    from . import expressions  # noqa: F401  (registers all handlers)
    from .query import query

    tree = parse(sql, dialect, schemas)
    duckdb_sql = tree.sql(dialect="duckdb")
    qualified = qualify(tree.copy(), schemas)
    ctx = Ctx(schemas, to_ibis_tables(schemas))
    ctx.used_names |= set(schemas)
    try:
        with collect_columns() as columns:
            rel = query(qualified, None, ctx)
        code = "\n".join(ctx.stmts + [rel.text])
        check_names(code, ctx.tables, columns)
    except CodeBuildError as exc:
        raise Unsupported(str(exc)) from None
    return Candidate(code, duckdb_sql, sorted(ctx.features))
