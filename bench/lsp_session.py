"""One language server driven over stdio by pygls' client, for the benchmarks that time it
(`lsp_latency.py`, `real_code.py`): start, open/change/close documents, settings, stop.

The client answers what a server asks (progress tokens, `workspace/configuration`) and keeps
every `publishDiagnostics` with the time it arrived. pygls' client never reads the server's
stderr, so a server started here should log to a file (`ibert-lsp --log-file`): a full pipe
would stall it.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Session:
    def __init__(self, cmd: list[str], options: dict | None, capabilities, *,
                 name: str = "ibert-bench", cwd: str | None = None):
        from lsprotocol import types
        from pygls.lsp.client import LanguageClient

        self.cmd, self.options, self.capabilities, self.cwd = cmd, options, capabilities, cwd
        self.client = c = LanguageClient(name, "0.1")
        # (uri, version) and (uri, None) for the latest: the diagnostics and when they came
        self.diags: dict[tuple[str, int | None], list] = {}
        self.diag_seen: dict[tuple[str, int | None], float] = {}

        @c.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _d(params):
            now = time.perf_counter()
            for key in ((params.uri, params.version), (params.uri, None)):
                self.diags[key] = params.diagnostics
                self.diag_seen[key] = now

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _c(params):
            return None

        for method in (types.PROGRESS, types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            c.feature(method)(lambda params: None)

        @c.feature(types.WORKSPACE_CONFIGURATION)
        def _cfg(params):
            return [None for _ in params.items]

    async def start(self) -> float:
        """Start the server and initialize it; seconds it took."""
        from lsprotocol import types

        t0 = time.perf_counter()
        kw = {}
        if self.cwd:  # another checkout's server (e.g. an older commit, for a before/after)
            kw = {"cwd": self.cwd, "env": {**os.environ, "PYTHONPATH": self.cwd}}
        await self.client.start_io(*self.cmd, **kw)
        await self.client.initialize_async(types.InitializeParams(
            capabilities=self.capabilities, root_uri=ROOT.as_uri(),
            initialization_options=self.options))
        self.client.initialized(types.InitializedParams())
        return time.perf_counter() - t0

    @property
    def pid(self) -> int | None:
        proc = getattr(self.client, "_server", None)
        return getattr(proc, "pid", None)

    def configure(self, settings: dict) -> None:
        from lsprotocol import types

        self.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=settings))

    def open(self, uri: str, text: str, version: int = 1) -> None:
        from lsprotocol import types

        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python",
                                                 version=version, text=text)))

    def change(self, uri: str, text: str, version: int) -> float:
        """Send the whole new text; the time it was sent."""
        from lsprotocol import types

        t = time.perf_counter()
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return t

    def close(self, uri: str) -> None:
        from lsprotocol import types

        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        except Exception:
            pass
        try:
            await asyncio.wait_for(self.client.stop(), 5)
        except Exception:
            pass
