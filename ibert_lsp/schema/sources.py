"""Where table schemas come from: JSON, the one-table string form, Python source, DuckDB files.

Python source is read by AST only: a document's `ibis.table(...)` declarations are data to us,
never code to run.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

from ibert_lsp.schema.types import Schemas, SchemaError, normalize_schemas, normalize_type

MAX_SCHEMA_BYTES = 5_000_000


def parse_json(text_or_path: str) -> Schemas:
    """`{"table": {"col": "type"}}` from a JSON string or a path to a JSON file."""
    text = text_or_path.strip()
    if not text.startswith("{"):
        text = _read_text(Path(text_or_path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(f"schema JSON is malformed: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    return normalize_schemas(data)


def parse_inline(text: str, table_name: str) -> Schemas:
    """The one-table form `"id: int, name: string"` (types may be omitted only by inference)."""
    if not table_name or not table_name.isidentifier():
        raise SchemaError(f"--table-name {table_name!r} is not a valid identifier")
    cols: dict[str, str] = {}
    for i, part in enumerate(_split_top_level(text), start=1):
        part = part.strip()
        if not part:
            continue
        if ":" not in part:
            raise SchemaError(f"schema entry {i} ({part!r}) must look like 'name: type'")
        name, _, typ = part.partition(":")
        name, typ = name.strip(), typ.strip()
        if not name.isidentifier():
            raise SchemaError(f"column name {name!r} is not a valid identifier")
        cols[name] = normalize_type(typ, where=f"{table_name}.{name}")
    if not cols:
        raise SchemaError("the schema string names no columns")
    return {table_name: cols}


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, so `decimal(12, 2)` stays one type."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def from_python_source(source: str) -> Schemas:
    """Schemas of `x = ibis.table({...}, name="x")` declarations, keyed by the variable name.

    Declarations that are not literal (a schema built at run time) are skipped: we never run code.
    Unparseable source yields what could be found in the parseable prefix (half-typed documents).
    """
    tree = _parse_tolerant(source)
    if tree is None:
        return {}
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
            continue
        call = node.value
        if not _is_ibis_table_call(call):
            continue
        cols = _literal_columns(call)
        if not cols:
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                try:
                    found[target.id] = {
                        c: normalize_type(t, where=f"{target.id}.{c} (line {node.lineno})")
                        for c, t in cols.items()
                    }
                except SchemaError:
                    continue  # a document with a typo in a type: no schema rather than a crash
    return found


def _parse_tolerant(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    lines = source.splitlines()
    # Drop trailing lines until the rest parses: the declarations usually come first.
    for end in range(len(lines) - 1, 0, -1):
        try:
            return ast.parse("\n".join(lines[:end]))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return None


def _is_ibis_table_call(call: ast.Call) -> bool:
    f = call.func
    return (
        isinstance(f, ast.Attribute)
        and f.attr == "table"
        and isinstance(f.value, ast.Name)
        and f.value.id == "ibis"
    )


def _literal_columns(call: ast.Call) -> dict[str, str] | None:
    arg = call.args[0] if call.args else None
    for kw in call.keywords:
        if kw.arg == "schema":
            arg = kw.value
    if arg is None:
        return None
    # ibis.table(ibis.schema({...})) / ibis.table(ibis.schema([("a", "int")]))
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "schema":
        arg = arg.args[0] if arg.args else None
        if arg is None:
            return None
    try:
        value = ast.literal_eval(arg)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)) and all(
        isinstance(p, (list, tuple)) and len(p) == 2 for p in value
    ):
        items = value
    else:
        return None
    cols = {str(k): str(v) for k, v in items if isinstance(k, str) and isinstance(v, str)}
    return cols or None


def from_duckdb(path: str | os.PathLike) -> Schemas:
    """Schemas of every table and view in a DuckDB file, opened read-only."""
    import duckdb

    p = Path(path)
    if not p.exists():
        raise SchemaError(f"database file not found: {p}")
    try:
        con = duckdb.connect(str(p), read_only=True)
    except Exception as exc:  # duckdb raises its own IOException/InvalidInputException kinds
        raise SchemaError(f"cannot open {p} as a DuckDB database: {_first_line(exc)}") from None
    try:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for table, col, typ in rows:
        try:
            out.setdefault(table, {})[col] = _duckdb_type(typ)
        except Exception:
            out.setdefault(table, {})[col] = "string"  # exotic types: still let names complete
    if not out:
        raise SchemaError(f"{p} has no tables")
    return out


def _duckdb_type(typ: str) -> str:
    """DuckDB's type name as an Ibis type string, through Ibis's own DuckDB type parser."""
    from ibis.backends.sql.datatypes import DuckDBType

    dtype = DuckDBType.from_string(typ)
    if dtype.is_timestamp():  # the precision DuckDB reports is its storage detail, not schema
        return "timestamp('UTC')" if dtype.timezone else "timestamp"
    return str(dtype)


def load_schema_arg(arg: str, table_name: str | None = None) -> Schemas:
    """Interpret `--schema`: JSON text, a JSON file, a DuckDB file, or `a: int, b: string`."""
    text = arg.strip()
    if not text:
        raise SchemaError("--schema is empty")
    if text.startswith("{"):
        return parse_json(text)
    path = Path(text)
    if path.suffix.lower() in {".duckdb", ".ddb", ".db"}:
        return from_duckdb(path)
    if path.suffix.lower() == ".json" or (path.exists() and path.is_file()):
        return parse_json(str(path))
    if ":" in text:
        if not table_name:
            raise SchemaError("the 'col: type, ...' schema form needs --table-name")
        return parse_inline(text, table_name)
    raise SchemaError(
        f"cannot read schema {arg!r}: give JSON, a .json or .duckdb file, or 'col: type, ...'"
    )


def _read_text(path: Path) -> str:
    if not path.exists():
        raise SchemaError(f"schema file not found: {path}")
    if path.is_dir():
        raise SchemaError(f"schema path is a directory: {path}")
    if path.stat().st_size > MAX_SCHEMA_BYTES:
        raise SchemaError(f"schema file is too large ({path.stat().st_size} bytes): {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SchemaError(f"schema file is not UTF-8 text: {path}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
