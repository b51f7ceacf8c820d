"""LSP work-done progress around the server's background loads (model, schemas)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from lsprotocol import types


class Progress:
    """Work-done progress for a background load, when the client supports it (else only the
    last message is kept)."""

    def __init__(self, server: Any, title: str, message: str) -> None:
        self.server, self.title, self.message = server, title, message
        self.token = f"ibert-{uuid.uuid4().hex[:8]}"
        self.ok = False

    async def __aenter__(self):
        caps = self.server.client_capabilities
        window = getattr(caps, "window", None) if caps else None
        if window is not None and window.work_done_progress:
            try:
                await asyncio.wait_for(
                    self.server.work_done_progress.create_async(self.token), 5)
                self.server.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
                    title=self.title, message=self.message, cancellable=False))
                self.ok = True
            except Exception:
                self.ok = False
        return self.report

    def report(self, msg: str) -> None:
        self.last = msg
        if self.ok:
            self.server.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=msg))

    async def __aexit__(self, *exc):
        if self.ok:
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(
                message=getattr(self, "last", "done")))
        return False
