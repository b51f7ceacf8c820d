"""Where table schemas come from: JSON, the one-table string form, Python source, DuckDB files.

Python source is read by AST only: a document's `ibis.table(...)` declarations are data to us,
never code to run.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote

from ibert_lsp.pysource import parse_tolerant
from ibert_lsp.schema.types import SchemaError, Schemas, normalize_schemas, normalize_type

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
    tree, touched = parse_tolerant(source)
    return declared_schemas(tree, touched) if tree is not None else {}


def declared_schemas(tree: ast.Module, touched: list[int] | tuple[int, ...] = ()) -> Schemas:
    """`from_python_source` on a tree already parsed (`touched`: lines the tolerant parser
    blanked or repaired, whose declarations are being typed)."""
    found: dict[str, dict[str, str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
            continue
        if node.lineno in touched:  # being typed (repaired to parse): not a schema yet
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


DUCKDB_SUFFIXES = {".duckdb", ".ddb"}
SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db3"}
DATABASE_SUFFIXES = DUCKDB_SUFFIXES | SQLITE_SUFFIXES | {".db"}
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.DOTALL)
_URL_KINDS = {"duckdb": "duckdb", "sqlite": "sqlite", "sqlite3": "sqlite", "file": None}
# No extension loading or installing while we read a user's file: reading a schema must not
# write anywhere (DuckDB would otherwise fetch/cache extensions under ~/.duckdb).
_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def from_database(value: str, root: str | os.PathLike | None = None) -> Schemas:
    """Schemas from a database setting: a DuckDB or SQLite file, or a `duckdb://` /
    `sqlite://` URL (the scheme in any letter case).

    The file is opened read-only whatever the URL says (options after `?` are ignored), a
    missing file is an error (never created), and any other backend is refused: a workspace
    setting is untrusted and must not make the server write, connect out or run code.
    """
    kind, path = database_location(value, root)
    sniffed = _sniff(path)
    kind = sniffed or kind or _kind_by_suffix(path)
    if kind == "duckdb":
        return from_duckdb(path)
    if kind == "sqlite":
        return from_sqlite(path)
    raise SchemaError(f"{path} is neither a DuckDB nor a SQLite database file")


def database_location(value: str, root: str | os.PathLike | None = None) -> tuple[str | None, Path]:
    """(kind from the URL or None, the existing file it names); raises SchemaError."""
    if not isinstance(value, str) or not value.strip():
        raise SchemaError("the database setting is empty")
    text = value.strip()
    kind: str | None = None
    m = _URL.match(text)
    if m:
        scheme = m.group(1).lower()
        if scheme not in _URL_KINDS:
            raise SchemaError(
                f"database URL scheme {m.group(1)!r} is not supported: ibert reads table "
                "schemas only from DuckDB and SQLite files, opened read-only (give a file "
                "path, duckdb:///path or sqlite:///path)")
        kind = _URL_KINDS[scheme]
        text = unquote(m.group(2).partition("?")[0])
    if not text or text.startswith(":memory:"):
        raise SchemaError(f"database {value!r} names no file (an in-memory database has no "
                          "tables to read)")
    path = Path(os.path.expanduser(text))
    if not path.is_absolute() and root:
        path = Path(root) / path
    if not path.exists():
        raise SchemaError(f"database file not found: {path}")
    if not path.is_file():
        raise SchemaError(f"database path is not a file: {path}")
    return kind, path


def _sniff(path: Path) -> str | None:
    """'duckdb' or 'sqlite' from the file's header (reading it changes nothing), else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise SchemaError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return None


