"""The server survives what clients send: junk, huge documents, half-typed code, bad params,
and settings that change under it."""

from __future__ import annotations

import asyncio
import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    SERVER,
    diagnostics_for,
    initialize,
    open_doc,
    pos_of,
    server_env,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TABLE = 'events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string"}, name="events")\n'


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def alive(client: LanguageClient) -> bool:
    st = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ibert.status"))
    return isinstance(st, dict) and "model" in st


async def test_binary_junk_and_unknown_encoding(client: LanguageClient):
    uri = "file:///tmp/ibert_r_junk.py"
    junk = bytes(range(256)).decode("latin-1") * 20 + "\x00\ufffd\ud7ff" + "events.\x00("
    open_doc(client, uri, junk)
    await diagnostics_for(client, uri)
    for pos in (types.Position(line=0, character=5), types.Position(line=0, character=10_000)):
        await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos))
        await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos))
        await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=pos, end=pos), context=types.CodeActionContext(diagnostics=[])))
    assert await alive(client)


async def test_half_typed_code_keeps_checking_the_rest(client: LanguageClient):
    uri = "file:///tmp/ibert_r_half.py"
    text = ("import ibis\n" + TABLE + "x = events.filter(events.amount > \n"
            "y = events.filter(events.amout > 1)\nz = events.group_by(\n")
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) >= 1)
    assert any("amout" in d.message for d in diags)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(text, "z = events.group_by(")))
    assert any(i.label == '"country"' for i in res.items)


async def test_huge_document(client: LanguageClient):
    uri = "file:///tmp/ibert_r_huge.py"
    body = "".join(f"v{i} = events.filter(events.amount > {i})\n" for i in range(10_500))
    text = "import ibis\n" + TABLE + body + "last = events.amout\n"
    assert text.count("\n") > 10_000
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    open_doc(client, uri, text)
    await diagnostics_for(client, uri)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=5, character=len("v3 = events."))))
    assert any(i.label == "amount" for i in res.items)
    assert loop.time() - t0 < 30
    assert await alive(client)


async def test_bad_params_become_errors_not_crashes(client: LanguageClient):
    with pytest.raises(Exception):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="ibert.convertSelectionToSql", arguments=[{"uri": "file:///nope.py"}]))
    with pytest.raises(Exception):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="ibert.ask", arguments=[]))
    # a document the server never saw
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri="file:///never/opened.py"),
        position=types.Position(line=3, character=2)))
    assert res is None or res.items is not None
    # resolve with garbage data
    act = await client.code_action_resolve_async(types.CodeAction(title="x", data={"junk": 1}))
    assert act.title == "x"
    assert await alive(client)


async def test_settings_schema_file_and_docstring_style(client: LanguageClient, tmp_path=None):
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp(prefix="ibert_r_"))
    (d / "schema.json").write_text(json.dumps({"sales": {"region": "string", "total": "float64"}}))
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "ibert": {"schemaFile": str(d / "schema.json"), "docstringStyle": "numpy",
                  "dialect": "postgres", "unknownThing": 1}}))
    uri = "file:///tmp/ibert_r_settings.py"
    text = "import ibis\nq = sales.filter(sales.totl > 3)\n\ndef f(sales, n):\n    return sales\n"
    for _ in range(100):
        st = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        if st["config_tables"] == ["sales"]:
            break
        await asyncio.sleep(0.05)
    assert st["settings"]["docstring_style"] == "numpy" and st["settings"]["dialect"] == "postgres"
    assert any("unknownThing" in m.message for m in client.messages)
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) == 1)
    assert "did you mean 'total'" in diags[0].message
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=3, character=4),
                          end=types.Position(line=3, character=4)),
        context=types.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions]
    assert any("Numpy style" in t for t in titles), titles
    # a bad value is refused with a message, the old value kept
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "ibert": {"docstringStyle": "klingon", "schemaFile": None}}))
    for _ in range(100):
        st = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        if st["config_tables"] == []:
            break
        await asyncio.sleep(0.05)
    assert st["settings"]["docstring_style"] == "numpy"
    assert any("klingon" not in m.message and "docstring_style" in m.message
               for m in client.messages)


async def test_duckdb_database_setting(client: LanguageClient):
    import tempfile
    from pathlib import Path

    import duckdb

    path = Path(tempfile.mkdtemp(prefix="ibert_db_")) / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE payments (payment_id BIGINT, method VARCHAR, cents INTEGER)")
    con.close()
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "ibert": {"database": str(path)}}))
    for _ in range(200):
        st = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        if st["config_tables"] == ["payments"]:
            break
        await asyncio.sleep(0.05)
    assert st["config_tables"] == ["payments"], st
    uri = "file:///tmp/ibert_r_db.py"
    text = "import ibis\nq = payments."
    open_doc(client, uri, text)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "payments.")))
    labels = [i.label for i in sorted(res.items, key=lambda i: i.sort_text)]
    assert labels[:3] == ["payment_id", "method", "cents"]
    progress = [r for v in client.progress_reports.values() for r in v
                if isinstance(r, types.WorkDoneProgressBegin) and "schemas" in r.title]
    assert progress


async def test_no_model_message_once(client: LanguageClient):
    """With the model feature on but no model anywhere, the server says so exactly once."""
    import os
    import tempfile

    # this server runs with model off; turn it on with an empty IBERT_HOME-like missing path
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "ibert": {"features": {"model": True},
                  "modelPath": os.path.join(tempfile.mkdtemp(), "no-model-here")}}))
    for _ in range(200):
        st = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        if st["model"] in ("failed", "missing"):
            break
        await asyncio.sleep(0.05)
    assert st["model"] in ("failed", "missing")
    uri = "file:///tmp/ibert_r_nomodel.py"
    text = "import ibis\n" + TABLE + "q = events."
    open_doc(client, uri, text)
    for _ in range(2):
        res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "q = events."),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
        assert list(res.items) == []
    told = [m for m in client.messages if "ibert model build" in m.message]
    assert len(told) == 1
    # deterministic features still work
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "q = events.")))
    assert any(i.label == "amount" for i in res.items)
