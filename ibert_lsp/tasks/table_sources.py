"""Where real code gets its tables, read without running the code.

`con = ibis.duckdb.connect("f.ddb")` then `con.table("x")`, `ibis.read_parquet("data/x.parquet")`,
`ibis.memtable(pd.DataFrame({...}))`, `ibis.examples.penguins.fetch()`: each is recognised in
the syntax tree, and the table's schema is read from where it lives — a database file opened
read-only, a data file's own metadata through a DuckDB connection that may read that one file
and nothing else — only for literal paths inside the workspace. What cannot be read is a table
whose columns are unknown: never an error. Runs in the gate worker (isolation) like the rest of
the analysis.
"""

from __future__ import annotations

import ast
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.typeflow import dotted_name

READERS = {"read_parquet": "read_parquet", "read_csv": "read_csv", "read_json": "read_json_auto",
           "read_delta": None}  # None: a format DuckDB cannot read here (schema unknown)
FILE_BYTES_LIMIT = 2 << 30   # a data file larger than this is not sniffed
_CACHE: OrderedDict[tuple, Schemas | None] = OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Connection:
    """A backend connection the code makes; `path` is the database file when ibert may read it."""

    backend: str
    path: str | None = None


@dataclass(frozen=True)
class TableSource:
    """A table the code gets from outside: its name and, when readable, its schema."""

    name: str
    schema: dict[str, str] | None


def _literal_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _arg(call: ast.Call, index: int, *names: str) -> ast.AST | None:
    if len(call.args) > index:
        return call.args[index]
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    return None


def inside(root: str | None, path: str) -> str | None:
    """The real path of `path` (relative to `root`) when it lies inside `root`, else None."""
    if not root or not path or "\x00" in path:
        return None
    base = os.path.realpath(root)
    full = os.path.realpath(os.path.join(base, path))  # an absolute `path` stays absolute
    if full != base and not full.startswith(base + os.sep):
        return None
    return full


def connection_of(value: ast.AST, root: str | None) -> Connection | None:
    """`ibis.duckdb.connect(...)`, `ibis.sqlite.connect(...)`, `ibis.connect(url)`."""
    if not isinstance(value, ast.Call):
        return None
    name = dotted_name(value.func) or ""
    if name == "ibis.connect":
        url = _literal_str(_arg(value, 0, "resource"))
        if url is None:
            return Connection("unknown")
        scheme, sep, rest = url.partition("://")
        if not sep:
            backend = "duckdb" if url.endswith((".ddb", ".duckdb")) else "sqlite" \
                if url.endswith((".db", ".sqlite", ".sqlite3")) else "unknown"
            return Connection(backend, _db_path(backend, url, root))
        backend = scheme.lower()
        return Connection(backend, _db_path(backend, rest.split("?")[0], root))
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "ibis" and parts[2] == "connect":
        backend = parts[1]
        target = _literal_str(_arg(value, 0, "database", "path"))
        return Connection(backend, _db_path(backend, target, root) if target else None)
    return None


def _db_path(backend: str, path: str | None, root: str | None) -> str | None:
    if backend not in ("duckdb", "sqlite") or not path or path == ":memory:":
        return None
    full = inside(root, path)
    return full if full and os.path.isfile(full) else None


def table_of(value: ast.AST, connections: dict[str, Connection], root: str | None,
             known: Schemas) -> TableSource | None:
    """The table `value` gets from a connection, a file or the examples; None when `value` is
    not such an expression. The schema is None when ibert cannot read it."""
    if not isinstance(value, ast.AST):
        return None
    # con.table("x") / con.tables.x / con.tables["x"]
    con_name, table = _connection_table(value)
    if con_name is not None and con_name in connections:
        con = connections[con_name]
        if table is None:
            return TableSource("?", None)
        schema = database_schemas(con.path).get(table) if con.path else None
        if schema is None and con.path is None:
            schema = known.get(table)  # the `database` setting describes the default connection
        return TableSource(table, schema)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        method = value.func.attr
        owner = dotted_name(value.func.value)
        if method in READERS and (owner == "ibis" or owner in connections):
            path = _literal_str(_arg(value, 0, "path", "paths", "source", "source_list"))
            name = _literal_str(_arg(value, 1, "table_name")) or "?"
            full = inside(root, path) if path else None
            schema = file_schema(full, READERS[method]) if full and READERS[method] else None
            return TableSource(name, schema if schema is not None else known.get(name))
        if method == "fetch" and (dotted_name(value.func.value) or "").startswith("ibis.examples."):
            name = value.func.value.attr  # type: ignore[attr-defined]
            return TableSource(name, known.get(name))  # the settings may describe it
        if method == "sql" and owner in connections:
            return TableSource("?", None)
    return None


def _connection_table(value: ast.AST) -> tuple[str | None, str | None]:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
            and value.func.attr == "table" and isinstance(value.func.value, ast.Name):
        return value.func.value.id, _literal_str(_arg(value, 0, "name"))
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Attribute) \
            and value.value.attr == "tables" and isinstance(value.value.value, ast.Name):
        return value.value.value.id, value.attr
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Attribute) \
            and value.value.attr == "tables" and isinstance(value.value.value, ast.Name):
        return value.value.value.id, _literal_str(value.slice)
    return None, None


def strip_pandas(value: ast.expr, pandas_names: set[str]) -> ast.expr:
    """`ibis.memtable(pd.DataFrame({...}))` → `ibis.memtable({...})`: the literal holds the
    schema, and pandas never runs."""
    class Strip(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            name = dotted_name(node.func) or ""
            head, _, attr = name.rpartition(".")
            if attr == "DataFrame" and head in pandas_names and len(node.args) == 1 \
                    and not node.keywords and isinstance(node.args[0], (ast.Dict, ast.List)):
                return node.args[0]
            return node

    if not pandas_names or not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                                   and n.func.attr == "DataFrame" for n in ast.walk(value)):
        return value
    import copy

    return Strip().visit(copy.deepcopy(value))  # the document's tree stays as written


# --- reading schemas (cached by file identity) ---------------------------------------------------

def _identity(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_size)


def _cached(key: tuple, read) -> Schemas | None:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    try:
        value = read()
    except Exception:  # noqa: BLE001 - unreadable: the schema stays unknown
        value = None
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > 64:
            _CACHE.popitem(last=False)
    return value


def database_schemas(path: str) -> Schemas:
    """Every table of a DuckDB/SQLite file, opened read-only; {} when it cannot be read."""
    ident = _identity(path)
    if ident is None:
        return {}
    from ibert_lsp.schema.sources import from_database

    return _cached(("db", *ident), lambda: from_database(path)) or {}


def file_schema(path: str, reader: str) -> dict[str, str] | None:
    """Columns of a Parquet/CSV/JSON file from its metadata (DuckDB's footer read or sniffer),
    through a connection allowed to read that one file."""
    ident = _identity(path)
    if ident is None or ident[2] > FILE_BYTES_LIMIT:
        return None

    def read() -> Schemas:
        import duckdb

        from ibert_lsp.schema.sources import duckdb_type

        con = duckdb.connect(":memory:")
        try:
            con.execute("SET temp_directory = ''")
            con.execute("SET allowed_paths = ?", [[path]])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
            rows = con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [path]).fetchall()
        finally:
            con.close()
        return {"": {str(r[0]): duckdb_type(str(r[1])) for r in rows}}

    got = _cached(("file", reader, *ident), read)
    return got.get("") if got else None
