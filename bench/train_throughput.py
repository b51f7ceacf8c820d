"""Training throughput (tokens/s) of the default recipe's model, both stages, on this machine.

    .venv/bin/python bench/train_throughput.py [--config default] [--steps 30] [--threads 1 2]

Builds the recipe's from-scratch base (same architecture and sizes), trains a tokenizer on the
corpus (data/generated/train.jsonl, or a constructed one when it is missing), and times
`--steps` optimizer steps of (1) base pre-training on packed whole sequences and (2) LoRA
fine-tuning with target-only loss, for each thread count. Prints a table and writes JSON to
bench/results/train_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus(cfg) -> tuple[list, str]:
    from training import data as D

    p = D.split_path(cfg, "train")
    if p is not None and p.exists():
        recs = D.read_jsonl(p)
        random.Random(0).shuffle(recs)
        return D.to_examples(recs[:4000]), str(p)
    from tests.test_model_support import make_records

    return D.to_examples(make_records(200)), "constructed (tests/test_model_support.py)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="default")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    ap.add_argument("--out", default=str(ROOT / "bench/results/train_throughput.json"))
    args = ap.parse_args()

    import torch

    from training import modeling
    from training.batches import PackedLM, TaskBatches
    from training.config import config_path, load_config
    from training.loop import train_loop
    from training.tokenizer import train_tokenizer

    cfg = load_config(config_path(args.config))
    examples, source = corpus(cfg)
    texts = [e.prompt + e.completion for e in examples]
    tok = train_tokenizer(texts, int(cfg["tokenizer"]["vocab_size"]))
    rows = []
    for threads in sorted(set(args.threads)):
        torch.set_num_threads(threads)
        base = modeling.new_base(cfg["base"], tok)
        n_params = sum(p.numel() for p in base.parameters())
        pc = dict(cfg["pretrain"], steps=args.steps, max_minutes=None, save_every_steps=10**9)
        packed = PackedLM(tok, texts, int(pc["block_size"]), int(pc["batch_size"]))
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = train_loop(base, packed, pc, ckpt_path=Path(tmp) / "b.pt", stage="base",
                             progress=False, resume=False)
            wall = time.perf_counter() - t0
            rows.append({"stage": "base pre-training", "threads": threads, "params": n_params,
                         "steps": res["steps"], "tokens": res["tokens_this_run"],
                         "tokens_per_s": res["tokens_per_s"], "wall_s": round(wall, 2)})
            lc = dict(cfg["lora"], steps=args.steps, max_minutes=None, save_every_steps=10**9)
            pm = modeling.add_lora(base, lc)
            counts = modeling.count_params(pm)
            batches = TaskBatches(tok, examples, lc["task_weights"], int(lc["batch_size"]),
                                  int(lc["max_len"]))
            t0 = time.perf_counter()
            res = train_loop(pm, batches, lc, ckpt_path=Path(tmp) / "l.pt", stage="lora",
                             progress=False, resume=False)
            wall = time.perf_counter() - t0
            rows.append({"stage": "LoRA fine-tuning", "threads": threads,
                         "params": counts["trainable"], "steps": res["steps"],
                         "tokens": res["tokens_this_run"], "tokens_per_s": res["tokens_per_s"],
                         "wall_s": round(wall, 2)})
    result = {"config": cfg["name"], "corpus": source, "vocab": len(tok),
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "loadavg_1m": round(os.getloadavg()[0], 2)},
              "rows": rows}
    print(f"recipe {cfg['name']}: vocab {len(tok)}, corpus {source}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| stage | threads | params (trainable) | steps | tokens | tokens/s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['stage']} | {r['threads']} | {r['params']:,} | {r['steps']} | "
              f"{r['tokens']:,} | {r['tokens_per_s']:,.0f} | {r['wall_s']} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
