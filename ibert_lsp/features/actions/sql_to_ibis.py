"""Convert SQL to Ibis: on a SQL string literal, a `.sql(...)` call, a selection, or a `.sql`
file. The translation (the expensive part) is computed when the action is resolved."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.documents import is_sql
from ibert_lsp.features.actions.base import (
    PREFIX,
    Request,
    indent_continuation,
    looks_like_sql,
)
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import client_range, lines_of
from ibert_lsp.features.services import ActionFailed, translate_sql

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

ACTION = "sql_to_ibis"


async def offer(ls: IbertServer, req: Request) -> list[types.CodeAction]:
    """The action when the cursor or selection is on SQL (its edit comes at resolve)."""
    doc = req.doc
    target = await ls.in_gate(sql_target, doc, req.source, req.sel, req.sel_end, req.selected)
    if target is None:
        return []
    return [types.CodeAction(
        title=PREFIX + "Convert SQL to Ibis",
        kind=types.CodeActionKind.RefactorRewrite,
        data={"action": ACTION, "uri": req.uri, "version": req.version, **target})]


def sql_target(doc, source: str, sel: tuple, sel_end: tuple, selected: str) -> dict | None:
    """What to convert: {'sql', 'range': [l, c, el, ec], 'mode'} or None."""
    lines = source.split("\n")
    if is_sql(doc):
        if selected.strip():
            return {"sql": selected, "range": [*sel, *sel_end], "mode": "sql_file"}
        # the statement under the cursor (statements separated by ';')
        off = sum(len(x) + 1 for x in lines[: sel[0]]) + sel[1]
        start = source.rfind(";", 0, off) + 1
        end = source.find(";", off)
        end = len(source) if end == -1 else end
        stmt = source[start:end]
        if not stmt.strip():
            return None
        lead = len(stmt) - len(stmt.lstrip())
        return {"sql": stmt.strip(), "range": None, "offsets": [start + lead, end],
                "mode": "sql_file"}
    from ibert_lsp.pysource import parse_shared
    from ibert_lsp.tasks.analysis import char_col

    tree, _ = parse_shared(source)
    best = None
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree) if tree is not None else ():
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            a = (node.lineno - 1, char_col(lines, node.lineno - 1, node.col_offset))
            b = (node.end_lineno - 1, char_col(lines, node.end_lineno - 1, node.end_col_offset))
            # the cursor in it, or a selection that overlaps it (quotes in or out, or part)
            if a <= sel_end and sel <= b and looks_like_sql(node.value):
                best = node
    if best is None:
        body = selected.strip()
        m = re.fullmatch(r"(?s)[rRbBfF]?(\"\"\"|'''|\"|')(.*)\1", body)
        if m:
            body = m.group(2)
        if body and looks_like_sql(body) and body[-1] not in "\"'":
            return {"sql": body, "range": [*sel, *sel_end], "mode": "python"}
        return None
    target = best
    parent = parents.get(id(best))
    if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
            and parent.func.attr == "sql" and parent.args and parent.args[0] is best):
        target = parent  # replace the whole `con.sql("...")` call
    a = (target.lineno - 1, char_col(lines, target.lineno - 1, target.col_offset))
    b = (target.end_lineno - 1, char_col(lines, target.end_lineno - 1, target.end_col_offset))
    return {"sql": best.value, "range": [*a, *b], "mode": "python",
            "call": target is not best}


async def resolve(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    an = await current_analysis(ls, doc.uri)
    schemas = dict(an.schemas)
    res = await translate_sql(ls, data["sql"], schemas)
    if not getattr(res, "ibis", None):
        raise ActionFailed(f"ibert: cannot translate this SQL: {getattr(res, 'reason', '')}")
    if not getattr(res, "verified", False):
        raise ActionFailed(
            "ibert: the translation could not be verified against the SQL "
            f"({getattr(res, 'reason', 'no reason given')}); not applied")
    lines = lines_of(doc)
    code = res.ibis.strip("\n")
    if data["mode"] == "python":
        l0, c0, l1, c1 = data["range"]
        text = indent_continuation(code, c0, lines[l0])
        edit = types.TextEdit(range=client_range(doc, l0, c0, l1, c1, lines), new_text=text)
        return types.WorkspaceEdit(changes={doc.uri: [edit]})
    # a .sql file: a new Python file next to it when the client can create files, holding the
    # table declarations and the checked expression; otherwise a comment block after the SQL
    if _can_create_files(ls) and doc.path:
        return _new_python_file(doc, code, schemas, res)
    if data.get("range"):
        l1, c1 = data["range"][2], data["range"][3]
    else:
        end = data["offsets"][1]
        pos = doc.source[:end].split("\n")
        l1, c1 = len(pos) - 1, len(pos[-1])
    block = "\n-- ibis (verified on DuckDB):\n" + "\n".join(
        "-- " + ln for ln in code.split("\n")) + "\n"
    at = client_range(doc, l1, c1, l1, c1, lines)
    return types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(range=at, new_text=block)]})


def _can_create_files(ls: IbertServer) -> bool:
    try:
        we = ls.client_capabilities.workspace.workspace_edit
        return bool(we.document_changes) and types.ResourceOperationKind.Create in (
            we.resource_operations or [])
    except AttributeError:
        return False


def _new_python_file(doc, code: str, schemas: dict, res) -> types.WorkspaceEdit:
    import os

    from pygls.uris import from_fs_path

    base, _ = os.path.splitext(doc.path)
    path = base + "_ibis.py"
    n = 2
    while os.path.exists(path):
        path, n = f"{base}_ibis{n}.py", n + 1
    uri = from_fs_path(path)
    used = [t for t in schemas if re.search(rf"\b{re.escape(t)}\b", code)]
    decls = "\n".join(f"{t} = ibis.table({schemas[t]!r}, name={t!r})" for t in used)
    body = (f'"""Ibis translation of {os.path.basename(doc.path)} (verified on DuckDB: '
            f'{getattr(res, "reason", "")})."""\nimport ibis\nfrom ibis import _\n\n'
            f"{decls}\n\nexpr = {indent_continuation(code, 7, '')}\n")
    return types.WorkspaceEdit(document_changes=[
        types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=types.Position(line=0, character=0),
                                                    end=types.Position(line=0, character=0)),
                                  new_text=body)]),
    ])
