"""Generated code is built, never pasted: hostile identifiers reach code only as string data.

Names that are table names, column names, output aliases, CTE names and subquery aliases go
through every SQL construct the translator supports; the translator must abstain with a clean
one-line reason or return code that parses, holds the name only inside string constants, is
proven equivalent on DuckDB, and never runs a payload (a marker file must never appear).
"""

from __future__ import annotations

import ast
import io
import os
import tempfile
import tokenize

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibert_lsp.schema.types import SchemaError
from ibert_lsp.tasks.codebuild import CodeBuildError, check_names, colref, is_name, kwarg, pystr
from ibert_lsp.tasks.sql_to_ibis import Result, translate

MARK_DIR = tempfile.mkdtemp(prefix="ibertmark")
MARKER = os.path.join(MARK_DIR, "pwned")
PAYLOAD = f"z=1).filter(open('{MARKER}','w').close() or 1==0).select(z"

HOSTILE = [
    PAYLOAD,
    "x y", 'a"b', "a'b", "f(x)", "a=b", "a,b", "a\nb", "a\\b", "#c", "é", "中文", "a\u200bb",
    "\u200fab", "class", "lambda", "None", "_p", "__class__", "filter", "count", "select",
    'q"); open("m", "w"); ("', "ﬁlter",
]

# {T}: table, {C}: column, {A}: output alias, {Q}: CTE name, {S}: subquery/join alias
CONSTRUCTS = {
    "select": "SELECT {C}, v FROM {T}",
    "alias": "SELECT v + 1 AS {A}, id FROM {T}",
    "where": "SELECT id, {C} FROM {T} WHERE {C} > 2 AND v < 90",
    "group_having": "SELECT {C}, SUM(v) AS {A} FROM {T} GROUP BY {C} HAVING COUNT(*) > 1",
    "order_limit": "SELECT {C} AS {A}, id FROM {T} ORDER BY {A} DESC, id LIMIT 5",
    "distinct": "SELECT DISTINCT {C} AS {A} FROM {T}",
    "join": "SELECT x.id, {S}.{C} AS {A} FROM {T} AS x JOIN {T} AS {S} ON x.id = {S}.id",
    "union_cast": "SELECT CAST({C} AS DOUBLE) AS {A} FROM {T} UNION ALL SELECT {C} AS id FROM {T}",
    "union_rename": "SELECT {C} AS {A}, id FROM {T} UNION SELECT id, {C} FROM {T}",
    "except": "SELECT {C} AS {A} FROM {T} EXCEPT SELECT id FROM {T}",
    "cte": "WITH {Q} AS (SELECT id, {C} FROM {T} WHERE v > 0) SELECT {C} AS {A} FROM {Q}",
    "subquery_alias": "SELECT {S}.{A} FROM (SELECT {C} AS {A} FROM {T}) AS {S} WHERE {S}.{A} > 0",
    "scalar_subquery": "SELECT id FROM {T} WHERE {C} > (SELECT AVG({C}) FROM {T})",
    "in_subquery": "SELECT id FROM {T} WHERE {C} IN (SELECT id FROM {T} WHERE v > 50)",
    "window": "SELECT id, ROW_NUMBER() OVER (PARTITION BY g ORDER BY {C}, id) AS {A}, "
              "SUM({C}) OVER (PARTITION BY g) AS w FROM {T}",
    "case": "SELECT CASE WHEN {C} > 0 THEN {L} ELSE g END AS {A} FROM {T}",
    "functions": "SELECT ABS({C}) AS {A}, UPPER(g) AS u, COALESCE({C}, 0) AS c2 FROM {T}",
}


def ident(name: str) -> str:
    """A SQL quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def outside_strings(code: str) -> str:
    """The code's text with every string literal removed (what could run)."""
    toks = tokenize.generate_tokens(io.StringIO(code).readline)
    return " ".join(t.string for t in toks if t.type != tokenize.STRING)


