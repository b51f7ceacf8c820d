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
