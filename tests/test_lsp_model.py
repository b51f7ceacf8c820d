"""End-to-end with a scripted model plugged in through `modelPath: python:...`: inline
completion filtered by the gate, model items ranked after deterministic ones, cancellation."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, change_doc, initialize, open_doc, pos_of, server_env, wait_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOC = '''import ibis
from ibis import _

events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string"}, name="events")

q = events.'''


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client, {"ibert": {
        "modelPath": "python:tests.lsp_fakes:make_generator", "maxLatencyMs": 400}})

    async def ready():
        st = await lsp_client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        return st["model"] == "ready"

    for _ in range(200):
        if await ready():
            break
        await asyncio.sleep(0.05)
    yield
    await lsp_client.shutdown_session()


async def test_model_progress_reported(client: LanguageClient):
    reports = await wait_for(lambda: [r for v in client.progress_reports.values() for r in v
                                      if isinstance(r, types.WorkDoneProgressBegin)
                                      and "model" in r.title], what="model progress")
    assert reports


async def test_inline_completion_only_checked_suggestions(client: LanguageClient):
    uri = "file:///tmp/ibert_m_inline.py"
    open_doc(client, uri, DOC)
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "q = events."),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    texts = [i.insert_text for i in res.items]
    assert "filter(_.amount > 10)" in texts
    assert 'group_by("country").agg(total=_.amount.sum())' in texts
    assert all("no_such_column" not in t for t in texts)  # the gate dropped it


async def test_inline_typed_through_served_from_cache(client: LanguageClient):
    uri = "file:///tmp/ibert_m_inline2.py"
    open_doc(client, uri, DOC)
    pos = pos_of(DOC, "q = events.")
    await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    text2 = DOC + "filt"
    change_doc(client, uri, text2, 2)
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text2, "events.filt"),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    assert [i.insert_text for i in res.items] == ["er(_.amount > 10)"]


async def test_invoked_completion_ranks_model_after_members(client: LanguageClient):
    uri = "file:///tmp/ibert_m_comp.py"
    open_doc(client, uri, DOC)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "q = events."),
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked)))
    items = sorted(res.items, key=lambda i: i.sort_text)
    model = [i for i in items if i.detail == "ibert model"]
    assert model and all("no_such_column" not in i.text_edit.new_text for i in model)
    first_model = items.index(model[0])
    assert all(i.detail != "ibert model" for i in items[:first_model])
    assert items[0].label in ("user_id", "amount", "country")


async def test_hover_answer_uses_checked_model_code(client: LanguageClient):
    uri = "file:///tmp/ibert_m_qa.py"
    text = DOC + "x\n# how do I count rows per country?\n"
    open_doc(client, uri, text)
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "# how")))
    assert 'events.group_by("country").agg(n=_.count())' in h.contents.value


async def test_settings_change_turns_model_off(client: LanguageClient):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"ibert": {"features": {"model": False}}}))

    async def state():
        return (await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status")))["model"]

    for _ in range(100):
        if await state() == "off":
            break
        await asyncio.sleep(0.05)
    assert await state() == "off"
    uri = "file:///tmp/ibert_m_off.py"
    open_doc(client, uri, DOC)
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "q = events."),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    assert list(res.items) == []