def code_names(code: str) -> set[str]:
    """Every bare name, attribute and keyword the code uses."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            out.add(node.arg)
    return out


def assert_safe(res, hostile: str, ctx: str) -> None:
    """The four promises, plus: an abstention says why in one clean line."""
    assert not os.path.exists(MARKER), f"payload ran: {ctx}"
    if res.ibis is None:
        assert res.reason and res.reason.strip(), ctx
        assert "Traceback" not in res.reason, ctx
        return
    code = res.ibis
    ast.parse(code)  # (a)
    if not is_name(hostile) and hostile != "_":  # (b) only inside string constants
        # (`_` itself is Ibis's deferred in every translation: not a sign of the column)
        assert hostile not in code_names(code), (ctx, code)
        # a name made of punctuation alone (" = ") also occurs in ordinary code; one that
        # carries words must never appear outside string constants
        if len(hostile) > 2 and any(not ch.isalnum() for ch in hostile) and any(
                ch.isalnum() for ch in hostile):
            assert hostile not in outside_strings(code), (ctx, code)
    assert res.verified, (ctx, res.reason)  # (c)


def schemas_for(table: str, col: str) -> dict:
    return {table: {"id": "int64", "v": "float64", "g": "string", col: "int64"}}


def fill(template: str, *, table: str, col: str, alias: str, cte: str, sub: str) -> str:
    return template.format(T=ident(table), C=ident(col), A=ident(alias), Q=ident(cte),
                           S=ident(sub), L=sql_str(alias))


def run(construct: str, role: str, hostile: str):
    names = {"table": "t", "col": "k", "alias": "out", "cte": "base", "sub": "s"}
    names[role] = hostile
    if role == "col" and hostile.lower() in ("id", "v", "g"):
        names["col"] = hostile + "x"
    sql = fill(CONSTRUCTS[construct], **names)
    try:
        res = translate(sql, schemas_for(names["table"], names["col"]), timeout_s=10.0)
    except SchemaError as exc:  # refused up front (not an identifier): a clean one-line error
        assert "\n" not in exc.message and "Traceback" not in exc.message
        res = Result(None, False, exc.message)
    return res, sql


# -------------------------------------------------------------------------- translator cases

def test_red_team_union_cast_alias_is_data() -> None:
    """The reported injection: a UNION side needing a cast with a hostile left alias."""
    sql = (f'SELECT CAST(a AS DOUBLE) AS {ident(PAYLOAD)} FROM t UNION ALL SELECT a AS b FROM t')
    res = translate(sql, {"t": {"a": "int64"}})
    assert res.verified, res.reason
    assert "open" not in code_names(res.ibis)
    assert_safe(res, PAYLOAD, sql)
    spaced = translate('SELECT CAST(a AS DOUBLE) AS "x y" FROM t UNION ALL SELECT a AS b FROM t',
                       {"t": {"a": "int64"}})
    assert spaced.verified and '"x y"' in spaced.ibis, spaced.reason


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_spaced_names_verify_everywhere(construct: str) -> None:
    """A column and an alias with a space are ordinary data: every construct still verifies."""
    for role in ("col", "alias"):
        res, sql = run(construct, role, "x y")
        if role == "alias" and "{A}" not in CONSTRUCTS[construct]:
            continue
        assert_safe(res, "x y", sql)
        assert res.verified, (construct, role, res.reason)


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_payload_never_runs(construct: str) -> None:
    for role in ("col", "alias", "cte", "sub", "table"):
        res, sql = run(construct, role, PAYLOAD)
        assert_safe(res, PAYLOAD, f"{construct}/{role}: {sql}")


def test_table_names_that_are_not_python_names_abstain_clearly() -> None:
    for name in ("x y", "class", "None", "_p", "é"):
        res, _ = run("select", "table", name)
        assert res.ibis is None, name
        assert "not a plain Python name" in res.reason or "not a valid identifier" in res.reason
    for name in ("filter", "count", "select"):  # method names are fine as variables
        res, _ = run("where", "table", name)
        assert res.verified, (name, res.reason)


def test_method_named_columns_are_subscripted() -> None:
    res, _ = run("where", "col", "count")
    assert res.verified, res.reason
    assert '["count"]' in res.ibis and ".count >" not in res.ibis


@settings(derandomize=True, max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(construct=st.sampled_from(sorted(CONSTRUCTS)),
       role=st.sampled_from(["col", "alias", "cte", "sub", "table"]),
       hostile=st.one_of(st.sampled_from(HOSTILE),
                         st.text(alphabet=st.sampled_from(list("ab _=(),'\"#\\\né中\u200b\u200f.{}")),
                                 min_size=1, max_size=8)))
def test_hostile_names_property(construct: str, role: str, hostile: str) -> None:
    res, sql = run(construct, role, hostile)
    assert_safe(res, hostile, f"{construct}/{role}: {sql}")


# -------------------------------------------------------------------------- the layer itself

def test_layer_helpers() -> None:
    assert kwarg("total", "x") == "total=x"
    assert kwarg("x y", "x") == '**{"x y": x}'
    assert kwarg("class", "x") == '**{"class": x}'
    assert kwarg("_p", "x") == '**{"_p": x}'
    with pytest.raises(CodeBuildError):
        kwarg("__class__", "x")
    assert colref("t", "amount") == "t.amount"
    assert colref("t", "x y") == 't["x y"]'
    assert colref("_", "ﬁlter") == '_["ﬁlter"]'  # NFKC would fold it to `filter`
    for s in HOSTILE:
        assert ast.literal_eval(pystr(s)) == s


def test_check_names_refuses_smuggled_code() -> None:
    check_names('t.filter(t.a > 1).select(b=_["x y"])', ["t"], ["a"])
    for bad in ["t.filter(open('m', 'w'))", "t.__class__", "t.zz", "t.select(**{'a': __import__})",
                "(lambda: 1)()", "t[[x for x in t]]", "import os", "t.a = 1", "t.x y"]:
        with pytest.raises(CodeBuildError):
            check_names(bad, ["t"], ["a"])


# -------------------------------------------------------------------------- rule fixes

def test_rule_fix_with_hostile_column_keeps_it_in_a_string() -> None:
    from ibert_lsp.tasks.error_resolution import diagnose, fixes

    col = 'amount")#'  # close enough to the typo to be suggested; pasted, it would break out
    schemas = {"t": {"id": "int64", col: "float64"}}
    code = "expr = t.filter(t.amoun > 1)\n"
    probs = [p for p in diagnose(code, schemas) if p.data.get("name") == "amoun"]
    assert probs, "the wrong column is reported"
    found = fixes(code, schemas, probs[0])
    hostile = [f for f in found if col in f.new_text]
    assert hostile, [f.new_text for f in found]
    for f in hostile:
        new = f.apply(code)
        ast.parse(new)
        assert f"t[{pystr(col)}]" in new
        assert col not in outside_strings(new)


def test_rule_fix_inside_a_string_is_requoted() -> None:
    from ibert_lsp.tasks.error_resolution import diagnose, fixes

    col = "amount'x"
    schemas = {"t": {"id": "int64", col: "float64"}}
    code = "expr = t.select('amountx')\n"
    probs = [p for p in diagnose(code, schemas) if p.data.get("name") == "amountx"]
    if not probs:
        pytest.skip("no unknown-column problem reported for a string argument here")
    for f in fixes(code, schemas, probs[0]):
        new = f.apply(code)
        tree = ast.parse(new)
        consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
        assert col in consts or "amountx" in consts


# -------------------------------------------------------------------------- docstrings, datagen

def test_docstring_skeleton_with_hostile_schema_name_stays_a_docstring() -> None:
    from ibert_lsp.tasks.documentation import generate_docstring

    col = 'x"""\nimport os\n"""'
    code = "def summarize(orders):\n    return orders.filter(orders.id > 1)\n"
    res = generate_docstring(code, 0, schemas={"orders": {"id": "int64", col: "string"}})
    new = res.apply(code)
    tree = ast.parse(new)
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef) and len(tree.body) == 1
    assert not any(isinstance(n, ast.Import) for n in ast.walk(tree))
    assert 'x"""' in ast.get_docstring(fn)


