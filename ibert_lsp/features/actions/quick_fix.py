"""Quick fixes: for each ibert diagnostic in the range, rule fixes (and model fixes when no
rule fits), each offered only when the fixed statement passes the gate and the problem is gone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.actions.base import PREFIX, Request, overlaps
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import client_range
from ibert_lsp.features.services import model_within, task_budget_s
from ibert_lsp.tasks.candidates import INTERACTIVE_CANDIDATES

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer


async def offer(ls: IbertServer, req: Request) -> list[types.CodeAction]:
    """The fixes for the problems the request's range or diagnostics point at (Python only)."""
    if not ls.is_python(req.doc):
        return []
    return await quick_fixes(ls, req)


async def quick_fixes(ls: IbertServer, req) -> list:
    from ibert_lsp.features.diagnostics import SOURCE, to_diagnostics
    from ibert_lsp.tasks.error_resolution import fixes

    doc, params, sel, sel_end, lines = req.doc, req.params, req.sel, req.sel_end, req.lines
    an = await current_analysis(ls, doc.uri)
    if an.code != req.source:  # the document changed meanwhile: the client asks again
        return []
    diags = to_diagnostics(doc, an)
    wanted = []
    for p, d in zip(an.problems, diags):
        if overlaps((p.line, p.col), (p.end_line, p.end_col), sel, sel_end):
            wanted.append((p, d))
    # diagnostics the client sent back (same version) select problems too
    for cd in (params.context.diagnostics if params.context else []) or []:
        if cd.source != SOURCE:
            continue
        for p, d in zip(an.problems, diags):
            if d.range == cd.range and d.message == cd.message and (p, d) not in wanted:
                wanted.append((p, d))
    st = ls.state(doc.uri)
    if st.fixes_version != req.version:  # editors ask at every cursor move: once a version
        st.fixes, st.fixes_version = {}, req.version
    out = []
    for p, d in wanted[:5]:
        key = (p.line, p.col, p.end_line, p.end_col, p.code, p.message)
        found = st.fixes.get(key)
        if found is None:
            found = await ls.in_gate(fixes, an.code, an.schemas, p, analysis=an)
            if not found:
                found = await model_within(ls, fixes, an.code, an.schemas, p, analysis=an,
                                           n_model=INTERACTIVE_CANDIDATES,
                                           budget_s=task_budget_s(ls)) or []
            if ls.state(doc.uri) is st and st.fixes_version == req.version:
                st.fixes[key] = found
        for i, fx in enumerate(found):
            last = min(fx.end_line, len(lines) - 1)
            edit = types.TextEdit(range=client_range(doc, fx.line, 0, last, len(lines[last]),
                                                     lines), new_text=fx.new_text)
            out.append(types.CodeAction(
                title=PREFIX + fx.title + (" (model)" if fx.source == "model" else ""),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[d],
                is_preferred=(i == 0),
                edit=types.WorkspaceEdit(changes={doc.uri: [edit]}),
            ))
    return out
