"""Distributed training for real: `torchrun --nproc_per_node 2` on the CPU with gloo trains the
micro base and LoRA adapter (tests/dist_train_driver.py is each process).

Phase a stops both processes at base step 5 the way Ctrl-C does; phase b resumes. Checked: both
processes used gloo and saw different batches, they end every stage with identical weights
(only possible when gradients were averaged: their batches differed), only rank 0 wrote
anything under the run folder (checkpoints, state, export), and phase b resumed from the
checkpoint of step 5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_model_support import write_corpus

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"


def _launch(tmp: Path, phase: str, *extra: str) -> list[dict]:
    cmd = [str(TORCHRUN), "--standalone", "--nproc_per_node", "2",
           str(ROOT / "tests" / "dist_train_driver.py"), "--data", str(tmp / "data"),
           "--out", str(tmp / "run"), "--report", str(tmp / "report"), "--phase", phase, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(ROOT)}
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
                       check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads((tmp / "report" / f"rank{r}-{phase}.json").read_text()) for r in (0, 1)]


@pytest.fixture(scope="module")
def phases(tmp_path_factory):
    if not TORCHRUN.exists():
        pytest.fail("torchrun is missing from the environment")
    tmp = tmp_path_factory.mktemp("dist")
    write_corpus(tmp / "data")
    a = _launch(tmp, "a", "--interrupt-at", "5")
    b = _launch(tmp, "b")
    return tmp, a, b


def test_two_gloo_processes_saw_different_batches(phases):
    _, a, b = phases
    for phase in (a, b):
        assert [r["rank"] for r in phase] == [0, 1] and all(r["world"] == 2 for r in phase)
        assert all(r["backend"] == "gloo" for r in phase)
    r0, r1 = b
    for kind in ("PackedLM", "TaskBatches"):
        assert len(r0["batches"][kind]) == len(r1["batches"][kind]) > 0
        assert not set(r0["batches"][kind]) & set(r1["batches"][kind]), kind


def test_ranks_end_with_identical_weights(phases):
    _, _, (r0, r1) = phases
    assert set(r0["digests"]) == {"base", "lora"}
    assert r0["digests"] == r1["digests"]  # different batches, same weights: gradients averaged
    assert r0["digests"]["base"] != r0["digests"]["lora"]


def test_only_rank_0_writes(phases):
    tmp, a, b = phases
    assert a[1]["writes"] == [] and b[1]["writes"] == []
    rel = [Path(w[1]).relative_to(tmp / "run").parts for w in a[0]["writes"] + b[0]["writes"]]
    written = {parts[0] for parts in rel if parts}
    assert {"state.tmp", "checkpoints", "tokenizer", "base_model", "model"} <= written
    assert any("checkpoints/base" in w[1] for w in a[0]["writes"])
    model = tmp / "run" / "model"
    for name in ("ibert.json", "adapter/adapter_config.json", "merged/config.json"):
        assert (model / name).exists(), name


def test_resume_after_an_interrupt(phases):
    tmp, a, b = phases
    assert all(r["interrupted"] for r in a) and not any(r["interrupted"] for r in b)
    assert len(a[0]["batches"]["PackedLM"]) == 5  # stopped at step 5 ...
    for r in b:
        assert r["state"]["base"]["resumed_from"] == 5  # ... and went on from its checkpoint
        assert r["state"]["base"]["steps"] == 12 and len(r["batches"]["PackedLM"]) == 7
        assert r["state"]["lora"]["steps"] == 6
    state = json.loads((tmp / "run" / "state.json").read_text())
    assert all(state["done"][s] for s in ("tokenizer", "base", "lora", "export"))
    from ibert_lsp.model.hf import HFGenerator

    gen = HFGenerator.load(tmp / "run" / "model")  # the export loads like any ibert model
    assert isinstance(gen.generate("<|qa|>", max_new_tokens=4), list)
