"""prompts.py and literals.py: one prompt layout for training and serving, literal masking."""

from __future__ import annotations

import pytest

from ibert_lsp.prompting import literals as lit
from ibert_lsp.prompting import prompts, statements

CTX = {"tables": {"events": {"schema": {"user_id": "int64", "amount": "float64",
                                        "country": "string"}}}}


def test_sql_literals_skip_identifiers_and_quoted_names():
    sql = "SELECT t1.a, \"col 2\" FROM t1 WHERE a > 10 AND b = 'it''s' AND c < 2.5"
    values = [v for _, _, v in lit.sql_literals(sql)]
    assert values == [10, "it's", 2.5]


def test_code_literals_skip_fstrings_and_docstrings():
    code = "t.filter(t.a > 10).mutate(b=t.c.contains('x'), d=f'{y}')\n"
    assert [v for _, _, v in lit.code_literals(code)] == [10, "x"]


def test_sql_to_ibis_masks_literals_and_names_consistently():
    inp = {"sql": "SELECT user_id FROM events WHERE amount > 10 AND country = 'FR'"}
    target = {"ibis": "events.filter((events.amount > 10) & (events.country == \"FR\"))"
                      ".select('user_id')"}
    prompt, completion = prompts.training_text("sql_to_ibis", inp, target, CTX)
    assert "10" not in prompt and "'FR'" not in prompt and "amount" not in prompt
    assert "sql: SELECT <C0> FROM <T0> WHERE <C1> > <L0> AND <C2> = <L1>" in prompt
    # the masked schema of the tables the SQL names: types in schema order
    assert "tables: <T0>(<C0> int64, <C1> float64, <C2> string)" in prompt
    assert prompt.startswith(prompts.TASK_TOKENS["sql_to_ibis"])
    assert completion.endswith(prompts.EOS)
    body = completion[: -len(prompts.EOS)]
    assert body == "<T0>.filter((<T0>.<C1> > <L0>) & (<T0>.<C2> == <L1>)).select('<C0>')"
    # restoring what the model would write gives back real code with Python quoting
    restored = prompts.parse_output("sql_to_ibis", body + prompts.EOS + "junk", inp, CTX)
    assert restored == "events.filter((events.amount > 10) & (events.country == 'FR'))" \
                       ".select('user_id')"
    # without the schemas the names cannot come back: refused, never half-restored
    with pytest.raises(lit.UnknownPlaceholder):
        prompts.parse_output("sql_to_ibis", body, inp)


def test_names_inside_other_words_and_placeholders_stay():
    ids = lit.Identifiers.from_source("SELECT a FROM t", {"t": {"a": "int64", "L0": "int64"}})
    assert ids.mask("t.a + t.ab + t_a + <L0> + t.L0") == "<T0>.<C0> + <T0>.ab + t_a + <L0> + " \
                                                         "<T0>.<C1>"
    assert ids.unmask("<T0>.<C1>") == "t.L0"


def test_ibis_to_sql_restores_sql_quoting():
    inp = {"ibis": "events.filter(events.country == \"it's\")", "dialect": "duckdb"}
    prompt = prompts.build_prompt("ibis_to_sql", inp, CTX)
    assert "<L0>" in prompt and "it's" not in prompt
    out = prompts.parse_output("ibis_to_sql", "SELECT * FROM <T0> WHERE <C2> = <L0>", inp, CTX)
    assert out == "SELECT * FROM events WHERE country = 'it''s'"


def test_invented_placeholder_is_refused():
    inp = {"sql": "SELECT a FROM events WHERE amount > 1"}
    with pytest.raises(lit.UnknownPlaceholder):
        prompts.parse_output("sql_to_ibis", "events.filter(events.amount > <L3>)", inp)


def test_fim_prompt_and_special_tokens_never_leak():
    inp = {"prefix": "expr = events.", "suffix": "\nprint(expr)"}
    prompt = prompts.build_prompt("code_completion", inp, CTX)
    assert prompt.endswith(prompts.FIM_MIDDLE)
    # suffix-prefix-middle: the prefix ends right where the model continues
    assert prompt.index(prompts.FIM_SUFFIX) < prompt.index(prompts.FIM_PREFIX)
    assert prompt.endswith("expr = <T0>." + prompts.FIM_MIDDLE)
    raw = "select('user_id')<fim_middle><|endoftext|>more"
    assert prompts.parse_output("code_completion", raw, inp) == "select('user_id')"
    assert prompts.parse_output("code_completion", "<|pad|>filter(x)", inp) == "filter(x)"


