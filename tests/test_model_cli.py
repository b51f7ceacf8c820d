"""`ibert complete | fix | qa | doc`, `ibert model info|build`, `ibert eval` on the micro model."""

from __future__ import annotations

import io
import json

import pytest

from ibert_lsp.cli import main
from tests.test_model_support import micro_run, write_corpus


@pytest.fixture(scope="module")
def model_dir():
    run_dir, _ = micro_run()
    return str(run_dir / "model")


def _stdin(monkeypatch, text):
    class FakeStdin(io.TextIOWrapper):
        def isatty(self):
            return False

    monkeypatch.setattr("sys.stdin", FakeStdin(io.BytesIO(text.encode())))


def test_complete_json_lists_only_checked_candidates(model_dir, monkeypatch, capsys):
    _stdin(monkeypatch, "import ibis\nevents = ibis.table({'amount': 'float64', 'kind': "
           "'string'}, name='events')\nexpr = events.filter(events.amount > 3).")
    rc = main(["complete", "--model", model_dir, "--json", "--unchecked", "-n", "3",
               "--max-new-tokens", "12"])
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "code_completion" and rc in (0, 1)
    assert rc == (0 if any(c["accepted"] for c in out["candidates"]) else 1)
    for c in out["candidates"]:
        assert "<fim" not in c["text"] and "<|" not in c["text"]
        assert c["accepted"] or c["reason"]


def test_fix_finds_the_error_with_the_gate(model_dir, tmp_path, capsys):
    f = tmp_path / "bad.py"
    f.write_text("import ibis\nevents = ibis.table({'amount': 'float64'}, name='events')\n"
                 "events.select('amout')\n")
    rc = main(["fix", str(f), "--model", model_dir, "--json", "-n", "2",
               "--max-new-tokens", "16"])
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "error_resolution" and rc in (0, 1)
    good = tmp_path / "good.py"
    good.write_text("import ibis\nevents = ibis.table({'amount': 'float64'}, name='events')\n"
                    "events.select('amount')\n")
    assert main(["fix", str(good), "--model", model_dir]) == 0
    assert "nothing to fix" in capsys.readouterr().err


