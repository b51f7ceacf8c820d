"""`ibert to-sql`: Ibis code in, SQL for any dialect Ibis supports out."""

from __future__ import annotations

import argparse
import json

from ibert_lsp.commands.io import add_schema_options, read_input


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "to-sql",
        help="compile Ibis code (its last expression) to SQL",
        description=(
            "Compile Ibis code to SQL with Ibis's own compiler. Tables come from ibis.table(...) "
            "declarations in the code, from --schema, or are inferred from how the code uses "
            "them (stated in a leading SQL comment)."
        ),
    )
    p.add_argument("file", nargs="?", default="-", help="Python file with Ibis code, or - for stdin")
    p.add_argument("--dialect", "-d", default="duckdb", help="target SQL dialect (default: duckdb)")
    add_schema_options(p)
    p.add_argument("--json", action="store_true", help="print a JSON object instead of SQL")
    p.add_argument("--list-dialects", action="store_true", help="print the dialects and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ibert_lsp.schema.sources import load_schema_arg
    from ibert_lsp.tasks.ibis_to_sql import dialects, to_sql

    if args.list_dialects:
        print("\n".join(dialects()))
        return 0
    code = read_input(args.file, what="Ibis code")
    schemas = None
    if args.schema:
        first = args.table_names[0] if args.table_names else None
        schemas = load_schema_arg(args.schema, first)
    result = to_sql(code, schemas, args.dialect, table_names=args.table_names)
    if args.json:
        print(json.dumps({
            "sql": result.sql, "dialect": result.dialect, "schemas": result.schemas,
            "inferred": result.inferred,
        }, indent=2))
    else:
        print(result.text())
    return 0
