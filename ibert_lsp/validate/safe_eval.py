"""Evaluate untrusted Ibis code into an expression without trusting it: parse, check against
the allow-list, interpret under guards, and turn every failure into a placed GateError."""

from __future__ import annotations

import ast
import difflib
import json
import re
from functools import lru_cache
from typing import Any

from ibert_lsp.schema.types import Schemas, to_ibis_tables
from ibert_lsp.validate import policy
from ibert_lsp.validate.checker import check_source
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.interp import Interpreter, Located

__all__ = ["GateError", "check_source", "evaluate", "run", "compile_sql"]

_MISSING_COL = re.compile(r"Column '([^']+)' is not found in table\. Existing columns: (.*)\.?$")


@lru_cache(maxsize=64)
def _tables_for(key: str) -> dict[str, Any]:
    return to_ibis_tables(json.loads(key))


def _env(schemas: Schemas, tables: dict | None) -> dict[str, Any]:
    import ibis
    import ibis.selectors as sel

    if tables is None:
        tables = _tables_for(json.dumps(schemas, sort_keys=True))
    env: dict[str, Any] = {"ibis": ibis, "_": ibis._}
    for alias in ("s", "selectors"):
        if alias not in tables:
            env[alias] = sel
    env.update(tables)
    return env


@lru_cache(maxsize=1)
def _allowed_modules() -> dict[int, frozenset[str]]:
    import ibis
    import ibis.selectors as sel

    return {id(ibis): policy.IBIS_ALLOWED, id(sel): policy.SELECTORS_ALLOWED}


def run(source: str, schemas: Schemas, *, tables: dict | None = None) -> tuple[Any, dict]:
    """Value of the snippet (last expression statement or last assignment) and its names."""
    env = _env(schemas, tables)
    tree = check_source(source, set(env))
    interp = Interpreter(env, allowed_modules=_allowed_modules())
    found, value = False, None
    for stmt in tree.body:
        try:
            has, v = interp.run_stmt(stmt)
        except GateError as exc:
            raise exc.locate(stmt) from None
        except Located as loc:
            raise classify(loc.exc, loc.node, stmt) from None
        except RecursionError:
            raise GateError("limit", "expression recursion is too deep").locate(stmt) from None
        except MemoryError:
            raise GateError("limit", "expression needs too much memory").locate(stmt) from None
        except Exception as exc:  # noqa: BLE001 - anything else is reported, never raised raw
            raise classify(exc, stmt, stmt) from None
        if has:
            found, value = True, v
    if not found:
        raise GateError("ibis", "the code has no expression to evaluate")
    return value, env


def evaluate(source: str, schemas: Schemas, *, tables: dict | None = None) -> Any:
    """The Ibis expression the snippet builds, with tables bound to unbound `ibis.table`s."""
    import ibis

    value, _ = run(source, schemas, tables=tables)
    if not isinstance(value, ibis.Expr):
        raise GateError("type", f"the code's value is a {type(value).__name__}, "
                        "not an Ibis expression")
    return value


def compile_sql(expr: Any, dialect: str = "duckdb", pretty: bool = True) -> str:
    """SQL for an evaluated expression; compiler failures become GateErrors."""
    import ibis

    if not isinstance(expr, ibis.Expr):
        raise GateError("type", f"expected an Ibis expression, got a {type(expr).__name__}")
    try:
        return str(ibis.to_sql(expr, dialect=dialect, pretty=pretty))
    except RecursionError:
        raise GateError("limit", "expression is too deep to compile") from None
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if msg.startswith("Unknown dialect"):
            return _unknown_dialect(dialect)
        raise GateError("ibis", f"Ibis cannot compile this expression to {dialect}: {msg}") from None


def _unknown_dialect(dialect: str) -> str:
    import sqlglot

    names = sorted(d.value for d in sqlglot.Dialects if d.value)
    close = difflib.get_close_matches(dialect, names, n=3)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise GateError("ibis", f"unknown SQL dialect {dialect!r}{hint}", suggestions=close)


# --- turning exceptions into GateErrors --------------------------------------------------------

def classify(exc: BaseException, node: ast.AST, stmt: ast.AST) -> GateError:
    """Map an exception raised while evaluating `node` to a GateError kind and message."""
    from ibis.common import exceptions as ibis_exc

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, GateError):
        return exc.locate(node)
    m = _MISSING_COL.search(text)
    if m:
        missing = m.group(1)
        existing = re.findall(r"'([^']+)'", m.group(2))
        close = difflib.get_close_matches(missing, existing, n=3, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(existing)}"
        err = GateError("attribute", f"Table has no column {missing!r}{hint}", suggestions=close)
        return err.locate(_find_constant(node, missing) or node)
    if isinstance(exc, ibis_exc.IntegrityError):
        return GateError("ibis", f"{text}. After a filter or join, refer to the new table "
                         "through `_` (e.g. `agg(n=_.count())`)").locate(node)
    if isinstance(exc, AttributeError):
        return GateError("attribute", text).locate(node)
    if isinstance(exc, (ibis_exc.IbisTypeError, TypeError, ibis_exc.InputTypeError
                        if hasattr(ibis_exc, "InputTypeError") else TypeError)):
        return GateError("type", text).locate(node)
    if isinstance(exc, ibis_exc.IbisError):
        return GateError("ibis", text).locate(node)
    if isinstance(exc, (RecursionError, MemoryError)):
        return GateError("limit", "evaluation exceeded a resource limit").locate(node)
    return GateError("ibis", f"{type(exc).__name__}: {text}").locate(node)


def _find_constant(node: ast.AST, value: str) -> ast.AST | None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and sub.value == value:
            return sub
    return None


def missing_attribute(obj: Any, name: str) -> GateError | None:
    """A friendly error for `t.amout` on a table or `col.sumx()` on a column."""
    import ibis

    if isinstance(obj, ibis.Table):
        cols = list(obj.columns)
        close = difflib.get_close_matches(name, cols, n=3, cutoff=0.5)
        tname = _table_name(obj)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(cols)}"
        return GateError("attribute", f"Table {tname}has no column {name!r}{hint}",
                         suggestions=close)
    if isinstance(obj, ibis.Expr):
        names = [n for n in dir(obj) if not n.startswith("_") and n not in policy.DENIED_ATTRS]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return GateError("attribute", f"'{type(obj).__name__}' has no attribute {name!r}{hint}",
                         suggestions=close)
    return None


def _table_name(table: Any) -> str:
    op = table.op()
    name = getattr(op, "name", None)
    return f"{name!r} " if isinstance(name, str) and type(op).__name__ in (
        "UnboundTable", "DatabaseTable", "InMemoryTable") else ""