def test_qa_and_doc(model_dir, tmp_path, monkeypatch, capsys):
    _stdin(monkeypatch, "How do I filter rows?")
    assert main(["qa", "--model", model_dir, "--json", "--max-new-tokens", "16"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["task"] == "qa"
    f = tmp_path / "fn.py"
    f.write_text("def big(t):\n    return t.filter(t.amount > 10)\n")
    assert main(["doc", str(f), "--model", model_dir, "--style", "numpy", "--json",
                 "--no-examples", "--insert", "--max-new-tokens", "16"]) in (0, 1)
    out = json.loads(capsys.readouterr().out)
    for c in out["candidates"]:
        assert c["text"].startswith("def big(t):\n    \"\"\"")


def test_doc_helpers():
    from ibert_lsp.commands.tasks import insert_docstring, strip_examples

    doc = "Keep big rows.\n\nExamples:\n    >>> big(t)\n\nReturns:\n    A table."
    assert strip_examples(doc) == "Keep big rows.\n\nReturns:\n    A table."
    code = "def big(t):\n    return t\n"
    assert insert_docstring(code, "One line.") == \
        'def big(t):\n    """One line."""\n    return t\n'


def test_without_any_model_the_engines_still_answer(tmp_path, monkeypatch, capsys):
    """No installed and no shipped model: the deterministic engines answer; `model info` and a
    broken installed model say how to build one, in one line."""
    monkeypatch.setenv("IBERT_HOME", str(tmp_path))
    monkeypatch.setenv("IBERT_SHIPPED_MODEL", "none")
    _stdin(monkeypatch, "import ibis\nevents = ibis.table({'amount': 'float64'}, name='events')\n"
           "x = events.")
    assert main(["complete", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] is None and out["candidates"][0]["source"] == "columns"
    assert out["candidates"][0]["text"] == "amount"
    assert main(["model", "info"]) == 2
    assert "ibert model build" in capsys.readouterr().err
    (tmp_path / "models" / "default").mkdir(parents=True)
    (tmp_path / "models" / "default" / "ibert.json").write_text("{}")
    _stdin(monkeypatch, "events.")
    assert main(["complete"]) == 2
    err = capsys.readouterr().err
    assert "lacks 'base'" in err and "Traceback" not in err


def test_model_info_and_eval(model_dir, tmp_path, capsys):
    assert main(["model", "info", "--model", model_dir, "--json", "--load"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["recipe"] == "micro" and info["load_s"] > 0 and info["rss_mib"] > 0
    data = write_corpus(tmp_path / "data", n_train=2, n_test=2)
    assert main(["eval", "--model", model_dir, "--data", str(data), "--max-per-task", "1",
                 "--out", str(tmp_path / "ev"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"test", "test_family"}
    assert (tmp_path / "ev" / "eval.json").exists() and (tmp_path / "ev" / "eval.md").exists()


def test_model_build_trains_and_installs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IBERT_HOME", str(tmp_path / "home"))
    data = write_corpus(tmp_path / "data", n_train=6, n_test=1)
    rc = main(["model", "build", "--config", "micro", "--data", str(data), "--no-eval",
               "--quiet"])
    assert rc == 0
    installed = tmp_path / "home" / "models" / "default"
    assert (installed / "ibert.json").exists() and (installed / "adapter").is_dir()
    assert "installed" in capsys.readouterr().out


def test_accepted_fixes_come_closest_edit_first():
    from ibert_lsp.tasks.candidates import checked_candidates, gated_candidates

    class Listed:  # the model's candidates in its own order: a rewrite, a broken one, the fix
        def generate(self, prompt, n=1, max_new_tokens=64, stop=(), **kw):
            return ["<T0>.select('<C0>')", "<T0>.filter(<T0>.nope > 1)",
                    "<T0>.filter(<T0>.<C1> > 100)"]

    ctx = {"tables": {"events": {"schema": {"user_id": "int64", "amount": "float64"}}}}
    inp = {"code": "events.filter(events.amout > 100)",
           "error": "Table 'events' has no column 'amout'; did you mean 'amount'?"}
    checked = checked_candidates(Listed(), "error_resolution", inp, ctx, n=3)
    # the rewrite evaluates, but it is no fix of the input: refused as not relevant
    assert [c.verdict.ok for c in checked] == [True, False, False]
    assert checked[0].text == "events.filter(events.amount > 100)"
    assert any("not relevant" in c.verdict.reason and "select" in c.text for c in checked)
    assert gated_candidates(Listed(), "error_resolution", inp, ctx, n=3) == [
        "events.filter(events.amount > 100)"]


def test_editor_model_fixes_come_closest_edit_first_too():
    from ibert_lsp.tasks.error_resolution import fixes

    class Listed:
        def generate(self, prompt, n=1, max_new_tokens=64, stop=(), **kw):
            return ["<T0>.select('<C0>')", "<T0>.filter(<T0>.<C1> >= 100)"]

    schemas = {"events": {"user_id": "int64", "amount": "float64"}}
    found = fixes("events.filter(events.amout > 100)", schemas, generator=Listed(), max_fixes=5)
    # the rule fix (2 characters) first, the model's close fix next, its rewrite not at all
    assert [(f.source, f.new_text) for f in found] == [
        ("rule", "events.filter(events.amount > 100)"),
        ("model", "events.filter(events.amount >= 100)")]


# ---------------------------------------------------------------- the model shipped with ibert
def test_shipped_model_matches_the_prompt_format_and_tokenizer():
    """A prompt-format or special-token change cannot land without a rebuilt shipped model:
    `ibert model build --ship` (configs/default.yaml) re-exports it."""
    from transformers import AutoTokenizer

    from ibert_lsp.model.default import SHIPPED, tokens_fingerprint
    from ibert_lsp.prompting.prompts import ALL_ADDED_TOKENS, PROMPT_FORMAT_VERSION

    man = json.loads((SHIPPED / "ibert.json").read_text())
    hint = "rebuild the shipped model: ibert model build --ship"
    assert man["prompt_format"] == PROMPT_FORMAT_VERSION, hint
    assert man["tokens_fingerprint"] == tokens_fingerprint(), hint
    assert man["recipe"] == "default" and man["dtype"] == "float16"
    tok = AutoTokenizer.from_pretrained(str(SHIPPED / man["tokenizer"]))
    for t in ALL_ADDED_TOKENS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1, t
    size = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file())
    assert size < 8_000_000, f"the shipped model is {size / 1e6:.1f} MB"


def test_shipped_model_is_used_when_none_is_installed(tmp_path, monkeypatch, capsys):
    from ibert_lsp.model.default import load_default
    from ibert_lsp.prompting import prompts

    monkeypatch.setenv("IBERT_HOME", str(tmp_path))
    monkeypatch.delenv("IBERT_SHIPPED_MODEL", raising=False)
    assert main(["model", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["in_use"].startswith("shipped") and info["prompt_format"] == \
        prompts.PROMPT_FORMAT_VERSION
    gen = load_default()
    inp = {"question": "How do I filter rows?"}
    out = gen.generate(prompts.build_prompt("qa", inp), n=1, max_new_tokens=12,
                       stop=prompts.STOP["qa"])
    assert len(out) == 1 and isinstance(out[0], str)
    # an installed model of another prompt format is skipped for the shipped one, and said so
    bad = tmp_path / "models" / "default"
    bad.mkdir(parents=True)
    (bad / "ibert.json").write_text('{"base": "base", "prompt_format": 1}')
    assert main(["model", "info", "--json"]) == 0
    assert "prompt format 1" in json.loads(capsys.readouterr().out)["in_use"]


def test_demo_on_an_empty_home_reaches_model_ready_quickly(tmp_path):
    """The README's main command on a fresh machine: no training, the shipped model is ready
    within 120 s (the issue's bound; measured here on a shared 2-core CPU)."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, IBERT_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
               PYTHONPATH=str(root))
    env.pop("IBERT_SHIPPED_MODEL", None)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ibert_lsp.cli", "demo", "--no-build"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("model: "):
                break
        ready_s = time.monotonic() - t0
        rest, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(lines) + rest
    assert "model: the default model shipped with ibert" in out, out[-2000:]
    assert "model: ready" in out and ready_s < 120, (ready_s, out[-2000:])
    assert proc.returncode == 0 and "handler errors: 0" in out, err[-2000:] + out[-2000:]
    assert not (tmp_path / "home" / "models").exists()  # nothing was built
