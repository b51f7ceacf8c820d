"""workspace/executeCommand: ibert.ask, ibert.convertSelectionToSql, ibert.convertSqlToIbis,
ibert.generateDocstring, ibert.status.

Arguments may be positional or one object, e.g.
`ibert.convertSelectionToSql({"uri": ..., "range": {...}, "dialect": "postgres"})` or
`ibert.convertSelectionToSql(uri, range, "postgres")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import lines_of, text_in, to_server
from ibert_lsp.features.registry import command

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer


def _args(args: Any, names: list[str]) -> dict:
    """A command's arguments by name: an object, or positional (also wrapped in one list,
    as some clients send them)."""
    if args is None:
        return {}
    if isinstance(args, dict):
        return args
    args = list(args)
    if len(args) == 1 and isinstance(args[0], list):
        args = args[0]
    if len(args) == 1 and isinstance(args[0], dict):
        return args[0]
    return {n: a for n, a in zip(names, args)}


def _range(value: Any) -> types.Range:
    if isinstance(value, types.Range):
        return value
    try:
        return types.Range(
            start=types.Position(line=int(value["start"]["line"]),
                                 character=int(value["start"]["character"])),
            end=types.Position(line=int(value["end"]["line"]),
                               character=int(value["end"]["character"])))
    except (KeyError, TypeError, ValueError):
        raise JsonRpcInvalidParams("range must be {start: {line, character}, end: {...}}") from None


def _need(d: dict, key: str) -> Any:
    if d.get(key) in (None, ""):
        raise JsonRpcInvalidParams(f"missing argument {key!r}")
    return d[key]


def _pcts(values: list[float]) -> dict:
    v = sorted(values)
    if not v:
        return {}
    return {"n": len(v), "p50": v[len(v) // 2], "p95": v[min(len(v) - 1, int(len(v) * 0.95))],
            "max": v[-1]}


async def ask_cmd(ls: IbertServer, *args):
    from ibert_lsp.features.services import ask

    a = _args(args, ["question", "uri"])
    question = str(_need(a, "question"))
    schemas = {}
    if a.get("uri"):
        try:
            schemas = (await current_analysis(ls, a["uri"])).schemas
        except Exception:
            schemas = {}
    res = await ask(ls, question, schemas)
    return res.to_dict()


async def to_sql_cmd(ls: IbertServer, *args):
    from ibert_lsp.features.services import compile_to_sql
    from ibert_lsp.validate.errors import GateError

    a = _args(args, ["uri", "range", "dialect"])
    uri = _need(a, "uri")
    doc = ls.document(uri)
    dialect = a.get("dialect") or ls.settings.dialect
    if a.get("code"):
        code, line = str(a["code"]), len(lines_of(doc)) - 1
    else:
        rng = _range(_need(a, "range"))
        code = text_in(doc, rng).strip()
        line = to_server(doc, rng.start)[0]
    if not code:
        raise JsonRpcInvalidParams("the selection is empty")
    try:
        an = await current_analysis(ls, uri)
        sql = await ls.in_gate(compile_to_sql, an, code, line, dialect)
    except GateError as exc:
        return {"error": exc.message, "kind": exc.kind, "dialect": dialect}
    return {"sql": sql, "dialect": dialect}


async def from_sql_cmd(ls: IbertServer, *args):
    from ibert_lsp.features.services import translate_sql

    a = _args(args, ["sql", "uri"])
    sql = str(_need(a, "sql"))
    schemas = (await current_analysis(ls, a["uri"])).schemas if a.get("uri") else dict(
        ls.config_schemas)
    res = await translate_sql(ls, sql, schemas)
    return {"ibis": res.ibis, "verified": res.verified, "reason": res.reason}


async def doc_cmd(ls: IbertServer, *args):
    from ibert_lsp.features.services import docstring_result
    from ibert_lsp.tasks.documentation import DocError

    a = _args(args, ["uri", "line", "style"])
    uri = _need(a, "uri")
    doc = ls.document(uri)
    line = a.get("line")
    if isinstance(line, dict):  # a Position
        line = to_server(doc, types.Position(line=line["line"],
                                             character=line.get("character", 0)))[0]
    an = await current_analysis(ls, uri)
    try:
        res = await docstring_result(ls, doc.source, int(line or 0),
                                     a.get("style") or ls.settings.docstring_style,
                                     an.schemas)
    except DocError as exc:
        return {"error": str(exc)}
    return res.to_dict()


async def analysis_stats_cmd(ls: IbertServer, *args):
    """Read-only: which statements of a document the analysis modeled (for bench/real_code.py).

    `modeled`: 0-based first lines of statements whose value the analysis knows after the
    statement (a bound name, or an expression that evaluated); `analyzed`: every statement
    it tried; `problems`: diagnostics it found."""
    a = _args(args, ["uri"])
    an = await current_analysis(ls, _need(a, "uri"))
    stmts = list(getattr(an, "statements", []) or [])
    custom = getattr(an, "modeled_lines", None)
    if custom is not None:
        modeled = sorted(set(custom))
    else:
        bound = {(end, name) for end, name, expr in getattr(an, "_history", [])
                 if expr is not None}
        failed = {p.stmt_line for p in an.problems}
        modeled = sorted({s.line - 1 for s in stmts
                          if ((s.end_line, s.target) in bound if s.target
                              else s.line - 1 not in failed)})
    return {"analyzed": sorted({s.line - 1 for s in stmts}), "modeled": modeled,
            "problems": len(an.problems)}


def status_cmd(ls: IbertServer, *args):
    import dataclasses

    return {
        "model": ls.model_state,
        "model_error": ls.model_error,
        "settings": dataclasses.asdict(ls.settings),
        "config_tables": sorted(ls.config_schemas),
        "config_schema_error": ls.config_schema_error,
        "open_documents": len(ls.docs),
        "stats": {k: v for k, v in ls.stats.items() if k != "handler_ms"},
        "handler_ms": {k: _pcts(v) for k, v in ls.stats.get("handler_ms", {}).items()},
    }


# workspace/executeCommand name → handler(ls, *args)
COMMANDS: dict[str, Callable] = {
    "ibert.ask": ask_cmd,
    "ibert.convertSelectionToSql": to_sql_cmd,
    "ibert.convertSqlToIbis": from_sql_cmd,
    "ibert.generateDocstring": doc_cmd,
    "ibert.analysisStats": analysis_stats_cmd,
    "ibert.status": status_cmd,
}


def register(server: IbertServer) -> None:
    for name, handler in COMMANDS.items():
        command(server, name)(handler)