def test_absent_placeholders_are_those_the_prompt_lacks():
    inp = {"sql": "SELECT user_id FROM events WHERE amount > 3"}
    prompt = prompts.build_prompt("sql_to_ibis", inp, CTX)
    absent = prompts.absent_placeholders(prompt)
    assert "<T0>" not in absent and "<C0>" not in absent and "<L0>" not in absent
    assert "<T1>" in absent and "<L1>" in absent
    assert set(prompts.absent_placeholders("no placeholders")) == set(prompts.PLACEHOLDER_TOKENS)


@pytest.mark.parametrize("task", prompts.TASKS)
def test_every_task_builds_a_prompt_and_target(task):
    inputs = {
        "code_completion": ({"prefix": "events.", "suffix": ""}, {"completion": "count()"}),
        "ibis_to_sql": ({"ibis": "events.count()", "dialect": "duckdb"},
                        {"sql": "SELECT COUNT(*) FROM events"}),
        "sql_to_ibis": ({"sql": "SELECT COUNT(*) FROM events"}, {"ibis": "events.count()"}),
        "error_resolution": ({"code": "events.amout", "error": "no column amout"},
                             {"fixed": "events.amount"}),
        "qa": ({"question": "What is Ibis?"}, {"answer": "A dataframe library."}),
        "documentation": ({"code": "def f(t):\n    return t", "style": "numpy"},
                          {"docstring": "Return t."}),
    }
    inp, target = inputs[task]
    prompt, completion = prompts.training_text(task, inp, target, CTX)
    assert prompt.startswith(prompts.TASK_TOKENS[task])
    assert completion.strip() and completion.endswith(prompts.EOS)
    assert prompts.parse_output(task, completion, inp, CTX).strip() == \
        str(target[prompts.TARGET_KEY[task]]).strip()


def test_missing_input_key_is_a_prompt_error():
    with pytest.raises(prompts.PromptError):
        prompts.build_prompt("sql_to_ibis", {}, CTX)
    with pytest.raises(prompts.PromptError):
        prompts.build_prompt("nope", {}, CTX)


def test_column_name_strings_are_not_masked():
    code = "events.filter(events.country == 'FR').select('user_id', 'amount')" \
           ".order_by(['amount'])['kind']"
    assert [v for _, _, v in lit.code_literals(code)] == ["FR"]
    a = prompts.build_prompt("ibis_to_sql", {"ibis": code.replace("user_id", "kind")}, CTX)
    b = prompts.build_prompt("ibis_to_sql", {"ibis": code}, CTX)
    assert a != b and "'<C0>'" in b  # a name: masked as a name, not as a literal


def test_error_resolution_masks_names_in_code_error_and_target():
    inp = {"code": "events.group_by(country).agg(n=_.count())",
           "error": "name 'country' is not defined"}
    target = {"fixed": "events.group_by('country').agg(n=_.count())"}
    prompt, completion = prompts.training_text("error_resolution", inp, target, CTX)
    assert "events" not in prompt and "country" not in prompt
    assert "tables: <T0>(<C0> int64, <C1> float64, <C2> string)" in prompt
    assert "code:\n<T0>.group_by(<C2>)" in prompt and "error: name '<C2>' is not defined" in prompt
    body = completion[: -len(prompts.EOS)]
    assert body == "<T0>.group_by('<C2>').agg(n=_.count())"
    assert prompts.parse_output("error_resolution", completion, inp, CTX) == target["fixed"]
    # an invented placeholder gives no candidate, never half-restored code
    assert prompts.parse_output("error_resolution", "<T0>.<C9>", inp, CTX) == ""


def test_code_completion_masks_names_and_all_tables_when_none_named():
    inp = {"prefix": "expr = ", "suffix": ""}
    prompt = prompts.build_prompt("code_completion", inp, CTX)
    assert "tables: <T0>(<C0> int64" in prompt and "events" not in prompt
    inp = {"prefix": "expr = events.select(", "suffix": ")"}
    prompt, completion = prompts.training_text("code_completion", inp,
                                               {"completion": "'user_id', 'amount'"}, CTX)
    assert prompt.endswith("<fim_suffix>)<fim_prefix>expr = <T0>.select(<fim_middle>")
    assert completion == "'<C0>', '<C1>'" + prompts.EOS


