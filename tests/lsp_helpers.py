"""Shared pieces for the LSP end-to-end tests (pytest-lsp drives `python -m ibert_lsp`)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from lsprotocol import types

from ibert_lsp.client import client_capabilities

ROOT = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, "-m", "ibert_lsp"]


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("IBERT_LOG_LEVEL", "WARNING")
    env.setdefault("IBERT_ALLOW_PLUGINS", "1")  # the scripted generators load as plug-ins
    env.update(extra)
    return env


def capabilities(*, lazy_resolve: bool = True, inline: bool = True) -> types.ClientCapabilities:
    """The capabilities every ibert client announces (`ibert_lsp.client`)."""
    return client_capabilities(lazy_resolve=lazy_resolve, inline=inline)


async def initialize(client, options: dict | None = None, **caps) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(**caps),
        root_uri=ROOT.as_uri(),
        initialization_options=options if options is not None else {
            "ibert": {"features": {"model": False}}},
    ))


def open_doc(client, uri: str, text: str, language: str = "python", version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version,
                                             text=text)))


def change_doc(client, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    """Poll `predicate()` until it returns something truthy; that value is returned."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


async def diagnostics_for(client, uri: str, timeout: float = 20, predicate=None):
    """Wait until diagnostics for `uri` arrive (and satisfy `predicate`, if given)."""
    def ready():
        d = client.diagnostics.get(uri)
        if d is None:
            return None
        if predicate is not None and not predicate(d):
            return None
        return d or [None]

    got = await wait_for(ready, timeout, f"diagnostics for {uri}")
    return [] if got == [None] else got


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits (ASCII documents: characters == UTF-16 units)."""
    lines = text.split("\n")

    def off(p: types.Position) -> int:
        return sum(len(x) + 1 for x in lines[: p.line]) + p.character

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end):]
    return text


def pos_of(text: str, needle: str, delta: int = 0) -> types.Position:
    """Position just after the first occurrence of `needle` (+ delta characters)."""
    i = text.index(needle) + len(needle) + delta
    line = text.count("\n", 0, i)
    return types.Position(line=line, character=i - (text.rfind("\n", 0, i) + 1))
