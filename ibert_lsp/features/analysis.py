"""The analysis of open documents: snapshot on the event loop → gate thread → stored on the loop.

Every feature that needs what a document's code binds asks here. One analysis per document
version is computed (in the `ibert-gate` thread, whose work runs in a gate worker process) and
shared by every request waiting for it. The gate thread gets an immutable `Snapshot` and
returns an `Analysis`; only the event loop writes the document's `DocState`.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.documents import Snapshot, is_python
from ibert_lsp.tasks.analysis import Analysis, analyze
from ibert_lsp.validate.errors import GateError

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

QUICK_ANALYSIS_S = 0.02  # completion/hover use the last finished analysis unless the current
# one is (almost) ready: names bound above the cursor rarely change with the keystroke
FIRST_ANALYSIS_S = 0.8  # ... or this long when the document has no finished analysis yet


def empty(text: str, schemas: dict) -> Analysis:
    """The analysis of a document ibert does not model (or whose analysis was stopped)."""
    return Analysis(text, schemas, None, {}, [], [], [])


def snapshot(ls: IbertServer, uri: str) -> Snapshot:
    """The current version of `uri` with its configured schemas, copied for background work
    (its own `ibis.table(...)` declarations are read by the analysis, in the gate worker)."""
    doc = ls.document(uri)
    schemas = ls.schemas_for(doc)
    return Snapshot(uri=uri, version=doc.version, text=doc.source, schemas=dict(schemas),
                    root=ls.workspace_root(doc),
                    analyze=is_python(doc) and not ls.too_large(doc))


def analyze_snapshot(snap: Snapshot) -> tuple[Analysis, str | None]:
    """The analysis of a snapshot (runs in a gate thread) and, when the gate worker stopped
    it, why (the analysis is then the empty one)."""
    if not snap.analyze:
        return empty(snap.text, snap.schemas), None
    try:  # the worker parses once: the analysis and the document's own declarations
        return analyze(snap.text, snap.schemas, root=snap.root), None
    except GateError as exc:
        return empty(snap.text, snap.schemas), exc.message


async def _compute(ls: IbertServer, snap: Snapshot) -> Analysis:
    """Analyse `snap` off the loop, then record the result on the loop (even when the
    document changed meanwhile: it is then the last finished analysis `quick_analysis`
    falls back on)."""
    t0 = time.perf_counter()
    an, stopped = await ls.in_gate(analyze_snapshot, snap)
    if stopped is not None:
        ls.log(f"ibert: analysis of {snap.uri} stopped: {stopped}", types.MessageType.Warning)
    st = ls.state(snap.uri)
    st.analysis, st.analysis_version = an, snap.version
    st.analysis_s = time.perf_counter() - t0
    return an


async def current_analysis(ls: IbertServer, uri: str) -> Analysis:
    """One analysis per document version, shared by every request that waits for it."""
    await ls.schemas_ready()
    doc = ls.document(uri)
    st = ls.state(uri)
    if st.analysis is not None and st.analysis_version == doc.version is not None:
        return st.analysis
    fut = st.analysis_future
    if fut is None or st.analysis_future_version != doc.version or (
            fut.done() and (fut.cancelled() or fut.exception() is not None)):
        fut = asyncio.ensure_future(_compute(ls, snapshot(ls, uri)))
        st.analysis_future, st.analysis_future_version = fut, doc.version
    return await asyncio.shield(fut)


def _quietly(fut: asyncio.Future) -> None:
    """Retrieve a background analysis' outcome (its failures are logged by `_compute`)."""
    if not fut.cancelled():
        fut.exception()


async def quick_analysis(ls: IbertServer, uri: str) -> Analysis:
    """The current analysis if it is ready within QUICK_ANALYSIS_S (FIRST_ANALYSIS_S for a
    document never analysed), else the last finished one (an older version, or empty): a
    slow document never makes the editor wait."""
    st = ls.state(uri)
    if st.analysis is None:
        wait = FIRST_ANALYSIS_S
    elif st.analysis_s > 2 * QUICK_ANALYSIS_S:
        # a long document: its new analysis cannot be ready in time, so do not wait for it
        current = asyncio.ensure_future(current_analysis(ls, uri))
        current.add_done_callback(_quietly)
        return st.analysis
    else:
        wait = QUICK_ANALYSIS_S
    try:
        return await asyncio.wait_for(asyncio.shield(current_analysis(ls, uri)), wait)
    except asyncio.TimeoutError:
        if st.analysis is not None:
            return st.analysis
        doc = ls.document(uri)
        return empty(doc.source, ls.schemas_for(doc))
