"""Code actions never answer with an error: any range over a document, a selection that covers
a SQL string with or without its quotes or only part of it, and a resolve that cannot compute
its edit (which then says why)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, apply_edits, initialize, open_doc, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOC = '''import ibis

orders = ibis.table({"id": "int64", "amount": "float64", "status": "string"}, name="orders")
q = "SELECT id FROM orders WHERE amount > 10"
bad = "SELECT nosuchcolumn FROM orders"
big = orders.filter(orders.amount > 10).select("id")
'''


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


def rng(line: int, a: int, b: int) -> types.Range:
    return types.Range(start=types.Position(line=line, character=a),
                       end=types.Position(line=line, character=b))


async def actions_for(client, uri: str, r: types.Range) -> list:
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=r,
        context=types.CodeActionContext(diagnostics=[])))


async def test_selections_over_a_sql_string_convert_it(client, tmp_path):
    uri = (tmp_path / "ranges.py").as_uri()
    open_doc(client, uri, DOC)
    line = 3
    text = DOC.split("\n")[line]
    q0, q1 = text.index('"'), text.rindex('"') + 1
    for name, r in {
        "with quotes": rng(line, q0, q1),
        "inside to past the closing quote": rng(line, q0 + 8, q1),
        "without quotes": rng(line, q0 + 1, q1 - 1),
        "a part inside": rng(line, q0 + 3, q0 + 12),
        "cursor": rng(line, q0 + 5, q0 + 5),
    }.items():
        acts = [a for a in await actions_for(client, uri, r) if "Convert SQL to Ibis" in a.title]
        assert acts, name
        resolved = await client.code_action_resolve_async(acts[0])
        assert resolved.edit is not None, (name, resolved.title)
        new = apply_edits(DOC, resolved.edit.changes[uri])
        assert "orders.filter(orders.amount > 10)" in new, (name, new)
        assert "SELECT id" not in new.split("\n")[line], name


async def test_a_resolve_that_cannot_translate_says_why_without_an_error(client, tmp_path):
    uri = (tmp_path / "bad.py").as_uri()
    open_doc(client, uri, DOC)
    line = 4
    acts = [a for a in await actions_for(client, uri, rng(line, 10, 10))
            if "Convert SQL to Ibis" in a.title]
    assert acts
    resolved = await client.code_action_resolve_async(acts[0])
    assert resolved.edit is None
    assert "unavailable" in resolved.title and "nosuchcolumn" in resolved.title


async def test_every_range_answers(client, tmp_path):
    uri = (tmp_path / "every.py").as_uri()
    open_doc(client, uri, DOC)
    lines = DOC.split("\n")
    for i, text in enumerate(lines):
        for a, b in ((0, len(text)), (0, 0), (len(text) // 2, len(text)), (1, 3)):
            found = await actions_for(client, uri, rng(i, min(a, len(text)), min(b, len(text))))
            for act in found or []:
                if isinstance(act, types.CodeAction) and act.edit is None and act.data:
                    resolved = await client.code_action_resolve_async(act)
                    assert resolved.title
    whole = types.Range(start=types.Position(line=0, character=0),
                        end=types.Position(line=len(lines) - 1, character=0))
    assert await actions_for(client, uri, whole) is not None