def test_parse_restores_names_from_the_input_and_context_of_the_prompt():
    # serving parses with the same input and context it built the prompt from
    inp = {"code": "events.amout", "error": "Table 'events' has no column 'amout'"}
    prompt = prompts.build_prompt("error_resolution", inp, CTX)
    assert "events" not in prompt and "<T0>" in prompt
    assert prompts.parse_output("error_resolution", "<T0>.<C1>", inp, CTX) == "events.amount"
    inp = {"prefix": "events.", "suffix": ""}
    prompts.build_prompt("code_completion", inp, CTX)
    assert prompts.parse_output("code_completion", "select('<C0>')<|endoftext|>", inp, CTX) == \
        "select('user_id')"
    # a placeholder the input never had is no candidate, not a crash
    assert prompts.parse_output("code_completion", "select('<C9>')", inp, CTX) == ""


@pytest.mark.parametrize("prefix, suffix, want", [
    # earlier statements are dropped; a statement spanning lines is kept whole
    ("import ibis\nt = x\ny = events.filter(\n    events.amount > 1,\n    events.",
     "user_id == 2)\nz = 3\n",
     ("y = events.filter(\n    events.amount > 1,\n    events.", "user_id == 2)")),
    # brackets inside strings and comments do not count
    ("a = 1\nb = 'x(' # (\nc = events.select(", "'a')\nd = 2", ("c = events.select(", "'a')")),
    ("s = '''\n(\n'''\nq = events.", ".x\nz = 1", ("q = events.", ".x")),
    # a backslash continues the statement
    ("a = 1\nx = 2 + \\\n  events.", "amount\nb = 2", ("x = 2 + \\\n  events.", "amount")),
    ("q = events.", "", ("q = events.", "")),
])
def test_completion_prompt_holds_the_statement_at_the_cursor(prefix, suffix, want):
    assert statements.cursor_statement(prefix, suffix) == want
    inp = {"prefix": prefix, "suffix": suffix}
    prompt = prompts.build_prompt("code_completion", inp, CTX)
    ids = prompts.code_identifiers("code_completion", inp, CTX)
    body = ids.unmask(prompt.split(prompts.FIM_SUFFIX, 1)[1])
    assert body == want[1] + prompts.FIM_PREFIX + want[0] + prompts.FIM_MIDDLE


def test_completion_prompt_scan_is_bounded_on_huge_input():
    prefix = "x = (\n" * 50_000 + "events."
    prompt = prompts.build_prompt("code_completion", {"prefix": prefix, "suffix": ")" * 10}, CTX)
    assert len(prompt) <= 2 * prompts.MAX_FIELD_CHARS + prompts.MAX_SCHEMA_CHARS + 100


def test_sql_aliases_are_masked_like_columns_and_restored():
    sql = ("WITH per_user AS (SELECT user_id, SUM(amount) AS total FROM events GROUP BY user_id) "
           "SELECT AVG(total) AS avg_total FROM per_user")
    ibis_code = ("per_user = events.group_by('user_id').agg(total=_.amount.sum())\n"
                 "per_user.agg(avg_total=per_user.total.mean())")
    assert prompts.sql_aliases(sql) == ["per_user", "total", "avg_total"]
    inp = {"sql": sql}
    prompt, target = prompts.training_text("sql_to_ibis", inp, {"ibis": ibis_code}, CTX)
    for name in ("per_user", "total", "avg_total"):
        assert name not in prompt and name not in target
    assert prompts.parse_output("sql_to_ibis", target, inp, CTX) == ibis_code
    # a CAST's type is not an alias: the model must still see it
    assert "DOUBLE" in prompts.build_prompt(
        "sql_to_ibis", {"sql": "SELECT CAST(amount AS DOUBLE) AS a_f FROM events"}, CTX)
    assert prompts.sql_aliases("SELEC broken (((") == []


def test_statement_start_of_a_line_skips_strings_comments_and_continuations():
    lines = ["a = 1", "b = events.filter(  # (", "    events.amount > 1,", "    ')'",
             ")", "c = 2 + \\", "    3", "d = '''", "(", "'''", "e = 1"]
    assert [statements.statement_start(lines, k) for k in range(len(lines))] == [
        0, 1, 1, 1, 1, 5, 5, 7, 7, 7, 10]
