"""`ibert train [--config RECIPE] [--out DIR] [--fresh] [--no-eval] [--steps N ...]`."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model recipe (tokenizer, base, LoRA, eval, export)",
        description="Train a recipe from configs/ end to end. Finished stages are skipped and an "
        "interrupted stage resumes from its checkpoint; --fresh starts over.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", default="default",
                   help="recipe: a name in configs/ (default, micro, qwen-lora) or a YAML path")
    p.add_argument("--out", help="output directory (default: the recipe's `output`)")
    p.add_argument("--data", help="directory with train/valid/test/test_family.jsonl")
    p.add_argument("--base", help="base model: 'scratch' or a HF directory / hub id")
    p.add_argument("--fresh", action="store_true", help="discard checkpoints and start over")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation stage")
    p.add_argument("--pretrain-steps", type=int, help="override pretrain.steps")
    p.add_argument("--lora-steps", type=int, help="override lora.steps")
    p.add_argument("--minutes", type=float,
                   help="time budget per training stage (pretrain/lora max_minutes)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=handle)


def overrides_from(args) -> dict:
    o: dict = {}
    if args.data:
        o.setdefault("data", {})["dir"] = args.data
    if args.base:
        o.setdefault("base", {})["from"] = args.base
    if args.pretrain_steps is not None:
        o.setdefault("pretrain", {})["steps"] = args.pretrain_steps
    if args.lora_steps is not None:
        o.setdefault("lora", {})["steps"] = args.lora_steps
    if args.minutes is not None:
        o.setdefault("pretrain", {})["max_minutes"] = args.minutes
        o.setdefault("lora", {})["max_minutes"] = args.minutes
    if args.threads:
        o["threads"] = args.threads
    return o


def handle(args) -> int:
    from training.config import config_path, load_config
    from training.pipeline import run

    cfg = load_config(config_path(args.config), overrides_from(args))
    state = run(cfg, args.out, fresh=args.fresh, progress=not args.quiet,
                skip_eval=args.no_eval)
    out = args.out or cfg["output"]
    print(f"model: {out}/model (loss curve: {out}/model/loss.png, report: {out}/model/eval.md)")
    print(f"total: {state.get('total_s')} s")
    return 0
