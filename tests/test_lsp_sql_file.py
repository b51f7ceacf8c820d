"""SQL→Ibis on a `.sql` file, with a client that can create files: a new, self-contained
Python file holding the table declarations and the verified expression."""

from __future__ import annotations

import ast
import shutil
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import ROOT, SERVER, capabilities, open_doc, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    caps = capabilities()
    caps.workspace.workspace_edit.resource_operations = [types.ResourceOperationKind.Create]
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=caps, root_uri=ROOT.as_uri(),
        initialization_options={"ibert": {"features": {"model": False}}}))
    yield
    await lsp_client.shutdown_session()


async def test_sql_file_becomes_a_new_python_file(client: LanguageClient):
    work = Path(tempfile.mkdtemp(prefix="ibert_sqlfile_"))
    shutil.copy(ROOT / "examples" / "top_customers.sql", work / "top.sql")
    shutil.copy(ROOT / "examples" / "schema.json", work / "schema.json")  # found beside it
    uri = (work / "top.sql").as_uri()
    open_doc(client, uri, (work / "top.sql").read_text(), language="sql")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=3, character=0),
                          end=types.Position(line=3, character=0)),
        context=types.CodeActionContext(diagnostics=[])))
    [conv] = [a for a in actions if "Convert SQL to Ibis" in a.title]
    resolved = await client.code_action_resolve_async(conv)
    create, edit = resolved.edit.document_changes
    assert create.kind == "create" and create.uri.endswith("/top_ibis.py")
    body = edit.edits[0].new_text
    ast.parse(body)
    assert "orders = ibis.table(" in body and "customers = ibis.table(" in body
    assert "expr = " in body and "n_orders" in body
    # the new file passes the gate on its own
    from ibert_lsp.schema.sources import from_python_source
    from ibert_lsp.tasks.analysis import analyze

    an = analyze(body, from_python_source(body))
    assert an.problems == [] and "expr" in an.env
