"""What every code action shares: the request it answers, titles, the SQL test, how an
edit is offered (lazily when the client resolves edits) and how a failed one is said."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ibert_lsp.features.services import ActionFailed

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
    types.CodeActionKind.Source,
]
_SQL_START = re.compile(r"^\s*(\(\s*)?(select|with)\b", re.IGNORECASE | re.DOTALL)
PREFIX = "ibert: "


@dataclass(frozen=True)
class Request:
    """One codeAction request, positions already in server coordinates (0-based, ordered)."""

    params: types.CodeActionParams
    doc: Any  # pygls TextDocument (changes in place: read `source`/`version` instead)
    source: str  # the text and version when the request came: offers computed after an
    version: int | None  # await stay tied to what the client asked about
    lines: list[str]
    sel: tuple[int, int]
    sel_end: tuple[int, int]
    selected: str  # the selected text ("" for a cursor)

    @property
    def uri(self) -> str:
        return self.doc.uri


def looks_like_sql(text: str) -> bool:
    """A query's text: starts with SELECT/WITH and reads FROM (or selects a number)."""
    return bool(_SQL_START.match(text or "")) and bool(
        re.search(r"\bfrom\b|\bselect\b\s+\d", text, re.IGNORECASE))


def lazy_edits(ls: IbertServer) -> bool:
    caps = ls.client_capabilities
    try:
        rs = caps.text_document.code_action.resolve_support
        return rs is not None and "edit" in (rs.properties or [])
    except AttributeError:
        return False


def overlaps(a0: tuple, a1: tuple, b0: tuple, b1: tuple) -> bool:
    return not (a1 < b0 or b1 < a0)


def indent_continuation(code: str, col: int, line_text: str) -> str:
    """Multi-line code placed at column `col`: wrap in parentheses, indent the rest."""
    code = code.strip("\n")
    if "\n" not in code:
        return code
    indent = re.match(r"\s*", line_text).group(0) + "    "
    body = textwrap.indent(code, indent)
    return "(\n" + body + "\n" + re.match(r"\s*", line_text).group(0) + ")"


def unavailable(ls: IbertServer, action: types.CodeAction, exc: BaseException) -> types.CodeAction:
    """`action` with no edit, and why — in its title and as a message to the user."""
    if isinstance(exc, ActionFailed):
        reason = str(getattr(exc, "message", "") or exc).removeprefix(PREFIX.strip()).strip(": ")
    else:
        ls.log(f"ibert: codeAction/resolve failed: {type(exc).__name__}: {exc}",
               types.MessageType.Error)
        reason = f"{type(exc).__name__}: {exc}"
    reason = reason.split("\n")[0][:200]
    ls.tell(f"{PREFIX}{reason}", types.MessageType.Warning)
    action.edit = None
    action.title = f"{action.title} (unavailable: {reason})"
    return action
