"""Evaluation metrics and the gate-based scoring of each task."""

from __future__ import annotations

import pytest

from tests.test_model_support import CONTEXT, make_records
from training import evaluate as E


def test_chrf_and_rouge_l_bounds_and_order():
    ref = "Use filter to keep the rows you want."
    assert E.chrf(ref, ref) == pytest.approx(100.0)
    assert E.rouge_l(ref, ref) == pytest.approx(100.0)
    close = "Use filter to keep rows."
    far = "Joins combine two tables."
    assert E.chrf(close, ref) > E.chrf(far, ref) >= 0
    assert E.rouge_l(close, ref) > E.rouge_l(far, ref) >= 0
    assert E.rouge_l("", ref) == 0.0


def test_pass_at_k_matches_the_unbiased_estimator():
    from math import comb

    for n, c, k in [(10, 3, 1), (10, 3, 5), (5, 0, 2), (5, 5, 1), (8, 2, 3)]:
        expected = 1.0 - comb(n - c, k) / comb(n, k)
        assert E.pass_at_k(n, c, k) == pytest.approx(expected)


def _by_task(task):
    return next(r for r in make_records(3) if r["task"] == task)


@pytest.mark.parametrize("task,metric", [
    ("sql_to_ibis", "exec_acc"), ("ibis_to_sql", "exec_acc"),
    ("code_completion", "compile_rate"), ("error_resolution", "fix_rate"),
])
def test_reference_answers_pass_the_gate_and_wrong_ones_fail(task, metric):
    from ibert_lsp.prompting import prompts

    rec = _by_task(task)
    ref = rec["target"][prompts.TARGET_KEY[task]]
    good = E.score_example(task, rec, ref)
    assert good[metric] is True and good["exact"] is True, good
    wrong = {
        "sql_to_ibis": "events.filter(events.amount < 0).select('kind')",
        "ibis_to_sql": "SELECT kind FROM events WHERE amount < 0",
        "code_completion": "select('no_such_column')",
        "error_resolution": "events.select('no_such_column')",
    }[task]
    bad = E.score_example(task, rec, wrong)
    assert bad[metric] is False and bad["exact"] is False


def test_qa_and_documentation_scores():
    qa = _by_task("qa")
    s = E.score_example("qa", qa, qa["target"]["answer"])
    assert s["rouge_l"] == pytest.approx(100.0) and s["code_pass"] is True and s["has_code"]
    s = E.score_example("qa", qa, "Use `events.filter(events.nope > 1)`.")
    assert s["code_pass"] is False
    doc = _by_task("documentation")
    s = E.score_example("documentation", doc, doc["target"]["docstring"])
    assert s["doc_pass"] is True and s["chrf"] == pytest.approx(100.0)
    s = E.score_example("documentation", doc, "Filter.\n\nArgs:\n    table: wrong name.")
    assert s["doc_pass"] is False


class Oracle:
    """A Generator that answers with the reference target (through the real prompt format)."""

    def __init__(self, records):
        from ibert_lsp.prompting import prompts

        self.answers = {}
        for r in records:
            p, c = prompts.training_text(r["task"], r["input"], r["target"], r["context"])
            self.answers[p] = c

    def generate(self, prompt, n=1, max_new_tokens=64, stop=(), *, temperature=0.0,
                 deadline_s=None, cancel=None):
        return [self.answers.get(prompt, "")] * 1


def test_evaluate_with_an_oracle_scores_everything_right():
    recs = make_records(4)
    res = E.evaluate(Oracle(recs), recs, max_per_task=2, n_samples=3, ks=(1, 2), gated_n=2)
    t = res["tasks"]
    assert t["sql_to_ibis"]["gated@2"] == 100.0 and "gated@2" not in t["qa"]
    assert t["sql_to_ibis"]["exec_acc"] == 100.0 and t["ibis_to_sql"]["exec_acc"] == 100.0
    assert t["code_completion"]["compile_rate"] == 100.0
    assert t["error_resolution"]["fix_rate"] == 100.0
    assert t["qa"]["rouge_l"] == 100.0 and t["documentation"]["doc_pass"] == 100.0
    assert t["sql_to_ibis"]["pass@1"] == 100.0
    md = E.table({"test": res})
    assert "| test | sql_to_ibis |" in md


def test_context_is_the_record_form():
    from ibert_lsp.tasks.candidates import schemas_of

    assert schemas_of(CONTEXT)["events"]["amount"] == "float64"
    assert schemas_of({}) == {}
