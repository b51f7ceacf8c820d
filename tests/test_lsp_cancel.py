"""Cancellation: a newer inline request cancels the older one for the same document, and
`$/cancelRequest` stops a running generation (the scripted model logs that it saw the event)."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, initialize, open_doc, pos_of, server_env, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOG = os.path.join(tempfile.mkdtemp(prefix="ibert_cancel_"), "cancel.log")
DOC = '''import ibis
events = ibis.table({"amount": "float64", "country": "string"}, name="events")
q = events.'''


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(
    server_command=SERVER,
    server_env=server_env(IBERT_FAKE_CANCEL_LOG=LOG, IBERT_FAKE_DELAY="2.5")))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, {"ibert": {
        "modelPath": "python:tests.lsp_fakes:make_slow_generator"}})
    for _ in range(200):
        st = await lsp_client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        if st["model"] == "ready":
            break
        await asyncio.sleep(0.05)
    yield
    await lsp_client.shutdown_session()


def _params(uri):
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "q = events."),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic))


def _count(word: str) -> int:
    try:
        with open(LOG) as fh:
            return fh.read().count(word)
    except FileNotFoundError:
        return 0


def _cancel_count() -> int:
    return _count("cancelled")


async def _generation_started(since: int) -> None:
    """The request's analysis runs first (in a gate worker that may still be starting):
    wait until the model is really generating instead of guessing a delay."""
    await wait_for(lambda: _count("started") > since, 15, "the generation to start")


async def test_cancel_request_stops_generation(client: LanguageClient):
    uri = "file:///tmp/ibert_c1.py"
    open_doc(client, uri, DOC)
    before, started = _cancel_count(), _count("started")
    fut = asyncio.ensure_future(client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                             _params(uri), msg_id="inline-cancel-1"))
    await _generation_started(started)  # generation is running in the model worker
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="inline-cancel-1"))
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(fut, 4)
    assert "cancel" in str(info.value).lower()
    await wait_for(lambda: _cancel_count() > before, 4, "the generator to see the cancel event")


async def test_newer_request_cancels_older(client: LanguageClient):
    uri = "file:///tmp/ibert_c2.py"
    open_doc(client, uri, DOC)
    before, started = _cancel_count(), _count("started")
    first = asyncio.ensure_future(client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                               _params(uri), msg_id="inline-old"))
    await _generation_started(started)
    second = asyncio.ensure_future(client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                                _params(uri), msg_id="inline-new"))
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(first, 4)
    assert "cancel" in str(info.value).lower()
    await wait_for(lambda: _cancel_count() > before, 4, "the older generation to stop")
    res = await asyncio.wait_for(second, 15)
    assert any("filter(_.amount > 10)" == i.insert_text for i in res.items)
