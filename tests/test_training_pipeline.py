"""The micro recipe end to end: tokenizer -> base -> LoRA -> export -> eval, resume, CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

from ibert_lsp.errors import IbertError
from ibert_lsp.prompting import prompts
from tests.test_model_support import micro_run, write_corpus


def test_all_stages_ran_and_wrote_their_files():
    run_dir, state = micro_run()
    assert all(state["done"].get(s) for s in ("tokenizer", "base", "lora", "export", "eval"))
    model = run_dir / "model"
    for name in ("ibert.json", "README.md", "eval.md", "eval.json", "loss.png",
                 "base/config.json", "base/tokenizer.json", "adapter/adapter_config.json",
                 "adapter/adapter_model.safetensors", "merged/config.json"):
        assert (model / name).exists(), name
    assert (model / "loss.png").read_bytes()[:4] == b"\x89PNG"
    card = (model / "README.md").read_text()
    assert "training records: 216" in card and "| split | task |" in card
    ev = json.loads((model / "eval.json").read_text())
    assert set(ev["results"]) == {"test", "test_family"}
    assert set(ev["results"]["test"]) == set(prompts.TASKS)


def test_tokenizer_keeps_special_tokens_atomic():
    from training.tokenizer import load_tokenizer

    run_dir, _ = micro_run()
    tok = load_tokenizer(run_dir / "tokenizer")
    for t in prompts.ALL_ADDED_TOKENS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1, t
    text = "events.filter(events.amount > <L0>)"
    assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


def test_losses_fall():
    _, state = micro_run()
    base = [h["loss"] for h in state["base"]["history"]]
    assert base[-1] < 0.7 * base[0]
    assert state["lora"]["valid_loss"] is not None
    assert 0 < state["lora"]["trainable_fraction"] < 0.2


def test_rerun_skips_finished_stages():
    from training.config import config_path, load_config
    from training.pipeline import run

    run_dir, _ = micro_run()
    cfg = load_config(config_path("micro"), {"data": {"dir": str(run_dir.parent / "data")},
                                             "eval": {"max_per_task": 2},
                                             "lora": {"max_minutes": 9}})  # a budget only
    before = (run_dir / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime
    state = run(cfg, run_dir, progress=False, skip_eval=True)
    after = (run_dir / "model" / "adapter" / "adapter_model.safetensors").stat().st_mtime
    assert before == after and state["done"]["lora"]


def test_rerun_on_other_data_starts_over(tmp_path, capsys):
    import shutil

    from training.config import config_path, load_config
    from training.pipeline import run

    src, old = micro_run()
    run_dir = tmp_path / "run"
    shutil.copytree(src, run_dir)
    data = write_corpus(tmp_path / "data", n_train=8, n_test=2)
    cfg = load_config(config_path("micro"), {"data": {"dir": str(data)}})
    state = run(cfg, run_dir, progress=True, skip_eval=True)
    assert "starting over" in capsys.readouterr().out
    assert state["data"]["train"]["records"] != old["data"]["train"]["records"]
    assert state["fingerprint"] != old["fingerprint"] and state["done"]["lora"]


def test_loop_resumes_from_checkpoint_after_interruption(tmp_path):
    import torch

    from training.loop import train_loop

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = model

        def forward(self, input_ids, attention_mask, labels):
            out = self.lin(input_ids.float()).squeeze(-1)
            return type("O", (), {"loss": ((out - labels.float()) ** 2).mean()})()

    net = Wrap()
    calls = {"n": 0}

    def batches(rng: random.Random):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        x = torch.tensor([[rng.randint(0, 3) for _ in range(4)] for _ in range(8)])
        return {"input_ids": x, "attention_mask": torch.ones_like(x), "labels": x.sum(1)}

    c = {"steps": 20, "lr": 0.05, "weight_decay": 0.0, "warmup_steps": 0,
         "save_every_steps": 100, "log_every_steps": 1, "grad_clip": 1.0}
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        train_loop(net, batches, c, ckpt_path=ckpt, stage="t", progress=False)
    assert ckpt.exists()
    saved = torch.load(ckpt, weights_only=False)
    assert saved["step"] == 7
    res = train_loop(net, batches, c, ckpt_path=ckpt, stage="t", progress=False)
    assert res["resumed_from"] == 7 and res["steps"] == 20
    assert [h["step"] for h in res["history"]] == list(range(1, 21))
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(IbertError, match="cannot be resumed"):
        train_loop(net, batches, c, ckpt_path=ckpt, stage="t", progress=False)


def test_time_budget_stops_a_stage(tmp_path):
    import torch

    from training.loop import lr_at, train_loop

    net = torch.nn.Module()
    net.w = torch.nn.Parameter(torch.zeros(1))

    def fwd(input_ids, attention_mask, labels):
        import time

        time.sleep(0.02)
        return type("O", (), {"loss": (net.w - 1).pow(2).sum()})()

    net.forward = fwd
    c = {"steps": 10_000, "max_minutes": 0.005, "lr": 0.1, "weight_decay": 0.0,
         "warmup_steps": 0, "save_every_steps": 10_000, "log_every_steps": 5}

    def batches(rng):
        x = torch.zeros((1, 1), dtype=torch.long)
        return {"input_ids": x, "attention_mask": torch.ones_like(x), "labels": x}

    res = train_loop(net, batches, c, ckpt_path=tmp_path / "c.pt", stage="t", progress=False)
    assert 3 <= res["steps"] < 100
    assert lr_at(1.0, 100, c) == pytest.approx(0.1 * 0.1)


def test_train_cli_and_missing_data_error(tmp_path, capsys):
    from ibert_lsp.cli import main

    data = write_corpus(tmp_path / "data", n_train=6, n_test=1)
    rc = main(["train", "--config", "micro", "--data", str(data), "--out",
               str(tmp_path / "out"), "--pretrain-steps", "4", "--lora-steps", "3",
               "--no-eval", "--quiet"])
    assert rc == 0
    assert (tmp_path / "out" / "model" / "ibert.json").exists()
    rc = main(["train", "--config", "micro", "--data", str(tmp_path / "nothing"), "--out",
               str(tmp_path / "out2"), "--quiet"])
    assert rc == 2
    assert "no training data" in capsys.readouterr().err
    rc = main(["train", "--config", str(tmp_path / "missing.yaml")])
    assert rc == 2


def test_config_rejects_unknown_keys(tmp_path):
    from training.config import load_config

    p = tmp_path / "bad.yaml"
    p.write_text("lora:\n  rank: 4\n")
    with pytest.raises(IbertError, match="unknown key 'lora.rank'"):
        load_config(p)


def test_threads_and_weighted_pretraining_mix(monkeypatch):
    import os

    from training.data import Example
    from training.pipeline import threads_for, weighted_texts

    from training import pipeline

    assert threads_for(3) == 3
    # every core busy right now (real processes spinning): one thread
    cores = os.cpu_count() or 1
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        time.sleep(0.3)
        assert pipeline._busy_cores() > cores - 0.5
        assert threads_for("auto") == 1
    finally:
        for proc in spin:
            proc.kill()
            proc.wait()
    # what counts is the machine now, not the lagging load average
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    monkeypatch.setattr(pipeline, "_busy_cores", lambda: 0.1)
    assert threads_for(None) == cores
    exs = [Example("qa", "q", f"a{i}", {}) for i in range(50)]
    exs += [Example("sql_to_ibis", "s", f"b{i}", {}) for i in range(50)]
    mix = weighted_texts(exs, {"qa": 1.0, "sql_to_ibis": 3.0}, random.Random(0))
    assert len(mix) == 100
    assert sum(t.startswith("s") for t in mix) == 75
