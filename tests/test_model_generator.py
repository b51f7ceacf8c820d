"""HFGenerator: loading layouts, candidates, stop/deadline/cancel, cache, worker, errors."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time

import pytest

from ibert_lsp.errors import IbertError
from ibert_lsp.model.hf import HFGenerator, ModelLoadError
from ibert_lsp.model.protocol import Generator
from ibert_lsp.model.worker import GenerationWorker
from ibert_lsp.prompting import prompts
from tests.test_model_support import CONTEXT, micro_run


@pytest.fixture(scope="module")
def model_dir():
    run_dir, _ = micro_run()
    return run_dir / "model"


@pytest.fixture(scope="module")
def gen(model_dir):
    return HFGenerator.load(model_dir)


class CountingEvent(threading.Event):
    """A cancel event that reports itself set after `after` checks (a user cancelling mid-way)."""

    def __init__(self, after: int):
        super().__init__()
        self.after, self.calls = after, 0

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls > self.after or super().is_set()


def _plain_ids(gen, n=6):
    """Ids of single-letter tokens: decoding restricted to them never ends by itself and
    writes one character per token."""
    ids = []
    for ch in "abcdefgh":
        tid = gen.tokenizer(ch, add_special_tokens=False)["input_ids"]
        assert len(tid) == 1
        ids += tid
    return ids[:n]


def test_loads_manifest_dir_with_merged_adapter(gen, model_dir):
    assert isinstance(gen, Generator)
    assert gen.info["adapter"] and gen.info["merged"] is True
    assert not hasattr(gen.model, "peft_config")  # merged into plain weights
    assert gen.info["params"] > 0


def test_premerged_copy_equals_base_plus_adapter(gen, model_dir):
    import torch

    assert gen.info["base"].endswith("merged")
    unmerged = HFGenerator.load(model_dir, merge=False)
    assert hasattr(unmerged.model, "peft_config") and not unmerged.info["merged"]
    x = torch.tensor([[3, 50, 60, 70, 80]])
    with torch.inference_mode():
        assert torch.allclose(gen.model(x).logits, unmerged.model(x).logits, atol=1e-4)


def test_candidates_are_distinct_and_free_of_special_tokens(gen):
    inp = {"prefix": "expr = events.filter(events.amount > 5).", "suffix": ""}
    prompt = prompts.build_prompt("code_completion", inp, CONTEXT)
    out = gen.generate(prompt, n=3, max_new_tokens=12, stop=prompts.STOP["code_completion"])
    assert 1 <= len(out) <= 3 and len(set(out)) == len(out)
    for text in out:
        for tok in prompts.SPECIAL_TOKENS + ["<fim_middle>", "<|pad|>"]:
            assert tok not in text


def test_cache_by_prompt_and_settings(gen):
    gen.cache_clear()
    prompt = prompts.build_prompt("qa", {"question": "What is a table?"}, CONTEXT)
    a = gen.generate(prompt, n=1, max_new_tokens=6)
    hits = gen.cache_hits
    b = gen.generate(prompt, n=1, max_new_tokens=6)
    assert a == b and gen.cache_hits == hits + 1
    gen.generate(prompt, n=1, max_new_tokens=7)  # other settings: a miss
    assert gen.cache_hits == hits + 1


def test_cancel_stops_mid_generation_and_is_not_cached(gen):
    gen.cache_clear()
    allowed = _plain_ids(gen)
    prompt = prompts.build_prompt("qa", {"question": "cancel me"}, CONTEXT)
    full = gen.generate(prompt, max_new_tokens=40, allowed_token_ids=allowed)
    assert len(full[0]) == 40  # one letter per token: restricted decoding runs to the limit
    ev = CountingEvent(after=5)
    part = gen.generate(prompt, max_new_tokens=40, allowed_token_ids=allowed, cancel=ev)
    assert len(part[0]) <= 8 if part else True
    assert ev.calls > 5
    pre = threading.Event()
    pre.set()
    assert gen.generate(prompt, max_new_tokens=40, cancel=pre) == []


def test_deadline_bounds_generation_time(gen):
    allowed = _plain_ids(gen)
    prompt = prompts.build_prompt("qa", {"question": "deadline"}, CONTEXT)
    t0 = time.perf_counter()
    out = gen.generate(prompt, max_new_tokens=300, allowed_token_ids=allowed, deadline_s=0.0)
    assert time.perf_counter() - t0 < 1.0
    assert len(out[0]) <= 2


def test_stop_strings_cut_the_output(gen):
    allowed = _plain_ids(gen, n=3)
    letters = [gen.tokenizer.decode([i]) for i in allowed]
    prompt = prompts.build_prompt("qa", {"question": "stop"}, CONTEXT)
    full = gen.generate(prompt, max_new_tokens=20, allowed_token_ids=allowed)[0]
    stop = next(ch for ch in letters if ch in full[1:])
    cut = gen.generate(prompt, max_new_tokens=20, allowed_token_ids=allowed, stop=(stop,))[0]
    assert stop not in cut and full.startswith(cut)


def test_worker_runs_off_the_loop_and_cancellation_reaches_the_model(gen):
    worker = GenerationWorker()
    assert worker.start_loading(lambda: gen).result(10) is gen
    assert worker.generator is gen
    allowed = _plain_ids(gen)
    prompt = prompts.build_prompt("qa", {"question": "worker"}, CONTEXT)
    fut = worker.run(gen.generate, prompt, max_new_tokens=5, allowed_token_ids=allowed)
    assert len(fut.result(10)) == 1

    async def main():
        seen = {}
        orig = gen.generate

        def slow_generate(*a, cancel=None, **kw):
            seen["cancel"] = cancel
            while not cancel.is_set():
                time.sleep(0.01)
            return orig(*a, cancel=cancel, **kw)

        gen.generate = slow_generate
        try:
            task = asyncio.ensure_future(worker.arun(
                lambda cancel: gen.generate(prompt, cancel=cancel, max_new_tokens=5)))
            await asyncio.sleep(0.1)  # the loop is free while the model works
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            return seen["cancel"].is_set()
        finally:
            del gen.generate

    assert asyncio.run(main()) is True
    worker.shutdown()


def test_worker_reports_load_errors():
    worker = GenerationWorker()

    def boom():
        raise IbertError("no model")

    assert worker.start_loading(boom).result(5) is None
    assert isinstance(worker.load_error, IbertError)
    assert worker.generator is None  # the server then answers without the model
    worker.shutdown()


def test_missing_and_corrupt_model_dirs_are_clear_errors(tmp_path, model_dir):
    with pytest.raises(ModelLoadError, match="not found|not a model directory"):
        HFGenerator.load(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a model directory"):
        HFGenerator.load(empty)
    bad_manifest = tmp_path / "bad_manifest"
    shutil.copytree(model_dir, bad_manifest)
    (bad_manifest / "ibert.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        HFGenerator.load(bad_manifest)
    bad_weights = tmp_path / "bad_weights"
    shutil.copytree(model_dir, bad_weights)
    (bad_weights / "merged" / "model.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ModelLoadError, match="cannot load model"):
        HFGenerator.load(bad_weights)
    (bad_weights / "base" / "model.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ModelLoadError, match="cannot load model"):
        HFGenerator.load(bad_weights, merge=False)
    no_adapter = tmp_path / "no_adapter"
    shutil.copytree(model_dir, no_adapter)
    shutil.rmtree(no_adapter / "adapter")
    with pytest.raises(ModelLoadError, match="adapter"):
        HFGenerator.load(no_adapter)
    old = tmp_path / "old_format"
    shutil.copytree(model_dir, old)
    man = json.loads((old / "ibert.json").read_text())
    man["prompt_format"] = 0
    (old / "ibert.json").write_text(json.dumps(man))
    with pytest.raises(ModelLoadError, match="prompt format"):
        HFGenerator.load(old)


def test_plain_hf_dir_and_adapter_dir_layouts(model_dir):
    plain = HFGenerator.load(model_dir / "base")
    assert plain.info["adapter"] is None
    alone = HFGenerator.load(model_dir / "adapter")  # base found from adapter_config.json
    assert alone.info["adapter"] and alone.info["merged"]


def test_default_model_dir_follows_ibert_home(tmp_path, monkeypatch, model_dir):
    from ibert_lsp.model import default

    monkeypatch.setenv("IBERT_HOME", str(tmp_path))
    monkeypatch.setenv("IBERT_SHIPPED_MODEL", "none")  # as an install without the shipped model
    assert default.default_model_dir() == tmp_path / "models" / "default"
    assert default.load_default() is None
    shutil.copytree(model_dir, tmp_path / "models" / "default")
    assert isinstance(default.load_default(), HFGenerator)


def test_sql_fallback_from_a_generator(gen):
    from ibert_lsp.tasks.candidates import make_sql_fallback

    fallback = make_sql_fallback(gen, n=2)
    out = fallback("SELECT user_id FROM events WHERE amount > 42",
                   {"events": {"user_id": "int64", "amount": "float64"}})
    assert isinstance(out, list) and len(out) <= 2
    for code in out:
        assert "<L" not in code and "<|" not in code


def test_placeholders_the_prompt_lacks_are_never_generated(gen):
    # decoding restricted to one letter and two placeholders: the one the prompt carries may
    # appear, the one it lacks (unrestorable) must not, however many tokens are drawn
    letter = _plain_ids(gen, n=1)
    present = gen.tokenizer.convert_tokens_to_ids("<C0>")
    absent = gen.tokenizer.convert_tokens_to_ids("<C7>")
    prompt = prompts.build_prompt("sql_to_ibis", {"sql": "SELECT user_id FROM events"}, CONTEXT)
    assert "<C0>" in prompt and "<C7>" not in prompt
    outs = gen.generate(prompt, n=1, max_new_tokens=30, temperature=1.5,
                        allowed_token_ids=letter + [present, absent])
    outs += gen.generate(prompt, n=3, max_new_tokens=30,
                         allowed_token_ids=letter + [present, absent])
    assert outs and all("<C7>" not in o for o in outs)
    # and the mask is what stops it: where the placeholder scores highest it is still refused
    import torch

    from ibert_lsp.model.hf import _TokenMask

    scores = torch.zeros((1, len(gen.tokenizer)))
    scores[0, absent] = 5.0
    assert int(_TokenMask(allowed=letter + [absent])(None, scores).argmax()) == absent
    masked = _TokenMask(allowed=letter + [absent], banned=[absent])(None, scores)
    assert int(masked.argmax()) == letter[0]
