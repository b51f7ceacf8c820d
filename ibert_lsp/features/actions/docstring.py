"""Generate docstring on a `def` (style from the settings; the model's summary when loaded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.actions.base import PREFIX, Request
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import lines_of, to_client
from ibert_lsp.features.services import ActionFailed, docstring_result

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

ACTION = "docstring"


async def offer(ls: IbertServer, req: Request) -> list[types.CodeAction]:
    """The action when the cursor is in a function (Python only)."""
    if not ls.is_python(req.doc):
        return []
    fn = await ls.in_gate(_function_at, req.source, req.sel[0])
    if fn is None:
        return []
    style = ls.settings.docstring_style
    return [types.CodeAction(
        title=PREFIX + f"Generate docstring for `{fn}` ({style.capitalize()} style)",
        kind=types.CodeActionKind.Refactor,
        data={"action": ACTION, "uri": req.uri, "version": req.version,
              "line": req.sel[0], "style": style})]


def _function_at(source: str, line: int) -> str | None:
    from ibert_lsp.tasks.documentation import DocError, find_function

    try:
        return find_function(source, line).name
    except DocError:
        return None


async def resolve(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    from ibert_lsp.tasks.documentation import DocError

    an = await current_analysis(ls, doc.uri)
    try:
        res = await docstring_result(ls, doc.source, data["line"], data.get("style") or
                                     ls.settings.docstring_style, an.schemas)
    except DocError as exc:
        raise ActionFailed(f"ibert: {exc}") from None
    lines = lines_of(doc)
    start = to_client(doc, res.insert_line, 0, lines)
    end = to_client(doc, res.replace_end_line, 0, lines) if res.replace_end_line < len(lines) \
        else to_client(doc, len(lines) - 1, len(lines[-1]), lines)
    edit = types.TextEdit(range=types.Range(start=start, end=end), new_text=res.block)
    return types.WorkspaceEdit(changes={doc.uri: [edit]})
