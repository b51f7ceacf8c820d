"""The server-owned task functions, called directly (pure: text and schemas in, results out)."""

from __future__ import annotations

import ast

import pytest

from ibert_lsp.tasks import (
    completion,
    continuations,
    cursor,
    documentation,
    error_resolution,
    qa,
    retrieval,
)
from ibert_lsp.tasks.analysis import analyze, gate_eval, parse_tolerant

SCHEMAS = {
    "events": {"user_id": "int64", "amount": "float64", "country": "string"},
    "users": {"user_id": "int64", "name": "string"},
}
HEAD = "import ibis\nfrom ibis import _\n"


def test_analysis_chains_variables_and_places_errors():
    code = HEAD + ("big = events.filter(events.amount > 1)\n"
                   "per = big.group_by('country').agg(n=_.count())\n"
                   "bad = per.filter(per.nn > 1)\n")
    an = analyze(code, SCHEMAS)
    assert set(an.env) >= {"big", "per"} and "bad" not in an.env
    [p] = an.problems
    assert p.code == "unknown-column" and p.suggestions == ["n"]
    line = code.split("\n")[p.line]
    assert line[p.col:p.end_col] == "nn"


def test_analysis_skips_what_it_cannot_check():
    code = HEAD + ("df = load_somehow()\nx = df.filter(df.whatever > 1)\n"
                   "events.execute()\nn = len([1, 2])\n")
    assert analyze(code, SCHEMAS).problems == []


def test_analysis_non_ascii_columns_positions():
    code = HEAD + 'x = "é€"; y = events.filter(events.amout > 1)\n'
    an = analyze(code, SCHEMAS)
    [p] = an.problems
    assert code.split("\n")[p.line][p.col:p.end_col] == "amout"


def test_parse_tolerant_blanks_broken_lines():
    tree, blanked = parse_tolerant("a = 1\nb = (\nc = 3\n")
    assert tree is not None and blanked


def test_declared_schemas_of_a_long_half_typed_document_are_read_in_linear_time():
    """Dropping the tail line by line was quadratic: 1.2-2 s per keystroke in a long notebook."""
    import time

    from ibert_lsp.schema.sources import from_python_source

    code = ('t = ibis.table({"a": "int64"}, name="t")\n'
            + "".join(f"x{i} = t.filter(t.a > {i})\n" for i in range(4000)) + "y = t.\n"
            + "".join(f"z{i} = {i}\n" for i in range(2000)))
    t0 = time.perf_counter()
    assert from_python_source(code) == {"t": {"a": "int64"}}
    assert time.perf_counter() - t0 < 1.0


def test_completion_member_column_argument_contexts():
    code = HEAD + "x = events.filter(_.amount > 1)\ny = x."
    cands = completion.complete(code, 3, 6, SCHEMAS, use_jedi=False)
    assert [c.label for c in cands[:3]] == ["user_id", "amount", "country"]
    assert all(c.kind == "column" for c in cands[:3])
    assert {"filter", "group_by", "order_by"} <= {c.label for c in cands}
    code2 = HEAD + 'y = events.select("am'
    cands = completion.complete(code2, 2, len('y = events.select("am'), SCHEMAS, use_jedi=False)
    assert [c.insert_text for c in cands] == ["amount"]
    code3 = HEAD + "y = events.join(users, events.user_id == users."
    cands = completion.complete(code3, 2, len(code3.split("\n")[2]), SCHEMAS, use_jedi=False)
    assert [c.label for c in cands[:2]] == ["user_id", "name"]


def test_completion_receiver_scanner():
    assert cursor.receiver_before("x = a.b(c, d[0]).e", 18) == "a.b(c, d[0]).e"
    assert cursor.receiver_before('t.f("a)b")', 10) == 't.f("a)b")'
    ctx = cursor.context_at("q = (\n  t\n  .filter(_.a > 1)\n  .", 3, 3)
    assert ctx.kind == "member" and ctx.receiver.replace(" ", "").replace("\n", "") == (
        "t.filter(_.a>1)")


class _Gen:
    def __init__(self, outs):
        self.outs = outs
        self.prompts = []

    def generate(self, prompt, n=1, max_new_tokens=64, stop=(), **kw):
        self.prompts.append(prompt)
        return list(self.outs)


def test_completion_after_group_by_lists_grouped_table_methods():
    code = HEAD + 'g = events.group_by("country").'
    labels = {c.label for c in completion.complete(code, 2, len(code.split("\n")[2]), SCHEMAS,
                                                   use_jedi=False)}
    assert {"agg", "aggregate", "having"} <= labels


def test_continuations_are_gated_and_special_tokens_dropped():
    code = HEAD + "y = events."
    gen = _Gen(["filter(_.amount > 1)<|endoftext|>junk", "filter(_.nope > 1)",
                "group_by('country')"])
    out = continuations.continuations(code, 2, 11, SCHEMAS, gen, n=3)
    assert out == ["filter(_.amount > 1)", "group_by('country')"]
    # the served prompt is exactly the training format (names masked, schema included)
    from ibert_lsp.prompting import prompts

    prefix = code
    expected = prompts.build_prompt("code_completion", {"prefix": prefix, "suffix": ""},
                                    {"tables": {k: dict(v) for k, v in SCHEMAS.items()}})
    assert gen.prompts[0] == expected
    assert "<fim_middle>" in expected and "<C0> int64" in expected


