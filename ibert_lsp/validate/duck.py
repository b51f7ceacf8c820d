"""A locked-down in-memory DuckDB for running untrusted queries on synthetic rows: no file or
network access, configuration locked, one thread, bounded memory, every query under a timer."""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from ibert_lsp.schema.types import Schemas
from ibert_lsp.validate.errors import GateError

T = TypeVar("T")
MEMORY_LIMIT = "512MB"
MAX_RESULT_ROWS = 50_000  # larger results are not compared (Python-side cost)


def check_query(sql: str) -> None:
    """Only one read-only query (SELECT / WITH / set operations / VALUES) may run."""
    from sqlglot import exp

    from ibert_lsp.validate.sqlutil import parse

    try:
        trees = parse(sql, "duckdb")
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GateError("syntax", f"SQL does not parse: {msg}") from None
    if len(trees) != 1:
        raise GateError("forbidden", f"expected exactly one SQL query, got {len(trees)} statements")
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        raise GateError("forbidden", f"only SELECT queries can be checked, not {tree.key.upper()}")
    bad = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command,
           exp.Copy, exp.Set, exp.Pragma, exp.Attach, exp.Detach, exp.Use, exp.Merge)
    for node in tree.find_all(*bad):
        raise GateError("forbidden", f"{node.key.upper()} is not allowed inside a checked query")


@lru_cache(maxsize=512)
def duck_type(typ: str) -> str:
    """DuckDB's SQL spelling of an Ibis type string (as Ibis itself would create the column)."""
    import ibis.expr.datatypes as dtypes
    from ibis.backends.sql.datatypes import DuckDBType

    d = dtypes.dtype(typ)
    if d.is_inet() or d.is_macaddr():  # the inet extension cannot be loaded in the sandbox
        return "VARCHAR"
    return DuckDBType.from_ibis(d).sql("duckdb")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fetch(relation: Any, what: str) -> Any:
    """Arrow table of a DuckDB relation, streamed so huge results stop early."""
    import pyarrow as pa

    reader = relation.to_arrow_reader(8192)
    batches, rows = [], 0
    for batch in reader:
        rows += batch.num_rows
        if rows > MAX_RESULT_ROWS:
            raise GateError("limit", f"{what} returns more than {MAX_RESULT_ROWS} rows on the "
                            "synthetic data; too many to compare")
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema)


class Sandbox:
    """One connection plus the Ibis backend on top of it, reloaded with new rows per seed."""

    def __init__(self) -> None:
        import duckdb
        import ibis

        self.con = duckdb.connect(":memory:")
        self.backend = ibis.duckdb.from_connection(self.con)
        # no spilling: an in-memory sandbox must never create files (DuckDB's `.tmp/` in the
        # working directory); a query over the memory limit fails instead
        for stmt in ("SET threads=1", f"SET memory_limit='{MEMORY_LIMIT}'", "SET temp_directory=''",
                     "SET enable_external_access=false", "SET autoinstall_known_extensions=false",
                     "SET autoload_known_extensions=false", "SET lock_configuration=true"):
            self.con.execute(stmt)
        self.views: dict[str, tuple] = {}  # table name -> column signature of its view
        self.compiled: dict[int, tuple[Any, str]] = {}  # id(expr) -> (expr, SQL)
        self.broken = False

    def load(self, schemas: Schemas, tables: dict) -> None:
        """Make `tables` (pyarrow) visible under their names with the exact schema types.
        Each name is a view casting a registered Arrow table; a new seed only re-registers
        the Arrow data (cheap), the view is rebuilt only when the schema changes."""
        for name in [n for n in self.views if n not in tables]:
            self.con.execute(f"DROP VIEW IF EXISTS {quote(name)}")
            self.con.unregister(f"__ibert_src_{name}")
            del self.views[name]
        for name, arrow in tables.items():
            src = f"__ibert_src_{name}"
            self.con.register(src, arrow)
            signature = tuple(schemas[name].items())
            if self.views.get(name) != signature:
                cols = ", ".join(f"CAST({quote(c)} AS {duck_type(t)}) AS {quote(c)}"
                                 for c, t in signature)
                self.con.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS "
                                 f"SELECT {cols} FROM {quote(src)}")
                self.views[name] = signature

    def timed(self, fn: Callable[[], T], timeout_s: float, what: str) -> T:
        """Run `fn` on this connection; interrupt it after `timeout_s` seconds."""
        import duckdb

        fired = threading.Event()

        def stop() -> None:
            fired.set()
            self.con.interrupt()

        timer = threading.Timer(timeout_s, stop)
        timer.daemon = True
        timer.start()
        try:
            result = fn()
            if fired.is_set():  # finished just as the timer fired: the interrupt may linger
                self.broken = True
            return result
        except duckdb.InterruptException:
            self.broken = True
            raise GateError("timeout", f"{what} ran longer than {timeout_s:g} s") from None
        except duckdb.OutOfMemoryException:
            self.broken = True
            raise GateError("limit", f"{what} needs more than {MEMORY_LIMIT} of memory") from None
        except GateError:
            raise
        except Exception as exc:  # noqa: BLE001
            if fired.is_set():
                self.broken = True
                raise GateError("timeout", f"{what} ran longer than {timeout_s:g} s") from None
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GateError("execution", f"{what} failed: {msg}") from None
        finally:
            timer.cancel()

    def run_sql(self, sql: str, timeout_s: float) -> Any:
        """pyarrow table of a checked read-only query."""
        check_query(sql)
        return self.timed(lambda: fetch(self.con.sql(sql), "the SQL query"), timeout_s,
                          "the SQL query")

    def run_expr(self, expr: Any, timeout_s: float) -> Any:
        """pyarrow table of an Ibis expression, executed on the same connection. DuckDB's own
        Arrow conversion is used (not Ibis' result casting) so both sides convert alike."""
        import ibis

        if not isinstance(expr, ibis.Expr):
            raise GateError("type", f"expected an Ibis expression, got a {type(expr).__name__}")
        what = "the Ibis expression"
        sql = self.timed(lambda: self.compile(expr), timeout_s, what)
        return self.timed(lambda: fetch(self.con.sql(sql), what), timeout_s, what)

    def compile(self, expr: Any) -> str:
        """SQL for `expr` on this connection, once per expression (memtables registered)."""
        hit = self.compiled.get(id(expr))
        if hit is not None and hit[0] is expr:
            return hit[1]
        table = expr.as_table()
        hooks = getattr(self.backend, "_run_pre_execute_hooks", None)
        if hooks is not None:  # registers ibis.memtable data on this connection
            hooks(table)
        sql = str(self.backend.compile(table))
        if len(self.compiled) > 64:
            self.compiled.clear()
        self.compiled[id(expr)] = (expr, sql)
        return sql

    def close(self) -> None:
        with _open_lock:
            _open.discard(self)
        with contextlib.suppress(Exception):
            self.con.close()


_local = threading.local()
# weak: a thread's sandbox goes (and its connection closes) when the thread ends
_open: weakref.WeakSet[Sandbox] = weakref.WeakSet()
_open_lock = threading.RLock()


@atexit.register
def _close_all() -> None:
    """Close connections before interpreter teardown (DuckDB's bindings complain otherwise)."""
    with _open_lock:
        boxes = list(_open)
    for box in boxes:
        box.close()


def sandbox() -> Sandbox:
    """A per-thread reusable sandbox (connections cost ~15 ms to open); replaced after a timeout."""
    box = getattr(_local, "box", None)
    if box is None or box.broken:
        if box is not None:
            box.close()
        box = _local.box = Sandbox()
        with _open_lock:
            _open.add(box)
    return box
