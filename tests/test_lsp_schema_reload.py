"""An analysis made before the settings' schemas were read is not reused after: a .sql file
opened right at start converts with the schemaFile's tables."""

from __future__ import annotations

import json

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, initialize, open_doc, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reload")
    schema_file = tmp / "schemas.json"
    schema_file.write_text(json.dumps(
        {"orders": {"order_id": "int64", "customer": "string", "total": "float64"}}))
    lsp_client.tmp = tmp
    await initialize(lsp_client, {"ibert": {"schemaFile": str(schema_file),
                                            "features": {"model": False}}})
    yield
    await lsp_client.shutdown_session()


async def test_sql_file_opened_at_start_uses_the_schema_file(client: LanguageClient):
    uri = (client.tmp / "report.sql").as_uri()
    open_doc(client, uri, "SELECT customer, SUM(total) AS spent FROM orders WHERE total > 5 "
                          "GROUP BY customer\n", language="sql")
    pos = types.Position(line=0, character=10)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[])))
    conv = [a for a in actions if "Convert SQL to Ibis" in a.title]
    assert conv
    resolved = await client.code_action_resolve_async(conv[0])
    assert resolved.edit is not None, resolved.title
    text = "\n".join(e.new_text for e in resolved.edit.changes[uri])
    assert "orders" in text and "group_by" in text


async def test_a_setting_the_client_no_longer_sends_is_dropped(client: LanguageClient):
    """A change applies to the settings initialize gave: a schemaFile that a later change no
    longer sends is gone (the one initialize named is back), not kept from the earlier change."""
    import asyncio

    from tests.lsp_helpers import change_doc, diagnostics_for

    async def labels(version: int, text: str) -> list[str]:
        change_doc(client, uri, text, version)
        await diagnostics_for(client, uri)
        res = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=len("x = orders."))))
        return [i.label for i in res.items]

    other = client.tmp / "other.json"
    other.write_text(json.dumps({"orders": {"z_col": "int64"}}))
    uri = (client.tmp / "q.py").as_uri()
    text = "import ibis\nx = orders."
    open_doc(client, uri, text)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"ibert": {"schemaFile": str(other), "features": {"model": False}}}))
    await asyncio.sleep(0.5)
    got = await labels(2, text + "\n")
    assert "z_col" in got and "order_id" not in got
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"ibert": {"features": {"model": False}}}))
    await asyncio.sleep(0.5)
    got = await labels(3, text + "\n\n")
    assert "z_col" not in got and "order_id" in got