@pytest.mark.parametrize("bad,good", [
    ("events.filter(events.amout > 1)", "events.filter(events.amount > 1)"),
    ("events.filter(events.user_id == '7')", "events.filter(events.user_id == 7)"),
    ("events.groupby('country').agg(n=_.count())", "events.group_by('country').agg(n=_.count())"),
    ("events[events.amount > 1]", "events.filter(events.amount > 1)"),
    ("events.sort_values('amount')", "events.order_by('amount')"),
])
def test_rule_fixes(bad, good):
    code = HEAD + f"x = {bad}\n"
    fixes = error_resolution.fixes(code, SCHEMAS)
    assert fixes, analyze(code, SCHEMAS).problems
    assert fixes[0].apply(code) == HEAD + f"x = {good}\n"
    assert analyze(fixes[0].apply(code), SCHEMAS).problems == []


def test_model_fix_kept_only_when_it_passes():
    code = HEAD + "x = events.filter(events.spend > 1)\n"  # no column is close to "spend"
    gen = _Gen(["events.filter(events.wrong > 1)", "events.filter(events.amount > 1)"])
    fixes = error_resolution.fixes(code, SCHEMAS, generator=gen)
    assert [(f.source, f.new_text) for f in fixes] == [
        ("model", "x = events.filter(events.amount > 1)")]


def test_docstring_styles_and_check():
    code = "def revenue(events, min_amount: float = 0.0) -> float:\n    return 1.0\n"
    g = documentation.generate_docstring(code, 0, style="google", schemas=SCHEMAS)
    new = g.apply(code)
    doc = ast.get_docstring(ast.parse(new).body[0])
    assert doc.startswith("Revenue.") and "events: The `events` table" in doc
    assert "min_amount (float)" in doc and "Returns:\n    float: The result." in doc
    n = documentation.generate_docstring(code, 1, style="numpy")
    assert "Parameters\n----------\nevents : object" in n.docstring
    assert documentation.documented_names(n.docstring, "numpy") == ["events", "min_amount"]
    with pytest.raises(documentation.DocError):
        documentation.generate_docstring("x = 1\n", 0)


def test_docstring_model_summary_filtered():
    code = "def f(a):\n    return a\n"
    good = documentation.generate_docstring(code, 0, generator=_Gen(["Return the input."]))
    assert good.source == "model" and good.docstring.startswith("Return the input.")
    bad = documentation.generate_docstring(code, 0, generator=_Gen(["<L0> ``` {"]))
    assert bad.source == "rule"


def test_retrieval_finds_the_right_api():
    assert retrieval.search("how do I rename a column", 1)[0][1].qualname == "Table.rename"
    assert retrieval.search("lowercase a string", 1)[0][1].name == "lower"
    assert retrieval.lookup("Table.filter").signature.startswith("filter(")


def test_qa_answer_is_grounded_and_checked():
    a = qa.answer("how do I compute the average amount?", SCHEMAS)
    assert a.code == ["events.amount.mean()"]
    gate_eval(a.code[0], SCHEMAS)
    assert any(s.endswith(".mean") for s in a.sources)
    # a model answer with code that fails the gate is not shown
    a2 = qa.answer("how do I count rows per group?", SCHEMAS,
                   generator=_Gen(["```python\nevents.nothing.count()\n```"]))
    assert "nothing" not in a2.text and a2.source == "retrieval"
    a3 = qa.answer("how do I count rows per group?", SCHEMAS,
                   generator=_Gen(["```python\nevents.group_by('country').agg(n=_.count())\n```"]))
    assert a3.source == "model+retrieval"
    assert qa.is_question("# how do I join two tables?") and not qa.is_question("x = 1")


def test_string_argument_inside_nested_call_uses_enclosing_table():
    code = HEAD + 'x = events.order_by(ibis.desc("am'
    cands = completion.complete(code, 2, len(code.split("\n")[2]), SCHEMAS, use_jedi=False)
    assert [c.label for c in cands] == ["amount"]


def test_hover_on_chained_method_line():
    from ibert_lsp.features.hover import describe_name

    code = HEAD + 'x = (\n    events\n    .group_by("country")\n    .agg(n=_.count())\n)\n'
    an = analyze(code, SCHEMAS)
    md, (a, b) = describe_name(code, 4, 6, SCHEMAS, an.env_before(4))
    assert md.startswith("```python\nTable.group_by(") and code.split("\n")[4][a:b] == "group_by"
    md, (a, b) = describe_name(code, 5, 6, SCHEMAS, an.env_before(5))
    assert md.startswith("```python\nGroupedTable.agg(") and code.split("\n")[5][a:b] == "agg"


def test_a_chain_being_typed_keeps_its_lines_and_reports_nothing():
    """A bracket left open by the statement being typed is closed at the statement's end
    (blanking would lose every line of the chain); the repaired statement binds nothing and
    is never reported on, but a function's parameters are typed from the calls in it."""
    code = (HEAD + "x = (\n"
            "    events.filter(events.amout > 1)  # a typo inside the chain being typed\n"
            "    .select(\"amount\")\n"
            "    .\n"
            "y = 1\n")
    tree, touched = parse_tolerant(code)
    assert tree is not None and 3 in touched
    an = analyze(code, SCHEMAS)
    assert an.problems == []  # not what the user wrote yet: nothing reported on it
    import ibis.expr.types as ir

    assert "x" not in an.env_before(7) and "x" not in an.types_before(7)
    fn = ("def q(region):\n"
          "    out = (\n"
          "        region.join(region, 'k')\n"
          "        .mutate(v=1)\n"
          "        .\n")
    an = analyze(fn, {})
    assert an.types_before(4).get("region") is ir.Table  # mutate: an Ibis-only method
    from ibert_lsp.schema.sources import from_python_source

    half = 'import ibis\nt = ibis.table({"a": "int64", \nx = 1\n'
    assert from_python_source(half) == {}  # a declaration being typed is not a schema yet
