"""Evaluating one snippet of a document through the gate: the tables the settings describe,
a memo so re-analysing after a keystroke re-checks only what changed, and the parsing helpers
that cut a statement's source out of the document."""

from __future__ import annotations

import ast
import json
import threading
import warnings
from collections import OrderedDict
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.validate.isolation import isolated

_TABLES_CACHE: dict[str, dict[str, Any]] = {}


def base_tables(schemas: Schemas) -> dict[str, Any]:
    """Unbound ibis tables for `schemas` (cached by content)."""

    from ibert_lsp.schema.types import to_ibis_tables

    key = json.dumps(schemas, sort_keys=True)
    tables = _TABLES_CACHE.get(key)
    if tables is None:
        if len(_TABLES_CACHE) > 32:
            _TABLES_CACHE.clear()
        tables = _TABLES_CACHE[key] = to_ibis_tables(schemas) if schemas else {}
    return tables


def gate_eval(snippet: str, schemas: Schemas, env: dict[str, Any] | None = None, *,
              any_value: bool = False) -> Any:
    """Evaluate an untrusted snippet through the gate with the schema tables and `env` bound.

    `any_value=True` accepts any value the gate lets through (e.g. a `GroupedTable` half-way
    through `t.group_by(...).agg(...)`), not only finished Ibis expressions. Only the names the
    snippet reads travel to the gate worker (a document's whole environment can be large).
    """
    if env:
        names = _snippet_reads(snippet)
        if names is not None:
            env = {k: v for k, v in env.items() if k in names}
    return _gate_eval(snippet, schemas, env, any_value=any_value)


def _snippet_reads(snippet: str) -> set[str] | None:
    try:
        return {n.id for n in ast.walk(ast.parse(snippet)) if isinstance(n, ast.Name)}
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the gate reports the syntax error itself


@isolated
def _gate_eval(snippet: str, schemas: Schemas, env: dict[str, Any] | None = None, *,
               any_value: bool = False) -> Any:
    from ibert_lsp.validate import safe_eval

    tables = {**base_tables(schemas), **(env or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if any_value:
            return safe_eval.run(snippet, schemas, tables=tables)[0]
        return safe_eval.evaluate(snippet, schemas, tables=tables)


# Re-analysing after each keystroke re-evaluates only the statements whose text or inputs
# changed: results are memoised by (snippet, schemas, identity of the expressions it reads).
_STMT_CACHE: OrderedDict[tuple, tuple] = OrderedDict()
_STMT_CACHE_SIZE = 4096
_STMT_LOCK = threading.Lock()


def _cached_eval(snippet: str, schemas: Schemas, env: dict[str, Any], free: set[str],
                 schema_key: str | None = None) -> Any:
    """Any value the gate lets through (a SQL string, a schema, a grouped table), memoised."""

    from ibert_lsp.validate.errors import GateError

    names = sorted(n for n in free if n in env)
    used = tuple((n, id(env[n])) for n in names)
    held = tuple(env[n] for n in names)  # keeps those ids unique while the entry lives
    key = (snippet, schema_key or json.dumps(schemas, sort_keys=True), used)
    with _STMT_LOCK:
        hit = _STMT_CACHE.get(key)
        if hit is not None:
            _STMT_CACHE.move_to_end(key)
    if hit is not None:
        kind, value, _ = hit
        if kind == "err":
            raise GateError(value.kind, value.message, line=value.line, col=value.col,
                            end_line=value.end_line, end_col=value.end_col,
                            suggestions=list(value.suggestions))
        return value
    try:
        expr = gate_eval(snippet, schemas, env, any_value=True)
    except GateError as err:
        with _STMT_LOCK:
            _STMT_CACHE[key] = ("err", err, held)
            while len(_STMT_CACHE) > _STMT_CACHE_SIZE:
                _STMT_CACHE.popitem(last=False)
        raise
    with _STMT_LOCK:
        _STMT_CACHE[key] = ("ok", expr, held)
        while len(_STMT_CACHE) > _STMT_CACHE_SIZE:
            _STMT_CACHE.popitem(last=False)
    return expr


def _free_names(node: ast.AST) -> set[str]:
    """Names loaded in `node` that are not bound by a lambda or comprehension inside it."""
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Lambda):
            for a in sub.args.args + sub.args.kwonlyargs + sub.args.posonlyargs:
                bound.add(a.arg)
        elif isinstance(sub, ast.comprehension):
            for t in ast.walk(sub.target):
                if isinstance(t, ast.Name):
                    bound.add(t.id)
    return {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    } - bound


def _segment(lines: list[str], node: ast.AST) -> str | None:
    """Source of `node` (ast columns are UTF-8 byte offsets)."""
    try:
        ln, col = node.lineno, node.col_offset
        eln, ecol = node.end_lineno, node.end_col_offset
    except AttributeError:
        return None
    if ln == eln:
        return lines[ln - 1].encode()[col:ecol].decode(errors="replace")
    parts = [lines[ln - 1].encode()[col:].decode(errors="replace")] + lines[ln: eln - 1] + [
        lines[eln - 1].encode()[:ecol].decode(errors="replace")]
    return "\n".join(parts)
