"""Never silently wrong: abstentions carry a reason, and nothing unverified is returned."""

from __future__ import annotations

from ibert_lsp.tasks.sql_to_ibis import Result, translate
from ibert_lsp.tasks.sql_to_ibis.translator import build

SCHEMAS = {"orders": {"id": "int64", "status": "string", "amount": "float64", "qty": "int64"}}


def test_constructs_parse_sql_drops_are_kept() -> None:
    """ibis.parse_sql drops HAVING, DISTINCT and COUNT(DISTINCT); the translator keeps them."""
    having = translate("select status, count(*) as n from orders group by status having count(*) > 3", SCHEMAS)
    distinct = translate("select distinct status from orders", SCHEMAS)
    nunique = translate("select count(distinct status) as n from orders", SCHEMAS)
    assert having.verified and ".having(" in having.ibis
    assert distinct.verified and ".distinct()" in distinct.ibis
    assert nunique.verified and ".nunique()" in nunique.ibis


def test_unsupported_construct_abstains_with_reason() -> None:
    res = translate("select id from orders where amount > all (select amount from orders where qty > 1)",
                    SCHEMAS)
    assert isinstance(res, Result)
    assert res.ibis is None and not res.verified
    assert "ALL" in res.reason


def test_unknown_column_is_a_clear_reason() -> None:
    res = translate("select nope from orders", SCHEMAS)
    assert res.ibis is None and "nope" in res.reason


def test_syntax_error_is_a_clear_reason() -> None:
    res = translate("selec id frm orders", SCHEMAS)
    assert res.ibis is None and "does not parse" in res.reason


def test_several_statements_rejected() -> None:
    res = translate("select id from orders; select id from orders", SCHEMAS)
    assert res.ibis is None and "one SQL statement" in res.reason


def test_non_query_rejected() -> None:
    res = translate("delete from orders", SCHEMAS)
    assert res.ibis is None and not res.verified


def test_wrong_candidate_is_not_returned(monkeypatch) -> None:
    """If the translator produced a wrong program, the gate must stop it."""
    from ibert_lsp.tasks.sql_to_ibis import api
    from ibert_lsp.tasks.sql_to_ibis.translator import Candidate

    def wrong(sql, schemas, dialect):  # drops the WHERE clause
        return Candidate("orders.select('id')", sql, ["select"])

    monkeypatch.setattr(api, "build", wrong)
    res = api.translate("select id from orders where amount > 10", SCHEMAS)
    assert res.ibis is None and not res.verified
    assert "failed verification" in res.reason


def test_fallback_candidates_go_through_the_gate() -> None:
    sql = "select id from orders qualify row_number() over (order by id) <= 2"
    calls = []

    def fallback(q, schemas):
        calls.append(q)
        return ["orders.select('id')"]  # ignores QUALIFY

    res = translate(sql, SCHEMAS, fallback=fallback)
    assert calls == [sql]
    assert res.ibis is None and "no fallback candidate verified" in res.reason


def test_fallback_accepted_when_proven() -> None:
    sql = "select id from orders qualify row_number() over (order by id) <= 2"
    good = "orders.filter(ibis.row_number().over(order_by=orders.id) < 2).select('id')"
    res = translate(sql, SCHEMAS, fallback=lambda q, s: ["this is not python", good])
    assert res.verified and res.source == "fallback" and res.ibis == good


def test_fallback_exceptions_do_not_escape() -> None:
    def boom(q, s):
        raise RuntimeError("model crashed")

    res = translate("select id from orders qualify row_number() over (order by id) = 1", SCHEMAS,
                    fallback=boom)
    assert res.ibis is None and "model crashed" in res.reason


def test_verify_false_marks_unverified() -> None:
    res = translate("select id from orders", SCHEMAS, verify=False)
    assert res.ibis == 'orders.select("id")' and not res.verified


def test_dialect_transpiled() -> None:
    res = translate("select id, status::text as s from orders where status ilike 'a%' limit 2",
                    SCHEMAS, dialect="postgres")
    assert res.verified, res.reason
    res = translate("select `id` from orders where amount > 1", SCHEMAS, dialect="bigquery")
    assert res.verified, res.reason


def test_generated_code_has_free_names_only_tables() -> None:
    import ast

    code = build("with t as (select * from orders where amount > 1) "
                 "select a.id from t a join t b on a.id = b.id", SCHEMAS).code
    tree = ast.parse(code)
    assigned = {t.id for s in tree.body if isinstance(s, ast.Assign) for t in s.targets}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert loaded - assigned <= {"orders", "ibis", "_"}
    assert isinstance(tree.body[-1], ast.Expr)


def test_generator_hook_uses_shared_prompt_and_gate() -> None:
    """A model Generator is asked only on abstention and its output is gate-checked."""
    prompts_seen = []

    class FakeGenerator:
        def generate(self, prompt, n=1, max_new_tokens=64, stop=(), **kw):
            prompts_seen.append(prompt)
            return ["orders.select('id')"]  # ignores the QUALIFY below

    res = translate("select id from orders qualify row_number() over (order by id) = 1", SCHEMAS,
                    generator=FakeGenerator())
    assert len(prompts_seen) == 1 and "sql_to_ibis" in prompts_seen[0]
    assert res.ibis is None and not res.verified
    ok = translate("select id from orders", SCHEMAS, generator=FakeGenerator())
    assert ok.verified and ok.source == "translator" and len(prompts_seen) == 1


def test_awkward_names() -> None:
    """Mixed-case tables, keyword and spaced column names, method-name columns."""
    schemas = {"Sales": {"Order ID": "int64", "count": "int64", "from": "string", "Amount": "float64"}}
    res = translate('select "Order ID", count from "Sales" where "from" = \'x\' and count > 1', schemas)
    assert res.verified, res.reason
    assert 'Sales["from"]' in res.ibis and 'Sales["count"]' in res.ibis
    res = translate('select "from", sum("Amount") as total from Sales group by "from"', schemas)
    assert res.verified, res.reason


def test_hostile_alias_in_cast_union_is_data_not_code(tmp_path) -> None:
    """Red-team case: the left alias of a UNION needing a cast was pasted as a keyword."""
    import ast

    marker = tmp_path / "ran"
    alias = f"z=1).filter(open('{marker}','w').close() or 1==0).select(z"
    sql = f'SELECT CAST(qty AS DOUBLE) AS "{alias}" FROM orders UNION ALL SELECT qty AS b FROM orders'
    res = translate(sql, SCHEMAS)
    assert not marker.exists()
    assert res.verified, res.reason
    names = {n.id for n in ast.walk(ast.parse(res.ibis)) if isinstance(n, ast.Name)}
    assert names <= {"orders", "_", "ibis"}


def test_generated_text_is_checked_before_the_gate(monkeypatch) -> None:
    """Defense in depth: a translator slip that writes a foreign name is refused, not run."""
    from ibert_lsp.tasks.sql_to_ibis import code

    real = code.colref

    def sloppy(base: str, name: str, *, attribute_ok: bool = True) -> str:
        return f"{base}.{name}" if name == "x y" else real(base, name, attribute_ok=attribute_ok)

    monkeypatch.setattr(code, "colref", sloppy)
    res = translate('select "x y" + 1 as y from t', {"t": {"x y": "int64"}})
    assert res.ibis is None and "does not parse" in res.reason
