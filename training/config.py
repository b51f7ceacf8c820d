"""Training recipes: one YAML file each (configs/), merged over these defaults."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ibert_lsp.errors import IbertError

DEFAULTS: dict = {
    "name": "recipe",
    "seed": 0,
    "threads": "auto",  # torch threads: a number, or auto (all cores unless the machine is busy)
    "output": "data/models/default",
    "data": {
        "dir": "data/generated",  # holds train/valid/test/test_family.jsonl
        "train": None,  # explicit file paths override dir/<split>.jsonl
        "valid": None,
        "test": None,
        "test_family": None,
        "max_train": None,  # cap on training records (None = all)
        "extra_text": [],  # extra files (.md/.py/.txt) for the tokenizer and base pre-training
    },
    "tokenizer": {"vocab_size": 4000, "min_frequency": 2},
    "base": {
        "from": "scratch",  # "scratch" or a HF model directory / hub id
        "arch": "llama",  # llama | gpt2 | qwen2 (from scratch)
        "hidden_size": 128,
        "layers": 4,
        "heads": 4,
        "kv_heads": None,
        "intermediate_size": 384,
        "max_positions": 512,
        "dropout": 0.0,
        "dtype": None,  # e.g. bfloat16 for a large pretrained base on a GPU
    },
    "pretrain": {
        "steps": 1000,
        "max_minutes": None,
        "batch_size": 16,
        "block_size": 256,
        "lr": 3e-3,
        "min_lr_ratio": 0.1,
        "warmup_steps": 50,
        "weight_decay": 0.01,
        "grad_clip": 1.0,
        "save_every_steps": 200,
        "log_every_steps": 10,
        "task_weights": None,  # share of each task in the packed corpus (None: lora's weights)
    },
    "lora": {
        "r": 8,
        "alpha": 16,
        "dropout": 0.0,
        "target_modules": "auto",  # or a list, e.g. [q_proj, k_proj, v_proj, o_proj]
        "steps": 500,
        "max_minutes": None,
        "batch_size": 16,
        "max_len": 384,
        "lr": 2e-3,
        "min_lr_ratio": 0.1,
        "warmup_steps": 20,
        "weight_decay": 0.0,
        "grad_clip": 1.0,
        "save_every_steps": 200,
        "log_every_steps": 10,
        "gradient_checkpointing": False,
        "task_weights": {
            "sql_to_ibis": 3.0,
            "code_completion": 2.0,
            "error_resolution": 2.0,
            "ibis_to_sql": 1.0,
            "qa": 1.0,
            "documentation": 1.0,
        },
    },
    "export": {"merged": True},  # also save base + adapter merged (small bases only)
    "eval": {
        "splits": ["test", "test_family"],
        "max_per_task": 50,
        "n_samples": 1,  # > 1: sample n per example for pass@k
        "k": [1],
        "temperature": 0.8,
        "max_new_tokens": 128,
        "gated_n": 0,  # > 0: also gated@n (one of n beam candidates passes the gate)
    },
}


def _merge(base: dict, over: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in (over or {}).items():
        if key not in out:
            raise IbertError(f"config: unknown key '{where}{key}'")
        if key == "task_weights":
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None, overrides: dict | None = None) -> dict:
    """A recipe: DEFAULTS merged with the YAML file and then with `overrides`."""
    cfg = copy.deepcopy(DEFAULTS)
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise IbertError(f"config file {p} not found")
        try:
            raw = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise IbertError(f"config file {p} is not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise IbertError(f"config file {p} must be a mapping")
        cfg = _merge(cfg, raw)
        cfg["_path"] = str(p)
    if overrides:
        cfg = _merge(cfg, overrides)
    weights = cfg["lora"]["task_weights"]
    if not isinstance(weights, dict) or not any(float(v) > 0 for v in weights.values()):
        raise IbertError("config: lora.task_weights needs at least one positive weight")
    return cfg


def config_path(name_or_path: str) -> Path:
    """`default`, `micro`, ... name a file in configs/; anything else is a path."""
    p = Path(name_or_path)
    if p.exists() or p.suffix in (".yaml", ".yml"):
        return p
    here = Path(__file__).resolve().parent.parent / "configs" / f"{name_or_path}.yaml"
    return here
