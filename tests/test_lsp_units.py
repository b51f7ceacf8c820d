"""Unit tests of the language server's pure helpers, imported without starting a server."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from lsprotocol import types

from ibert_lsp.documents import ModelState, Snapshot, is_python, is_sql
from ibert_lsp.features import inline, registry, services
from ibert_lsp.features.actions import OFFERS, RESOLVERS, wanted
from ibert_lsp.features.actions.base import indent_continuation, looks_like_sql, overlaps
from ibert_lsp.features.analysis import analyze_snapshot


class FakeServer:
    """What the handler wrapper touches: stats and the log."""

    def __init__(self) -> None:
        self.stats: dict = {}
        self.logged: list[str] = []
        self.generator = None

    def log(self, message: str, level: object = None) -> None:
        self.logged.append(message)

    def model_deadline(self) -> float:
        return 0.5


def test_safe_turns_a_failure_into_the_default_and_counts_it():
    @registry.safe(default=list)
    async def broken(ls, params):
        raise ValueError("boom")

    ls = FakeServer()
    assert asyncio.run(broken(ls, None)) == []
    assert ls.stats["handler_errors"] == 1
    assert "broken failed: ValueError: boom" in ls.logged[0]
    assert len(ls.stats["handler_ms"]["broken"]) == 1


def test_safe_lets_cancellation_through():
    @registry.safe()
    async def cancelled(ls):
        raise asyncio.CancelledError

    try:
        asyncio.run(cancelled(FakeServer()))
    except asyncio.CancelledError:
        return
    raise AssertionError("cancellation was swallowed")


def test_handler_times_are_trimmed():
    ls = FakeServer()
    for _ in range(registry.HANDLER_TIMES_KEPT + 1):
        registry._timing(ls, "h", 0.001)
    assert len(ls.stats["handler_ms"]["h"]) == (
        registry.HANDLER_TIMES_KEPT + 1 - registry.HANDLER_TIMES_DROPPED)


def test_every_listed_feature_module_registers():
    registered: list[str] = []

    class Recorder:
        def feature(self, name, *options):
            registered.append(name)
            return lambda fn: fn

        def command(self, name):
            registered.append(name)
            return lambda fn: fn

        def on_settings_changed(self, fn):
            registered.append("settings")

        def on_document_closed(self, fn):
            registered.append("closed")

    registry.register_all(Recorder())
    for method in (types.INITIALIZE, types.TEXT_DOCUMENT_DID_OPEN, types.TEXT_DOCUMENT_COMPLETION,
                   types.TEXT_DOCUMENT_INLINE_COMPLETION, types.TEXT_DOCUMENT_CODE_ACTION,
                   types.CODE_ACTION_RESOLVE, types.TEXT_DOCUMENT_HOVER, "ibert.status",
                   "settings", "closed"):
        assert method in registered, method
    assert len(registered) == len(set(registered))


def test_the_code_action_table_resolves_what_it_offers():
    assert set(RESOLVERS) == {"sql_to_ibis", "to_sql", "docstring"}
    assert [kind for kind, _ in OFFERS][0] == types.CodeActionKind.QuickFix
    assert wanted(None, types.CodeActionKind.RefactorRewrite)
    assert wanted([types.CodeActionKind.Refactor], types.CodeActionKind.RefactorRewrite)
    assert not wanted([types.CodeActionKind.QuickFix], types.CodeActionKind.Refactor)


def test_action_helpers():
    assert looks_like_sql("SELECT a FROM t")
    assert looks_like_sql("  with x as (select 1) select * from x")
    assert not looks_like_sql("select the rows you need")
    assert overlaps((1, 0), (1, 5), (1, 5), (2, 0)) and not overlaps((1, 0), (1, 4), (1, 5),
                                                                       (2, 0))
    assert indent_continuation("t.a", 4, "x = t") == "t.a"
    assert indent_continuation("t\n.a", 4, "    x = s") == "(\n        t\n        .a\n    )"


def test_inline_suggestions_are_forgotten_on_close():
    inline._CACHE.clear()
    inline._CACHE[inline._key("file:///a.py", "x = t.", "")] = inline._entry("x = t.", "",
                                                                              ["amount"])
    inline._CACHE[inline._key("file:///b.py", "y = t.", "")] = inline._entry("y = t.", "",
                                                                              ["fare"])
    inline.forget(None, "file:///a.py")
    assert [k[0] for k in inline._CACHE] == ["file:///b.py"]
    assert inline._typed_through("file:///b.py", "y = t.fa", "") == ["re"]
    assert inline._typed_through("file:///b.py", "z = t.fa", "") is None  # another prefix
    assert inline._typed_through("file:///b.py", "y = t.fa", "\nmore") is None  # suffix
    # a long document: the cache keeps windows, not the whole text
    long = "# x\n" * 5000 + "y = t."
    inline._CACHE[inline._key("file:///c.py", long, "")] = inline._entry(long, "", ["fare"])
    assert sum(len(str(v)) for v in inline._CACHE.values()) < 10_000
    assert inline._typed_through("file:///c.py", long + "f", "") == ["are"]
    inline._CACHE.clear()


def test_model_within_is_none_without_a_model_and_budgets_are_named():
    ls = FakeServer()
    assert asyncio.run(services.model_within(ls, lambda: 1, budget_s=1.0)) is None
    assert services.task_budget_s(ls) == 0.5 * services.TASK_WAIT_DEADLINES + \
        services.TASK_WAIT_SLACK_S
    assert services.completion_budget_s(ls) == 0.5 * services.COMPLETION_WAIT_DEADLINES + \
        services.COMPLETION_WAIT_SLACK_S


def test_documents_and_snapshots():
    py = SimpleNamespace(language_id="python", uri="file:///x.txt")
    sql = SimpleNamespace(language_id="", uri="file:///q.SQL")
    untitled = SimpleNamespace(language_id="", uri="untitled:1")
    assert is_python(py) and not is_sql(py)
    assert is_sql(sql) and not is_python(sql)
    assert is_python(untitled)
    snap = Snapshot(uri="file:///q.sql", version=3, text="SELECT 1", schemas={}, root=None,
                    analyze=False)
    an, stopped = analyze_snapshot(snap)
    assert stopped is None and an.problems == [] and an.code == "SELECT 1"
    assert ModelState("unreachable") is ModelState.UNREACHABLE and ModelState.READY == "ready"


def test_a_sql_files_schema_json_is_read_again_only_when_it_changes(tmp_path):
    import json
    import os

    from pygls.workspace import TextDocument

    from ibert_lsp.server import IbertServer

    ls = IbertServer()
    sibling = tmp_path / "schema.json"
    sibling.write_text(json.dumps({"orders": {"id": "int64"}}))
    doc = TextDocument((tmp_path / "q.sql").as_uri(), "SELECT 1", language_id="sql")
    first = ls.schemas_for(doc)
    assert first == {"orders": {"id": "int64"}}
    first["orders"] = {}  # a caller's copy: the cache is not changed through it
    assert ls.schemas_for(doc) == {"orders": {"id": "int64"}}
    sibling.write_text(json.dumps({"clients": {"id": "int64"}}))
    os.utime(sibling, ns=(1, 10**18))  # a new modification time
    assert ls.schemas_for(doc) == {"clients": {"id": "int64"}}
    sibling.unlink()
    assert ls.schemas_for(doc) == {}