def _kind_by_suffix(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in DUCKDB_SUFFIXES:
        return "duckdb"
    if suffix in SQLITE_SUFFIXES:
        return "sqlite"
    return None


def from_duckdb(path: str | os.PathLike) -> Schemas:
    """Schemas of every table and view in a DuckDB file, opened read-only.

    Read with duckdb itself, not `ibis.duckdb.connect`: with ibis 12.0 + duckdb 2.0 its
    `list_tables()` fails (`fetch_arrow_table` is gone) and leaves the connection unusable.
    """
    import duckdb

    p = Path(path)
    if not p.exists():
        raise SchemaError(f"database file not found: {p}")
    try:
        con = duckdb.connect(str(p), read_only=True, config=_DUCKDB_CONFIG)
    except Exception as exc:  # duckdb raises its own IOException/InvalidInputException kinds
        raise SchemaError(f"cannot open {p} as a DuckDB database: {_first_line(exc)}") from None
    try:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    except Exception as exc:
        raise SchemaError(f"cannot read the tables of {p}: {_first_line(exc)}") from None
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for table, col, typ in rows:
        try:
            out.setdefault(table, {})[col] = duckdb_type(typ)
        except Exception:
            out.setdefault(table, {})[col] = "string"  # exotic types: still let names complete
    if not out:
        raise SchemaError(f"{p} has no tables")
    return out


def from_sqlite(path: str | os.PathLike) -> Schemas:
    """Schemas of every table and view in a SQLite file, opened read-only and immutable
    (`mode=ro&immutable=1`: a database in WAL mode would otherwise get `-wal`/`-shm` files
    created, or a running app's written to, beside it; uncommitted WAL content is not read).

    SQLite's declared types are mapped to Ibis types by SQLite's own affinity rules.
    """
    import sqlite3

    p = Path(path)
    if not p.exists():
        raise SchemaError(f"database file not found: {p}")
    uri = "file:" + quote(str(p.resolve())) + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise SchemaError(f"cannot open {p} as a SQLite database: {_first_line(exc)}") from None
    out: dict[str, dict[str, str]] = {}
    try:
        con.execute("PRAGMA query_only = ON")
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for name in names:
            cols = con.execute("SELECT name, type FROM pragma_table_info(?)", (name,)).fetchall()
            if cols:
                out[name] = {c: _sqlite_type(t) for c, t in cols}
    except sqlite3.Error as exc:
        raise SchemaError(f"cannot read {p} as a SQLite database: {_first_line(exc)}") from None
    finally:
        con.close()
    if not out:
        raise SchemaError(f"{p} has no tables")
    return out


def _sqlite_type(declared: str | None) -> str:
    """A SQLite declared column type as an Ibis type string (SQLite's affinity rules, plus
    the date/time/boolean names SQLite stores as text or numbers)."""
    t = (declared or "").upper().strip()
    if not t:
        return "binary"  # no declared type: BLOB affinity
    if "BOOL" in t:
        return "boolean"
    if "INT" in t:
        return "int64"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "string"
    if "BLOB" in t:
        return "binary"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "float64"
    if t.startswith(("DATETIME", "TIMESTAMP")):
        return "timestamp"
    if t.startswith("DATE"):
        return "date"
    if t.startswith("TIME"):
        return "time"
    m = re.match(r"^(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$", t)
    if m:
        return normalize_type(f"decimal({m.group(1)}, {m.group(2) or 0})")
    if t.startswith(("DECIMAL", "NUMERIC")):
        return "decimal"
    try:
        return normalize_type(t.lower())
    except SchemaError:
        return "string"  # an unusual name: the column still completes


def duckdb_type(typ: str) -> str:
    """DuckDB's type name as an Ibis type string, through Ibis's own DuckDB type parser."""
    from ibis.backends.sql.datatypes import DuckDBType

    dtype = DuckDBType.from_string(typ)
    if dtype.is_timestamp():  # the precision DuckDB reports is its storage detail, not schema
        return "timestamp('UTC')" if dtype.timezone else "timestamp"
    return str(dtype)


def load_schema_arg(arg: str, table_name: str | None = None) -> Schemas:
    """Interpret `--schema`: JSON text, a JSON file, a DuckDB or SQLite file (or a `duckdb://` /
    `sqlite://` URL, read-only), or `a: int, b: string`."""
    text = arg.strip()
    if not text:
        raise SchemaError("--schema is empty")
    if text.startswith("{"):
        return parse_json(text)
    if _URL.match(text):
        return from_database(text)
    path = Path(text)
    if path.suffix.lower() in DATABASE_SUFFIXES:
        return from_database(text)
    if path.suffix.lower() == ".json" or (path.exists() and path.is_file()):
        if path.suffix.lower() != ".json" and _sniff(path) is not None:
            return from_database(text)
        return parse_json(str(path))
    if ":" in text:
        if not table_name:
            raise SchemaError("the 'col: type, ...' schema form needs --table-name")
        return parse_inline(text, table_name)
    raise SchemaError(
        f"cannot read schema {arg!r}: give JSON, a .json, .duckdb or .sqlite file, or "
        "'col: type, ...'"
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


def read_config_schemas(database: str | None, schema_file: str | None, root: str | None) -> dict:
    """Schemas from a schema JSON and/or a database setting.

    A database setting is a DuckDB or SQLite file or a `duckdb://` / `sqlite://` URL (any
    letter case). It is opened read-only, never created, and never given to `ibis.connect`:
    a workspace's settings are untrusted, and a connection URL could write files or connect
    out (`sources.from_database` refuses every other backend with a message).
    """
    out: dict = {}
    if schema_file:
        path = schema_file
        if not path.lstrip().startswith("{") and not os.path.isabs(path) and root:
            path = os.path.join(root, path)
        out.update(parse_json(path))
    if database:
        out.update(from_database(database, root))
    return out
