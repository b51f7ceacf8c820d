"""A hostile document open in the editor: nothing it says runs, the server keeps answering
within the editor's budget, and very large documents get the cheap features only."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, diagnostics_for, initialize, open_doc, pos_of, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")

TABLE = 'orders = ibis.table({"id": "int64", "amount": "float64", "status": "string"}, name="orders")\n'


def hostile_document(marker: str) -> str:
    """The red team's reproducers, one statement each, in one file."""
    payload = f"@ast.sys.modules.get('os').system('touch {marker}')"
    return "\n".join([
        "import ibis",
        TABLE.strip(),
        f'a = orders.filter(ibis.memtable({{"a": [1]}}).op().data.obj.eval("{payload}", '
        'engine="python") == 0)',
        f"b = ibis.memtable({{'a': [1]}}).op().data.obj.to_pickle('{marker}')",
        "x = (((0,)*10000,)*10000,)*10000",
        "c = orders.filter(orders.amount > len({x}))",
        "d = [[[0]*10000]*10000]*10000 == [[[0]*10000]*10000]*10000",
        "e = [[0]*10000 for q in [[0]*10000]*10000]",
        "f = orders.select(ibis.selectors.matches('((a)+)+$'))",
        "g = ['x' * 100_000 for q in range(12_000)]",
        "h = orders.filter(orders.amout > 1)",
        "",
    ])


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    await initialize(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def timed_completion(client: LanguageClient, uri: str, pos: types.Position) -> tuple:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    res = await asyncio.wait_for(client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos)), 10)
    return loop.time() - t0, res


async def test_hostile_document_runs_nothing_and_completion_stays_fast(client, tmp_path):
    marker = tmp_path / "pwned"
    good_uri = (tmp_path / "good.py").as_uri()
    good = "import ibis\n" + TABLE + "y = orders.filter(orders.amount > 1)\nz = orders.\n"
    open_doc(client, good_uri, good)
    await diagnostics_for(client, good_uri)
    await timed_completion(client, good_uri, pos_of(good, "z = orders."))  # a warm server
    bad_uri = (tmp_path / "hostile.py").as_uri()
    text = hostile_document(str(marker))
    open_doc(client, bad_uri, text)
    await asyncio.sleep(0.2)  # the hostile document's analysis is under way
    worst = 0.0
    for _ in range(5):
        took, res = await timed_completion(client, good_uri, pos_of(good, "z = orders."))
        worst = max(worst, took)
        assert any(i.label == "amount" for i in res.items)
    took, res = await timed_completion(client, bad_uri, pos_of(text, "h = orders."))
    worst = max(worst, took)
    assert worst < 1.0, f"completion took {worst:.2f} s while a hostile document was open"
    diags = await diagnostics_for(client, bad_uri, timeout=40,
                                  predicate=lambda d: any("amout" in x.message for x in d))
    assert any("amout" in d.message for d in diags)  # the honest mistake is still reported
    await asyncio.sleep(0.5)
    assert not marker.exists()


async def test_sql_injection_through_code_action_runs_nothing(client, tmp_path):
    marker = tmp_path / "sqlpwned"
    sql = (f'SELECT CAST(id AS DOUBLE) AS "z=1).filter(open(\'{marker}\', \'w\').close() '
           'or 1==0).select(z" FROM orders UNION ALL SELECT id AS b FROM orders')
    uri = (tmp_path / "q.sql").as_uri()
    open_doc(client, uri, sql, language="sql")
    (tmp_path / "schema.json").write_text(
        '{"orders": {"id": "int64", "amount": "float64", "status": "string"}}')
    whole = types.Range(start=types.Position(line=0, character=0),
                        end=types.Position(line=0, character=len(sql)))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=whole,
        context=types.CodeActionContext(diagnostics=[])))
    for action in actions or []:
        if isinstance(action, types.CodeAction) and action.edit is None and action.data:
            await client.code_action_resolve_async(action)
    await asyncio.sleep(0.3)
    assert not marker.exists()


async def test_too_large_document_is_said_once_and_not_analyzed(client, tmp_path):
    uri = (tmp_path / "big.py").as_uri()
    body = "".join(f"v{i} = orders.filter(orders.amout > {i})\n" for i in range(16_000))
    text = "import ibis\n" + TABLE + body
    assert len(text) > 500_000
    before = len(client.messages)
    open_doc(client, uri, text)
    diags = await diagnostics_for(client, uri, timeout=30)
    assert diags == []  # not analyzed: no diagnostics rather than slow or partial ones
    took, res = await timed_completion(client, uri, types.Position(line=1, character=0))
    assert took < 2.0
    said = [m for m in client.messages[before:] if "too large to analyze" in m.message]
    assert len(said) == 1
    await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=3, character=8)))
    said = [m for m in client.messages[before:] if "too large to analyze" in m.message]
    assert len(said) == 1
