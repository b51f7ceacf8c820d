"""textDocument/codeAction (+ codeAction/resolve).

- Quick fix for each ibert diagnostic in the range: rule fixes (and model fixes when no rule
  fits), each offered only when the fixed statement passes the gate and the problem is gone.
- Convert SQL to Ibis: on a SQL string literal, a `.sql(...)` call, a selection, or a `.sql`
  file. The translation (the expensive part) is computed in codeAction/resolve.
- Convert selection to SQL (Ibis -> SQL in the configured dialect).
- Generate docstring on a `def` (style from settings).
- Ask ibert, when the selection is a question (runs the `ibert.ask` command).

Edits are computed lazily when the client resolves `edit` (codeAction.resolveSupport), eagerly
otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.actions import ask, docstring, quick_fix, sql_to_ibis, to_sql
from ibert_lsp.features.actions.base import KINDS, Request, lazy_edits, unavailable
from ibert_lsp.features.common import text_in, to_server
from ibert_lsp.features.registry import safe
from ibert_lsp.features.services import ActionFailed

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

Offer = Callable[["IbertServer", Request], Awaitable[list[types.CodeAction]]]
Resolve = Callable[["IbertServer", object, dict], Awaitable[types.WorkspaceEdit]]

# Offered in this order, each when the client wants its kind.
OFFERS: tuple[tuple[str, Offer], ...] = (
    (types.CodeActionKind.QuickFix, quick_fix.offer),
    (types.CodeActionKind.RefactorRewrite, sql_to_ibis.offer),
    (types.CodeActionKind.RefactorRewrite, to_sql.offer),
    (types.CodeActionKind.Refactor, docstring.offer),
    (types.CodeActionKind.Refactor, ask.offer),
)
# `data["action"]` of an offered action → what computes its edit at codeAction/resolve.
RESOLVERS: dict[str, Resolve] = {
    sql_to_ibis.ACTION: sql_to_ibis.resolve,
    to_sql.ACTION: to_sql.resolve,
    docstring.ACTION: docstring.resolve,
}


def request_of(ls: IbertServer, params: types.CodeActionParams) -> Request:
    """The request in server coordinates, the selection ordered."""
    doc = ls.document(params.text_document.uri)
    source, version = doc.source, doc.version
    lines = source.split("\n")
    sel = to_server(doc, params.range.start, lines)
    sel_end = to_server(doc, params.range.end, lines)
    if sel_end < sel:
        sel, sel_end = sel_end, sel
    selected = text_in(doc, params.range, lines) if sel != sel_end else ""
    return Request(params=params, doc=doc, source=source, version=version, lines=lines,
                   sel=sel, sel_end=sel_end,
                   selected=selected)


def wanted(only: list[str] | None, kind: str) -> bool:
    """Whether the client asked for `kind` (`only` lists kinds or their parents)."""
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


async def code_action(ls: IbertServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Every action the request's position offers, in `OFFERS` order."""
    if not ls.settings.enabled("code_actions"):
        return []
    req = request_of(ls, params)
    only = params.context.only if params.context else None
    lazy = lazy_edits(ls)
    actions: list[types.CodeAction | None] = []
    for kind, offer in OFFERS:
        if not wanted(only, kind):
            continue
        for action in await offer(ls, req):
            actions.append(await offered(ls, action, lazy) if action.data is not None
                           else action)
    return [a for a in actions if a is not None]


async def offered(ls: IbertServer, action: types.CodeAction, lazy: bool) -> types.CodeAction | None:
    """The action as offered: unresolved for clients that resolve lazily, else resolved now —
    and then not offered at all when its edit cannot be computed."""
    if lazy:
        return action
    try:
        return await resolve_action(ls, action)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - not offered rather than an error
        ls.log(f"ibert: action not offered ({action.title}): {exc}")
        return None


async def resolve_action(ls: IbertServer, action: types.CodeAction) -> types.CodeAction:
    """`action` with its edit, computed by the resolver its `data["action"]` names."""
    data = action.data if isinstance(action.data, dict) else None
    if not data or "action" not in data:
        return action
    doc = ls.document(data["uri"])
    if data.get("version") is not None and doc.version is not None and (
            doc.version != data["version"]):
        raise ActionFailed("ibert: the document changed; ask for the action again")
    resolve = RESOLVERS.get(data["action"])
    if resolve is not None:
        action.edit = await resolve(ls, doc, data)
    return action


async def code_action_resolve(ls: IbertServer, action: types.CodeAction) -> types.CodeAction:
    """Never an error: an action whose edit cannot be computed comes back without one,
    its title and a message saying why."""
    try:
        return await resolve_action(ls, action)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - ActionFailed, or a bug: said, not raised
        return unavailable(ls, action, exc)


def register(server: IbertServer) -> None:
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                   types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True))(
        safe(default=list)(code_action))
    server.feature(types.CODE_ACTION_RESOLVE)(code_action_resolve)
