"""End-to-end: the server over stdio, driven by pytest-lsp, without a model."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    ROOT,
    SERVER,
    apply_edits,
    change_doc,
    diagnostics_for,
    initialize,
    open_doc,
    pos_of,
    server_env,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEMO = (ROOT / "examples" / "demo.py").read_text()

DOC = '''import ibis
from ibis import _

events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string"}, name="events")

big = events.filter(events.amout > 10)
ok = events.filter(_.amount > 1).group_by("country").agg(n=_.count())
'''


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient):
    result = await initialize(lsp_client)
    lsp_client.init_result = result
    yield
    await lsp_client.shutdown_session()


async def test_capabilities(client: LanguageClient):
    caps = client.init_result.capabilities
    assert caps.completion_provider is not None and "." in caps.completion_provider.trigger_characters
    assert caps.code_action_provider.resolve_provider is True
    assert caps.hover_provider
    assert caps.inline_completion_provider is not None
    cmds = set(caps.execute_command_provider.commands)
    assert {"ibert.ask", "ibert.convertSelectionToSql", "ibert.generateDocstring"} <= cmds


async def test_diagnostics_unknown_column_exact_range(client: LanguageClient):
    uri = "file:///tmp/ibert_t_diag.py"
    open_doc(client, uri, DOC)
    diags = await diagnostics_for(client, uri)
    assert len(diags) == 1, diags
    d = diags[0]
    assert "amout" in d.message and "did you mean 'amount'" in d.message
    assert d.source == "ibert" and d.severity == types.DiagnosticSeverity.Error
    line = DOC.split("\n")[d.range.start.line]
    assert line[d.range.start.character:d.range.end.character] == "amout"


async def test_diagnostics_follow_edits(client: LanguageClient):
    uri = "file:///tmp/ibert_t_edit.py"
    open_doc(client, uri, DOC)
    await diagnostics_for(client, uri, predicate=lambda d: len(d) == 1)
    fixed = DOC.replace("amout", "amount")
    change_doc(client, uri, fixed, 2)
    await diagnostics_for(client, uri, predicate=lambda d: len(d) == 0)
    broken = fixed + 'bad = events.filter(events.user_id == "abc")\n'
    change_doc(client, uri, broken, 3)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) == 1)
    assert "not comparable" in diags[0].message
    assert diags[0].range.start.line == 7


async def test_demo_file_problems(client: LanguageClient):
    uri = (ROOT / "examples" / "demo.py").as_uri()
    open_doc(client, uri, DEMO)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) >= 4)
    codes = sorted(str(d.code) for d in diags)
    assert codes == ["pandas-filter", "pandas-method", "type-mismatch", "unknown-column"], codes


async def test_completion_columns_then_methods(client: LanguageClient):
    uri = "file:///tmp/ibert_t_comp.py"
    text = DOC + "x = ok."
    open_doc(client, uri, text)
    await diagnostics_for(client, uri)  # analysed (a server just started may still warm up)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(text, "x = ok."),
        context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
                                        trigger_character=".")))
    labels = [i.label for i in sorted(res.items, key=lambda i: i.sort_text)]
    assert labels[:2] == ["country", "n"]  # the columns of `ok`, first
    assert "filter" in labels and "group_by" in labels
    assert "groupby" not in labels
    col = next(i for i in res.items if i.label == "country")
    assert col.kind == types.CompletionItemKind.Field and col.detail == "string"
    meth = next(i for i in res.items if i.label == "filter")
    assert meth.detail.startswith("filter(")


async def test_completion_string_argument_and_deferred(client: LanguageClient):
    uri = "file:///tmp/ibert_t_comp2.py"
    text = DOC + 'y = events.group_by("co'
    open_doc(client, uri, text)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, '("co')))
    assert [i.label for i in res.items] == ["country"]
    text2 = DOC + "z = events.filter(_."
    change_doc(client, uri, text2, 2)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text2, "(_.")))
    assert sorted(i.label for i in res.items) == ["amount", "country", "user_id"]


async def test_completion_items_compile(client: LanguageClient):
    """Every inserted member, applied to the receiver, evaluates through the gate."""
    from ibert_lsp.tasks.analysis import gate_eval

    uri = "file:///tmp/ibert_t_comp3.py"
    text = DOC + "w = events."
    open_doc(client, uri, text)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "w = events.")))
    schemas = {"events": {"user_id": "int64", "amount": "float64", "country": "string"}}
    cols = [i for i in res.items if i.kind == types.CompletionItemKind.Field]
    assert len(cols) == 3
    for item in cols:
        new = apply_edits(text, [item.text_edit])
        gate_eval(new.split("\n")[-1].split("=", 1)[1].strip(), schemas)
    # zero-argument methods, called on the receiver, evaluate too
    for label in ("count", "distinct", "nunique" if False else "head"):
        item = next(i for i in res.items if i.label == label)
        new = apply_edits(text, [item.text_edit])
        gate_eval(new.split("\n")[-1].split("=", 1)[1].strip() + "()", schemas)


async def test_completion_resolve_docs(client: LanguageClient):
    uri = "file:///tmp/ibert_t_comp4.py"
    text = DOC + "v = events."
    open_doc(client, uri, text)
    res = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(text, "v = events.")))
    item = next(i for i in res.items if i.label == "group_by")
    resolved = await client.completion_item_resolve_async(item)
    assert "group" in resolved.documentation.value.lower()
    assert len(resolved.documentation.value) > 200


async def test_quick_fix_unknown_column(client: LanguageClient):
    uri = "file:///tmp/ibert_t_fix.py"
    open_doc(client, uri, DOC)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) == 1)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diags[0].range,
        context=types.CodeActionContext(diagnostics=diags)))
    fixes = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert fixes and fixes[0].is_preferred
    assert "amount" in fixes[0].title
    new = apply_edits(DOC, fixes[0].edit.changes[uri])
    assert "events.amount > 10" in new
    change_doc(client, uri, new, 2)
    await diagnostics_for(client, uri, predicate=lambda d: len(d) == 0)


async def test_quick_fixes_demo(client: LanguageClient):
    uri = "file:///tmp/ibert_t_fix_demo.py"
    open_doc(client, uri, DEMO)
    diags = await diagnostics_for(client, uri, predicate=lambda d: len(d) >= 4)
    expected = {
        "unknown-column": "orders.amount > 100",
        "type-mismatch": "customers.customer_id == 1",
        "pandas-method": 'orders.group_by("status")',
        "pandas-filter": 'orders.filter(orders.created_at > ibis.date("2024-01-01"))',
    }
    for d in diags:
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=d.range,
            context=types.CodeActionContext(diagnostics=[d],
                                            only=[types.CodeActionKind.QuickFix])))
        assert actions, f"no fix for {d.code}: {d.message}"
        new = apply_edits(DEMO, actions[0].edit.changes[uri])
        assert expected[str(d.code)] in new, (d.code, new)


async def test_sql_to_ibis_action_resolve(client: LanguageClient):
    uri = "file:///tmp/ibert_t_sql.py"
    open_doc(client, uri, DEMO)
    pos = pos_of(DEMO, "SELECT customer_id")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[])))
    conv = [a for a in actions if "Convert SQL to Ibis" in a.title]
    assert conv and conv[0].edit is None  # lazy: computed on resolve
    resolved = await client.code_action_resolve_async(conv[0])
    new = apply_edits(DEMO, resolved.edit.changes[uri])
    assert 'top_sql = orders.filter(orders.status == "paid")' in new
    assert "SELECT customer_id" not in new


async def test_sql_file_action(client: LanguageClient):
    uri = (ROOT / "examples" / "top_customers.sql").as_uri()
    sql = (ROOT / "examples" / "top_customers.sql").read_text()
    open_doc(client, uri, sql, language="sql")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=2, character=0),
                          end=types.Position(line=2, character=0)),
        context=types.CodeActionContext(diagnostics=[])))
    conv = [a for a in actions if "Convert SQL to Ibis" in a.title]
    assert conv
    # no resource operations in these client capabilities: the Ibis lands in a comment block
    resolved = await client.code_action_resolve_async(conv[0])
    [edit] = resolved.edit.changes[uri]
    assert "-- ibis (verified on DuckDB):" in edit.new_text
    assert ".join(" in edit.new_text and "n_orders" in edit.new_text


async def test_selection_to_sql_action_and_command(client: LanguageClient):
    uri = "file:///tmp/ibert_t_tosql.py"
    open_doc(client, uri, DOC)
    line = DOC.split("\n").index('ok = events.filter(_.amount > 1).group_by("country").agg(n=_.count())')
    rng = types.Range(start=types.Position(line=line, character=5),
                      end=types.Position(line=line, character=len(DOC.split("\n")[line])))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=[])))
    conv = [a for a in actions if "Convert selection to SQL" in a.title]
    assert conv
    resolved = await client.code_action_resolve_async(conv[0])
    new = apply_edits(DOC, resolved.edit.changes[uri])
    assert "GROUP BY" in new and "_sql = \"\"\"" in new
    res = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="ibert.convertSelectionToSql",
        arguments=[{"uri": uri, "range": {"start": {"line": line, "character": 5},
                                          "end": {"line": line, "character": 200}},
                    "dialect": "postgres"}]))
    assert res["dialect"] == "postgres" and "sql" in res, res
    assert "GROUP BY" in res["sql"] and '"country"' in res["sql"]


async def test_docstring_action(client: LanguageClient):
    uri = "file:///tmp/ibert_t_doc.py"
    open_doc(client, uri, DEMO)
    pos = pos_of(DEMO, "def paid_revenue_by_country")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[])))
    doc_actions = [a for a in actions if "Generate docstring" in a.title]
    assert doc_actions and "Google" in doc_actions[0].title
    resolved = await client.code_action_resolve_async(doc_actions[0])
    new = apply_edits(DEMO, resolved.edit.changes[uri])
    import ast

    fn = next(n for n in ast.walk(ast.parse(new)) if isinstance(n, ast.FunctionDef))
    doc = ast.get_docstring(fn)
    assert "Args:" in doc and "orders" in doc and "customers" in doc and "Returns:" in doc


async def test_hover_member_and_table(client: LanguageClient):
    uri = "file:///tmp/ibert_t_hover.py"
    open_doc(client, uri, DOC)
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "ok = events.filt")))
    assert "Table.filter(" in h.contents.value
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "big = eve")))
    assert "| `amount` | float64 |" in h.contents.value


async def test_hover_question_comment(client: LanguageClient):
    uri = "file:///tmp/ibert_t_qa.py"
    open_doc(client, uri, DEMO)
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(DEMO, "# how do I count")))
    assert h is not None
    assert "group_by" in h.contents.value and "```python" in h.contents.value
    # a comment after code with a string in it is a question too; a `#` inside a string is not
    text = DEMO + '\nlabel = "n"  # how do I count rows per country?\nurl = "a#b how do I count"\n'
    change_doc(client, uri, text, 2)
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(text, "# how do I count rows per")))
    assert h is not None and "group_by" in h.contents.value
    h = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(text, "#b how do I count")))
    assert h is None or "group_by" not in h.contents.value


async def test_ask_command(client: LanguageClient):
    res = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="ibert.ask", arguments=["how do I rename a column?"]))
    assert "Table.rename" in res["sources"]
    assert res["code"] and "rename(" in res["code"][0]
