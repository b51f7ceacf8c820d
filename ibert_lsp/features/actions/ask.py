"""Ask ibert, when the selection is a question: runs the `ibert.ask` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.actions.base import PREFIX, Request

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer


async def offer(ls: IbertServer, req: Request) -> list[types.CodeAction]:
    """A command action for a selected question (comment markers stripped)."""
    if not req.selected.strip():
        return []
    from ibert_lsp.tasks.qa import is_question

    q = " ".join(ln.strip().lstrip("#").strip() for ln in req.selected.split("\n"))
    if not is_question(q):
        return []
    return [types.CodeAction(
        title=PREFIX + f"Ask: {q[:60]}",
        kind=types.CodeActionKind.Refactor,
        command=types.Command(title="Ask ibert", command="ibert.ask",
                              arguments=[{"question": q, "uri": req.uri}]))]
