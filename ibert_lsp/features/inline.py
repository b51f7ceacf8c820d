"""textDocument/inlineCompletion (LSP 3.18): multi-token / multi-line model suggestions.

Fill-in-the-middle with the text after the cursor; only suggestions whose statement evaluates
through the gate are returned. A newer request for the same document cancels the older one
(its generation stops at the next decoding step). Suggestions are cached by (document, prefix,
suffix) and text typed through a cached suggestion is served from the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.documents import ModelState
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import lines_of, to_client, to_server
from ibert_lsp.features.registry import safe
from ibert_lsp.tasks.candidates import INTERACTIVE_CANDIDATES

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 128
PREFIX_WINDOW, SUFFIX_WINDOW = 4000, 2000  # what a suggestion depends on (and is keyed by)


def _key(uri: str, prefix: str, suffix: str) -> tuple:
    h = hashlib.blake2b(digest_size=12)
    h.update(prefix[-PREFIX_WINDOW:].encode("utf-8", "replace"))
    h.update(b"\0")
    h.update(suffix[:SUFFIX_WINDOW].encode("utf-8", "replace"))
    return uri, h.hexdigest()


def _entry(prefix: str, suffix: str, texts: list[str]) -> tuple:
    """What the cache keeps: the windows and lengths, not two copies of the document."""
    return len(prefix), prefix[-PREFIX_WINDOW:], len(suffix), suffix[:SUFFIX_WINDOW], texts


def _typed_through(uri: str, prefix: str, suffix: str) -> list[str] | None:
    """A cached suggestion whose start the user has since typed: the rest of it."""
    for (u, _), entry in reversed(_CACHE.items()):
        if u != uri:
            continue
        n_old, old_window, n_suffix, suffix_window, texts = entry
        if n_suffix != len(suffix) or suffix[:SUFFIX_WINDOW] != suffix_window or len(
                prefix) < n_old or prefix[n_old - len(old_window):n_old] != old_window:
            continue
        typed = prefix[n_old:]
        if not typed or "\n" in typed:
            continue
        rest = [t[len(typed):] for t in texts if t.startswith(typed) and len(t) > len(typed)]
        if rest:
            return rest
    return None


def forget(ls: IbertServer, uri: str) -> None:
    """Drop a closed document's cached suggestions."""
    for key in [k for k in _CACHE if k[0] == uri]:
        del _CACHE[key]


@safe(default=lambda: types.InlineCompletionList(items=[]))
async def inline_completion(ls: IbertServer, params: types.InlineCompletionParams):
    empty = types.InlineCompletionList(items=[])
    uri = params.text_document.uri
    st = ls.state(uri)
    me = asyncio.current_task()
    prev = st.inline_task
    if prev is not None and prev is not me and not prev.done():
        prev.cancel()  # a newer request for this document supersedes the older one
        ls.stats["inline_cancelled"] = ls.stats.get("inline_cancelled", 0) + 1
    st.inline_task = me
    try:
        if not ls.settings.enabled("inline_completion"):
            return empty
        doc = ls.document(uri)
        if not ls.is_python(doc):
            return empty
        if ls.generator is None:
            if ls.model_state in (ModelState.MISSING, ModelState.FAILED):
                ls.tell_no_model_once()
            return empty
        lines = lines_of(doc)
        line, character = to_server(doc, params.position, lines)
        source = doc.source
        off = sum(len(x) + 1 for x in lines[:line]) + character
        prefix, suffix = source[:off], source[off:]
        texts = _typed_through(uri, prefix, suffix)
        if texts is None:
            key = _key(uri, prefix, suffix)
            cached = _CACHE.get(key)
            if cached is not None:
                texts = cached[-1]
            else:
                an = await current_analysis(ls, uri)
                from ibert_lsp.tasks.continuations import continuations

                texts = await ls.run_model(
                    continuations, source, line, character, an.schemas,
                    env=an.env_before(line), n=INTERACTIVE_CANDIDATES, max_new_tokens=48,
                    deadline_s=ls.model_deadline())
                from ibert_lsp.tasks.relevance import completion_verdict

                line_rest = suffix.split("\n", 1)[0]  # all the verdict reads of the suffix
                texts = [t for t in texts or [] if completion_verdict("", t, line_rest).ok]
                _CACHE[key] = _entry(prefix, suffix, texts)
                while len(_CACHE) > _CACHE_SIZE:
                    _CACHE.popitem(last=False)
        pos = to_client(doc, line, character, lines)
        return types.InlineCompletionList(items=[
            types.InlineCompletionItem(insert_text=t,
                                       range=types.Range(start=pos, end=pos))
            for t in texts])
    finally:
        if st.inline_task is me:
            st.inline_task = None


def register(server: IbertServer) -> None:
    server.on_document_closed(forget)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                   types.InlineCompletionOptions())(inline_completion)
