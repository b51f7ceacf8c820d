"""`ibert from-sql`: SQL in, idiomatic Ibis out, printed only when the gate proved it equivalent."""

from __future__ import annotations

import argparse
import json
import sys

from ibert_lsp.commands.io import read_input


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "from-sql",
        help="translate a SQL query to idiomatic Ibis, verified on DuckDB",
        description=(
            "Translate one SQL query to an Ibis snippet whose free names are the table names and "
            "whose value is its last expression. The snippet is printed only when it returned the "
            "same rows as the SQL on synthetic DuckDB data; otherwise the command exits 2 with "
            "'no verified translation: <reason>'."
        ),
    )
    p.add_argument("file", nargs="?", default="-", help="SQL file, or - for stdin (default)")
    p.add_argument(
        "--schema", "-s", required=True,
        help="JSON text or file {table: {col: type}}, a .duckdb file, or 'col: type, ...' "
        "with --table-name",
    )
    p.add_argument("--table-name", "-t", help="table name for the 'col: type, ...' schema form")
    p.add_argument("--dialect", "-d", default="duckdb",
                   help="dialect of the input SQL, any sqlglot dialect (default: duckdb); with "
                   "sqlite, double-quoted strings, LIKE and comparisons of text with numbers mean "
                   "what SQLite means by them")
    p.add_argument("--json", action="store_true",
                   help='print {"ibis", "verified", "checks", "features", "reason"} as JSON')
    p.set_defaults(func=run)


def _check_dialect(name: str) -> None:
    from sqlglot.dialects.dialect import Dialect

    from ibert_lsp.errors import IbertError

    try:
        Dialect.get_or_raise(name)
    except Exception:  # noqa: BLE001 - sqlglot raises ValueError with suggestions
        raise IbertError(f"unknown SQL dialect {name!r} (any sqlglot dialect: duckdb, postgres, "
                         "snowflake, bigquery, mysql, ...)") from None


def run(args: argparse.Namespace) -> int:
    from ibert_lsp.schema.sources import load_schema_arg
    from ibert_lsp.tasks.sql_to_ibis import translate

    _check_dialect(args.dialect)
    from ibert_lsp.errors import IbertError
    from ibert_lsp.validate.limits import check_sql_size

    sql = read_input(args.file, what="SQL")
    too_large = check_sql_size(sql)
    if too_large:
        raise IbertError(too_large)
    schemas = load_schema_arg(args.schema, args.table_name)
    result = translate(sql, schemas, dialect=args.dialect)
    if args.json:
        print(json.dumps({
            "ibis": result.ibis, "verified": result.verified, "checks": result.checks,
            "features": result.features, "reason": result.reason,
        }, indent=2, default=str))
    elif result.verified:
        print(result.ibis)
    if not result.verified:
        print(f"no verified translation: {result.reason}", file=sys.stderr)
        return 2
    return 0
