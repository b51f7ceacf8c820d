"""A locked-down in-memory DuckDB for running untrusted queries on synthetic rows: no file or
network access, configuration locked, one thread, bounded memory, every query under a timer."""

from __future__ import annotations

import atexit
import threading
from typing import Any, Callable, TypeVar

from ibert_lsp.schema.types import Schemas
from ibert_lsp.validate.errors import GateError

T = TypeVar("T")
MEMORY_LIMIT = "512MB"


def check_query(sql: str) -> None:
    """Only one read-only query (SELECT / WITH / set operations / VALUES) may run."""
    import sqlglot
    from sqlglot import exp

    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
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


def duck_type(typ: str) -> str:
    """DuckDB's SQL spelling of an Ibis type string (as Ibis itself would create the column)."""
    import ibis.expr.datatypes as dtypes
    from ibis.backends.sql.datatypes import DuckDBType

    return DuckDBType.from_ibis(dtypes.dtype(typ)).sql("duckdb")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Sandbox:
    """One connection plus the Ibis backend on top of it, reloaded with new rows per seed."""

    def __init__(self) -> None:
        import duckdb
        import ibis

        self.con = duckdb.connect(":memory:")
        self.backend = ibis.duckdb.from_connection(self.con)
        for stmt in ("SET threads=1", f"SET memory_limit='{MEMORY_LIMIT}'",
                     "SET enable_external_access=false", "SET autoinstall_known_extensions=false",
                     "SET autoload_known_extensions=false", "SET lock_configuration=true"):
            self.con.execute(stmt)
        self.loaded: list[str] = []
        self.broken = False

    def load(self, schemas: Schemas, tables: dict) -> None:
        """Replace the tables with `tables` (pyarrow), cast to the exact schema types."""
        for name in self.loaded:
            self.con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.loaded = []
        for name, arrow in tables.items():
            src = f"__ibert_src_{name}"
            self.con.register(src, arrow)
            try:
                cols = ", ".join(f"CAST({quote(c)} AS {duck_type(t)}) AS {quote(c)}"
                                 for c, t in schemas[name].items())
                self.con.execute(f"CREATE TABLE {quote(name)} AS SELECT {cols} FROM {quote(src)}")
            finally:
                self.con.unregister(src)
            self.loaded.append(name)

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
            return fn()
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
        return self.timed(lambda: self.con.sql(sql).to_arrow_table(), timeout_s, "the SQL query")

    def run_expr(self, expr: Any, timeout_s: float) -> Any:
        """pyarrow table of an Ibis expression, executed on the same connection. DuckDB's own
        Arrow conversion is used (not Ibis' result casting) so both sides convert alike."""
        import ibis

        if not isinstance(expr, ibis.Expr):
            raise GateError("type", f"expected an Ibis expression, got a {type(expr).__name__}")
        table = expr.as_table()

        def go() -> Any:
            relation = getattr(self.backend, "_to_duckdb_relation", None)
            if relation is not None:  # ibis 12: registers memtables, compiles, con.sql
                return relation(table).to_arrow_table()
            return self.con.sql(str(self.backend.compile(table))).to_arrow_table()

        return self.timed(go, timeout_s, "the Ibis expression")

    def close(self) -> None:
        with _open_lock:
            if self in _open:
                _open.remove(self)
        try:
            self.con.close()
        except Exception:  # noqa: BLE001
            pass


_local = threading.local()
_open: list[Sandbox] = []
_open_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Close connections before interpreter teardown (DuckDB's bindings complain otherwise)."""
    with _open_lock:
        for box in _open:
            box.close()
        _open.clear()


def sandbox() -> Sandbox:
    """A per-thread reusable sandbox (connections cost ~15 ms to open); replaced after a timeout."""
    box = getattr(_local, "box", None)
    if box is None or box.broken:
        if box is not None:
            box.close()
        box = _local.box = Sandbox()
        with _open_lock:
            _open.append(box)
    return box
