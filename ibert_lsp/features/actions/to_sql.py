"""Convert selection to SQL: the selected Ibis code, or the statement under the cursor,
compiled in the configured dialect and inserted below as a string."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.actions.base import PREFIX, Request, looks_like_sql
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import client_range, lines_of
from ibert_lsp.features.services import ActionFailed, compile_to_sql

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer
    from ibert_lsp.tasks.analysis import Analysis

ACTION = "to_sql"


async def offer(ls: IbertServer, req: Request) -> list[types.CodeAction]:
    """The action when the selection (or the statement at the cursor) is checked Ibis code."""
    doc = req.doc
    if not ls.is_python(doc):
        return []
    an = await current_analysis(ls, doc.uri)
    to_sql = await ls.in_gate(ibis_selection, an, req.sel, req.sel_end, req.selected)
    if to_sql is None:
        return []
    return [types.CodeAction(
        title=PREFIX + f"Convert selection to SQL ({ls.settings.dialect})",
        kind=types.CodeActionKind.RefactorRewrite,
        data={"action": ACTION, "uri": req.uri, "version": req.version,
              "dialect": ls.settings.dialect, **to_sql})]


def ibis_selection(an: Analysis, sel, sel_end, selected: str) -> dict | None:
    """The Ibis code to compile: the selection, or the statement under the cursor (runs in a
    gate thread on the document's analysis)."""
    from ibert_lsp.tasks.analysis import gate_eval

    if selected.strip():
        code = textwrap.dedent(selected).strip()
        if looks_like_sql(code):
            return None
        env = an.env_before(sel[0])
        try:
            gate_eval("(" + code + ")" if "\n" not in code and "=" not in code else code,
                      an.schemas, env)
        except Exception:
            try:
                gate_eval(code, an.schemas, env)
            except Exception:
                return None
        return {"code": code, "insert_after": sel_end[0], "name": None, "line": sel[0]}
    for st in an.statements:
        if st.line - 1 <= sel[0] <= st.end_line - 1:
            if any(p.stmt_line == st.line - 1 for p in an.problems):
                return None
            return {"code": st.snippet, "insert_after": st.node.end_lineno - 1,
                    "name": st.target, "line": st.line - 1}
    return None


async def resolve(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    from ibert_lsp.validate.errors import GateError

    try:
        an = await current_analysis(ls, doc.uri)
        sql = await ls.in_gate(compile_to_sql, an, data["code"], data["line"],
                               data.get("dialect") or ls.settings.dialect)
    except GateError as exc:
        raise ActionFailed(f"ibert: cannot compile to SQL: {exc.message}") from None
    lines = lines_of(doc)
    after = min(data["insert_after"], len(lines) - 1)
    indent = re.match(r"\s*", lines[data["line"]]).group(0)
    name = (data.get("name") or "expr") + "_sql"
    body = "\n".join(indent + ln if ln else ln for ln in sql.strip().split("\n"))
    text = f"\n{indent}{name} = \"\"\"\n{body}\n{indent}\"\"\""
    at = client_range(doc, after, len(lines[after]), after, len(lines[after]), lines)
    return types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(range=at, new_text=text)]})