def test_datagen_refuses_hostile_domain_names(tmp_path) -> None:
    from datagen.templates import TemplateError, load_domains

    bad = tmp_path / "schemas.yaml"
    bad.write_text(
        "shop:\n"
        "  fact: {name: orders, columns: {id: {type: int64, role: id},"
        " 'x y); open(1': {type: float64, role: num}}}\n"
        "  dim: {name: items, columns: {id: {type: int64, role: id}}}\n"
        "  join: {fk: id, pk: id}\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="not a plain Python name"):
        load_domains(bad)


def test_datagen_string_values_are_quoted(tmp_path) -> None:
    import random

    from datagen.templates import _literal

    v = _literal("c", {"role": "cat", "type": "string", "values": ["it's \\ x"]}, random.Random(0))
    assert ast.literal_eval(v["py"]) == "it's \\ x"
    assert v["sql"] == "'it''s \\ x'"


# -------------------------------------------------------------------------- completion texts

@pytest.mark.parametrize("quote", ['"', "'"])
def test_completion_inside_a_string_cannot_close_it(quote: str) -> None:
    from ibert_lsp.tasks.members import _in_string

    for name in HOSTILE:
        assert ast.literal_eval(quote + _in_string(name, quote) + quote) == name


def test_member_completion_offers_only_plain_column_names() -> None:
    import ibis

    from ibert_lsp.tasks.members import member_candidates

    t = ibis.table({"amount": "int64", "x y": "int64", "class": "int64", "count": "int64"})
    cols = [c.insert_text for c in member_candidates(t, "", 0) if c.kind == "column"]
    assert cols == ["amount"]
