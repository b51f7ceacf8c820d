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
from ibert_lsp.validate.checker import check_source
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.hints import table_label
from ibert_lsp.validate.interp import Interpreter, Located, namespaces
from ibert_lsp.validate.isolation import isolated

__all__ = ["GateError", "check_source", "compile_sql", "evaluate", "run"]

_MISSING_COL = re.compile(r"Column '([^']+)' is not found in table\. Existing columns: (.*)\.?$")


@lru_cache(maxsize=64)
def _tables_for(key: str) -> dict[str, Any]:
    return to_ibis_tables(json.loads(key))


def _env(schemas: Schemas, tables: dict | None) -> dict[str, Any]:
    """Globals of a snippet: capability namespaces (never modules), `_`, and the tables."""
    import ibis

    if tables is None:
        tables = _tables_for(json.dumps(schemas))
    ibis_ns, sel_ns, _ = namespaces()
    env: dict[str, Any] = {"ibis": ibis_ns, "_": ibis._}
    for alias in ("s", "selectors"):
        if alias not in tables:
            env[alias] = sel_ns
    env.update(tables)
    return env


def run(source: str, schemas: Schemas, *, tables: dict | None = None) -> tuple[Any, dict]:
    """Value of the snippet (last expression statement or last assignment) and its names."""
    try:
        env = _env(schemas, tables)
    except Exception as exc:  # noqa: BLE001 - a schema Ibis rejects (unknown type, bad name)
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GateError("type", f"the table schemas are not valid for Ibis: {msg}") from None
    tree = check_source(source, set(env))
    interp = Interpreter(env)
    for value in env.values():  # values callers pass in must be of allowed types already
        interp.check_type(value, None)
    found, value = False, None
    for stmt in tree.body:
        try:
            has, v = interp.run_stmt(stmt)
        except GateError as exc:
            raise exc.locate(stmt) from None
        except Located as loc:
            raise classify(loc.exc, loc.node, stmt, env) from None
        except RecursionError:
            raise GateError("limit", "expression recursion is too deep").locate(stmt) from None
        except MemoryError:
            raise GateError("limit", "expression needs too much memory").locate(stmt) from None
        except Exception as exc:  # noqa: BLE001 - anything else is reported, never raised raw
            raise classify(exc, stmt, stmt, env) from None
        if has:
            found, value = True, v
    if not found:
        raise GateError("ibis", "the code has no expression to evaluate")
    return value, env


@isolated
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

_NO_ATTR = re.compile(r"'Table' object has no attribute '([^']+)'")
_OBJ_REPR = re.compile(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-f]+>")


def classify(exc: BaseException, node: ast.AST, stmt: ast.AST,
             env: dict[str, Any] | None = None) -> GateError:
    """Map an exception raised while evaluating `node` to a GateError kind and message."""
    from ibis.common import exceptions as ibis_exc

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _OBJ_REPR.sub(lambda m: m.group(1), text)
    if isinstance(exc, GateError):
        return exc.locate(node)
    m = _MISSING_COL.search(text)
    if m:
        missing = m.group(1)
        existing = re.findall(r"'([^']+)'", m.group(2))
        close = difflib.get_close_matches(missing, existing, n=3, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(existing)}"
        tname = _receiver_table(node, env or {})
        err = GateError("attribute", f"Table {tname}has no column {missing!r}{hint}",
                        suggestions=close)
        return err.locate(_find_constant(node, missing) or node)
    if "truth value" in text and ("Ibis expression" in text or "Deferred" in text):
        return GateError("type", "an Ibis expression cannot be used as a Python bool: use `&`, "
                         "`|`, `~` instead of and/or/not, and `.between(a, b)` instead of "
                         "`a < x < b`").locate(node)
    m = _NO_ATTR.search(text)
    if m and isinstance(exc, AttributeError):
        return _deferred_missing(m.group(1), node, env or {})
    if "has failed due to the following errors" in str(exc):
        detail = [ln.strip() for ln in str(exc).splitlines() if ln.strip().startswith("`")]
        if detail:
            text = f"{text.split('(')[0]}: {detail[0]}"
    if type(exc).__name__ == "SignatureValidationError":
        return GateError("type", text).locate(node)
    if isinstance(exc, ibis_exc.IntegrityError) and "another relation" in text:
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


def _deferred_missing(name: str, node: ast.AST, env: dict[str, Any]) -> GateError:
    """`_.amout` resolved inside Ibis: suggest from every table's columns, point at `amout`."""
    import ibis

    from ibert_lsp.validate.interp import locate_attr

    cols = sorted({c for v in env.values() if isinstance(v, ibis.Table) for c in v.columns})
    close = difflib.get_close_matches(name, cols, n=3, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    err = GateError("attribute", f"Table has no column {name!r}{hint}", suggestions=close)
    target = next((n for n in ast.walk(node) if isinstance(n, ast.Attribute) and n.attr == name),
                  None)
    return locate_attr(err, target, name) if target is not None else err.locate(node)


def _receiver_table(node: ast.AST, env: dict[str, Any]) -> str:
    """'orders ' when the failing call is `orders.method(...)` on a named table, else ''."""
    import ibis

    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        value = env.get(func.value.id)
        if isinstance(value, ibis.Table):
            return table_label(value)
    return ""


def _find_constant(node: ast.AST, value: str) -> ast.AST | None:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and sub.value == value:
            return sub
    return None


