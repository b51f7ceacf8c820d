"""Diagnostics: Ibis expressions of open documents checked through the gate, debounced.

Each change (re)schedules one task per document that sleeps for the debounce delay, analyses
the document in the gate thread, and publishes if the document has not changed meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import client_range, lines_of
from ibert_lsp.features.registry import safe

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

SOURCE = "ibert"
SEVERITY = {"pandas": types.DiagnosticSeverity.Warning}


def to_diagnostics(doc, analysis) -> list[types.Diagnostic]:
    lines = lines_of(doc)
    out = []
    for p in analysis.problems:
        sev = SEVERITY.get(p.kind, types.DiagnosticSeverity.Error)
        if p.code == "pandas-method":
            sev = types.DiagnosticSeverity.Error
        out.append(types.Diagnostic(
            range=client_range(doc, p.line, p.col, p.end_line, p.end_col, lines),
            message=p.message,
            severity=sev,
            source=SOURCE,
            code=p.code,
            data={"problem": p.to_dict(), "stmt": [p.stmt_line, p.stmt_end_line],
                  "version": doc.version},
        ))
    return out


async def publish(ls: IbertServer, uri: str) -> list[types.Diagnostic]:
    doc = ls.document(uri)
    version = doc.version
    if not ls.settings.enabled("diagnostics"):
        diags: list[types.Diagnostic] = []
    else:
        analysis = await current_analysis(ls, uri)
        doc = ls.document(uri)
        if doc.version != version:  # changed while we were checking: a newer task will publish
            return []
        diags = to_diagnostics(doc, analysis)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=version))
    return diags


def schedule(ls: IbertServer, uri: str, delay: float | None = None) -> None:
    st = ls.state(uri)
    if st.diag_task is not None and not st.diag_task.done():
        st.diag_task.cancel()
    delay = ls.settings.diagnostics_debounce_ms / 1000.0 if delay is None else delay

    async def run():
        try:
            if delay:
                await asyncio.sleep(delay)
            await publish(ls, uri)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # never let a background task die silently
            ls.log(f"ibert: diagnostics failed for {uri}: {type(exc).__name__}: {exc}",
                   types.MessageType.Error)

    st.diag_task = asyncio.get_running_loop().create_task(run())


def reschedule_all(ls: IbertServer) -> None:
    """Re-check every open document at once (settings changed: schemas, features, model)."""
    for uri in list(ls.docs):
        try:
            schedule(ls, uri, delay=0)
        except Exception as exc:  # one document must not keep the others from re-checking
            ls.log(f"ibert: diagnostics not rescheduled for {uri}: {exc}")


@safe()
async def did_open(ls: IbertServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.state(params.text_document.uri)
    schedule(ls, params.text_document.uri, delay=0)


@safe()
async def did_change(ls: IbertServer, params: types.DidChangeTextDocumentParams) -> None:
    schedule(ls, params.text_document.uri)


@safe()
async def did_save(ls: IbertServer, params: types.DidSaveTextDocumentParams) -> None:
    schedule(ls, params.text_document.uri, delay=0)


@safe()
async def did_close(ls: IbertServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.document_closed(params.text_document.uri)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


def register(server: IbertServer) -> None:
    server.on_settings_changed(reschedule_all)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
