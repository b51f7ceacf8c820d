"""The whole recipe: data -> tokenizer -> base (pre-training) -> LoRA -> export -> eval.

Every stage records itself in `<out>/state.json`; a rerun skips finished stages and resumes an
interrupted one from its checkpoint (`<out>/checkpoints/<stage>.pt`). `fresh=True` starts over,
and so does a run whose fingerprint (prompt format, data files, model-shaping settings; not the
step or time budgets, so a resume may get more time) no longer matches: a stale run must never
be finished and installed as if it were new.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ibert_lsp.errors import IbertError
from training import data as D
from training.config import load_config

STAGES = ("tokenizer", "base", "lora", "export", "eval")
_RUN_FILES = ("tokenizer", "base_model", "model", "checkpoints", "state.json")
# settings that only bound how long a stage runs: changing them keeps a run resumable
_BUDGET_KEYS = ("steps", "max_minutes", "save_every_steps", "log_every_steps")


def fingerprint(cfg: dict) -> str:
    """What a run's weights depend on: prompt format, data files (size, mtime), recipe."""
    import hashlib

    from ibert_lsp.prompting import prompts

    shaping = {k: ({kk: vv for kk, vv in v.items() if kk not in _BUDGET_KEYS}
                   if isinstance(v, dict) else v)
               for k, v in cfg.items() if k not in ("output", "eval", "threads")}
    files = {}
    for split in D.SPLITS:
        path = D.split_path(cfg, split)
        if path is not None and Path(path).exists():
            st = Path(path).stat()
            files[split] = [st.st_size, int(st.st_mtime)]
    blob = json.dumps({"prompt_format": prompts.PROMPT_FORMAT_VERSION, "cfg": shaping,
                       "data": files}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _clear(out: Path) -> None:
    for sub in _RUN_FILES:
        p = out / sub
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _log(progress: bool, msg: str) -> None:
    if progress and is_main():
        print(f"[ibert train] {msg}", flush=True)


# ------------------------------------------------------------------ several processes
# Under `torchrun` / `accelerate launch` every process runs this pipeline: all of them train
# (data parallel, through accelerate in training/loop.py), only rank 0 writes (state.json, the
# tokenizer, checkpoints, base, adapter, export, eval); the others wait at a barrier and read.
def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if world_size() > 1:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()


def _init_distributed() -> None:
    """Start the process group once (gloo on CPU, nccl on GPUs), as accelerate does."""
    if world_size() > 1:
        import torch
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())


class Run:
    def __init__(self, cfg: dict, out_dir: str | Path | None = None, *, progress: bool = True):
        self.cfg = cfg
        self.out = Path(out_dir or cfg["output"])
        self.progress = progress
        self.state_path = self.out / "state.json"
        self.state: dict = {}

    # ------------------------------------------------------------------ state
    def load_state(self) -> None:
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text())
            except json.JSONDecodeError:
                raise IbertError(f"{self.state_path} is corrupt; train with --fresh") from None

    def save_state(self) -> None:
        if not is_main():
            return  # rank 0 keeps the record; the others only read it
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, default=str))
        os.replace(tmp, self.state_path)

    def done(self, stage: str) -> bool:
        return bool(self.state.get("done", {}).get(stage))

    def mark(self, stage: str) -> None:
        self.state.setdefault("done", {})[stage] = True
        self.save_state()

    @property
    def external_base(self) -> bool:
        return str(self.cfg["base"]["from"]) != "scratch"

    # ------------------------------------------------------------------- data
    def load_data(self) -> None:
        cfg = self.cfg
        self.records = {s: D.load_split(cfg, s) for s in D.SPLITS}
        if not self.records["train"]:
            where = D.split_path(cfg, "train") or Path(cfg["data"]["dir"]) / "train.jsonl"
            raise IbertError(
                f"no training data at {where}; generate it with `ibert datagen` or "
                "`ibert model build`, or set data.train in the config"
            )
        train = self.records["train"]
        if cfg["data"].get("max_train") and len(train) > cfg["data"]["max_train"]:
            import random

            train = random.Random(cfg["seed"]).sample(train, int(cfg["data"]["max_train"]))
            self.records["train"] = train
        self.train_ex = D.to_examples(train)
        self.valid_ex = D.to_examples(self.records["valid"])
        if not self.train_ex:
            raise IbertError("the training data has no usable records (unknown tasks?)")
        self.state["data"] = {s: D.stats(r) for s, r in self.records.items() if r}
        self.save_state()
        _log(self.progress, f"data: {len(self.train_ex)} training pairs, "
             f"{len(self.valid_ex)} validation pairs")

    # -------------------------------------------------------------- tokenizer
    def tokenizer_stage(self):
        from training.tokenizer import load_tokenizer, train_tokenizer

        tdir = self.out / "tokenizer"
        if self.external_base:
            tok = load_tokenizer(self.cfg["base"]["from"])
            return tok
        if self.done("tokenizer") and tdir.exists():
            return load_tokenizer(tdir)
        if not is_main():
            raise IbertError("internal: a non-main process may not train the tokenizer")
        t0 = time.perf_counter()
        texts = [ex.prompt + ex.completion for ex in self.train_ex]
        texts += D.extra_texts(self.cfg["data"].get("extra_text"))
        tok = train_tokenizer(texts, int(self.cfg["tokenizer"]["vocab_size"]),
                              int(self.cfg["tokenizer"].get("min_frequency", 2)))
        tok.save_pretrained(str(tdir))
        self.state["tokenizer"] = {"vocab_size": len(tok),
                                   "seconds": round(time.perf_counter() - t0, 2)}
        self.mark("tokenizer")
        _log(self.progress, f"tokenizer: {len(tok)} tokens")
        return tok

    # ------------------------------------------------------------------- base
    def base_stage(self, tok):
        from training import modeling
        from training.batches import PackedLM
        from training.loop import train_loop

        bdir = self.out / "base_model"
        if self.external_base:
            src = str(self.cfg["base"]["from"])
            model = modeling.load_base(src, self.cfg["base"].get("dtype"))
            self.state["base"] = {"source": src, "model_type": model.config.model_type,
                                  "params": sum(p.numel() for p in model.parameters()),
                                  "vocab_size": len(tok)}
            self.save_state()
            return model
        if self.done("base") and (bdir / "config.json").exists():
            return modeling.load_base(str(bdir))
        model = modeling.new_base(self.cfg["base"], tok, seed=self.cfg["seed"])
        c = self.cfg["pretrain"]
        import random

        rng = random.Random(self.cfg["seed"])
        weights = c.get("task_weights") or self.cfg["lora"]["task_weights"]
        texts = weighted_texts(self.train_ex, weights, rng)
        texts += D.extra_texts(self.cfg["data"].get("extra_text"))
        rng.shuffle(texts)
        packed = PackedLM(tok, texts, int(c["block_size"]), int(c["batch_size"]))
        n_params = sum(p.numel() for p in model.parameters())
        _log(self.progress, f"base: {model.config.model_type}, {n_params:,} parameters, "
             f"corpus {packed.n_tokens:,} tokens")
        res = train_loop(model, packed, c, ckpt_path=self.out / "checkpoints" / "base.pt",
                         stage="base", seed=self.cfg["seed"], progress=self.progress)
        if is_main():
            model.save_pretrained(str(bdir))
            tok.save_pretrained(str(bdir))
        self.state["base"] = {
            "source": "scratch", "model_type": model.config.model_type, "params": n_params,
            "vocab_size": len(tok), "corpus_tokens": packed.n_tokens,
            **{k: v for k, v in res.items() if k != "history"}, "history": res["history"],
        }
        self.mark("base")
        return model

    # ------------------------------------------------------------------- lora
    def lora_stage(self, model, tok):
        from training import modeling
        from training.batches import TaskBatches, mean_loss
        from training.loop import train_loop

        c = self.cfg["lora"]
        adir = self.out / "model" / "adapter"
        if self.done("lora") and (adir / "adapter_config.json").exists():
            return
        if c.get("gradient_checkpointing") and hasattr(model, "gradient_checkpointing_enable"):
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
        pmodel = modeling.add_lora(model, c)
        counts = modeling.count_params(pmodel)
        targets, _ = modeling.lora_targets(model, c.get("target_modules", "auto"))
        batches = TaskBatches(tok, self.train_ex, c["task_weights"], int(c["batch_size"]),
                              int(c["max_len"]))
        valid = None
        if self.valid_ex:
            import random

            vex = random.Random(0).sample(self.valid_ex, min(len(self.valid_ex), 256))
            vb = TaskBatches(tok, vex, {t: 1 for t in c["task_weights"]}, 16, int(c["max_len"]))

            def valid(m):
                return mean_loss(m, vb.all_batches(16))

        _log(self.progress, f"lora: r={c['r']} alpha={c['alpha']} on {targets}: "
             f"{counts['trainable']:,} of {counts['total']:,} parameters trainable "
             f"({100 * counts['trainable_fraction']:.2f}%)")
        res = train_loop(pmodel, batches, c, ckpt_path=self.out / "checkpoints" / "lora.pt",
                         stage="lora", seed=self.cfg["seed"] + 1, progress=self.progress,
                         valid_fn=valid)
        if is_main():
            pmodel.save_pretrained(str(adir))
        self.state["lora"] = {"target_modules": targets, **counts,
                              **{k: v for k, v in res.items() if k != "history"},
                              "history": res["history"]}
        self.mark("lora")
        _log(self.progress, f"lora: done, validation loss {res.get('valid_loss')}")

    # ----------------------------------------------------------------- export
    def export_stage(self, tok):
        from training import export

        mdir = self.out / "model"
        mdir.mkdir(parents=True, exist_ok=True)
        if self.external_base:
            base, external = str(self.cfg["base"]["from"]), True
            tok.save_pretrained(str(mdir / "tokenizer"))
        else:
            if (mdir / "base").exists():
                shutil.rmtree(mdir / "base")
            shutil.copytree(self.out / "base_model", mdir / "base")
            base, external = "base", False
            acfg_path = mdir / "adapter" / "adapter_config.json"
            acfg = json.loads(acfg_path.read_text())
            acfg["base_model_name_or_path"] = "../base"  # the adapter dir alone also loads
            acfg_path.write_text(json.dumps(acfg, indent=2))
        info = {
            "recipe": self.cfg.get("name"),
            "params": self.state.get("base", {}).get("params"),
            "lora": {k: self.state.get("lora", {}).get(k)
                     for k in ("target_modules", "trainable", "total", "trainable_fraction")},
            "data": self.state.get("data", {}).get("train"),
        }
        if external:
            info["tokenizer"] = "tokenizer"
        elif self.cfg["export"].get("merged", True):
            # a merged copy (base + adapter) loads without peft: faster start-up for the server
            from peft import PeftModel

            from training import modeling

            pm = PeftModel.from_pretrained(modeling.load_base(str(mdir / "base")),
                                           str(mdir / "adapter"))
            merged = pm.merge_and_unload()
            if (mdir / "merged").exists():
                shutil.rmtree(mdir / "merged")
            merged.save_pretrained(str(mdir / "merged"))
            tok.save_pretrained(str(mdir / "merged"))
            info["merged"] = "merged"
        export.write_manifest(mdir, base=base, adapter="adapter", external=external, info=info)
        export.plot_losses({"base": self.state.get("base", {}).get("history", []),
                            "lora": self.state.get("lora", {}).get("history", [])},
                           mdir / "loss.png")
        self.write_card()
        self.mark("export")

    def write_card(self) -> None:
        from training import export

        mdir = self.out / "model"
        eval_md = None
        if (mdir / "eval.md").exists():
            eval_md = (mdir / "eval.md").read_text().split("\n", 2)[-1]
        (mdir / "README.md").write_text(export.model_card(self.state, self.cfg, eval_md))

    # ------------------------------------------------------------------- eval
    def eval_stage(self) -> dict:
        from ibert_lsp.model.hf import HFGenerator
        from training.evaluate import evaluate, table, write_reports

        c = self.cfg["eval"]
        import torch

        gen = HFGenerator.load(self.out / "model",
                               device="cuda" if torch.cuda.is_available() else "cpu")
        results = {}
        for split in c["splits"]:
            recs = self.records.get(split) or D.load_split(self.cfg, split)
            if not recs:
                continue
            _log(self.progress, f"eval: {split} ({len(recs)} records, up to "
                 f"{c['max_per_task']} per task)")
            results[split] = evaluate(gen, recs, max_per_task=c["max_per_task"],
                                      n_samples=int(c["n_samples"]), ks=c["k"],
                                      temperature=float(c["temperature"]),
                                      max_new_tokens=int(c["max_new_tokens"]),
                                      seed=self.cfg["seed"], progress=self.progress,
                                      gated_n=int(c.get("gated_n") or 0))
        if results:
            write_reports(results, self.out / "model",
                          meta={"recipe": self.cfg.get("name"),
                                "model": str(self.out / "model")})
            if self.progress:
                print(table(results), flush=True)
        self.state["eval"] = {s: r["tasks"] for s, r in results.items()}
        self.mark("eval")
        self.write_card()
        return results


def weighted_texts(examples, weights: dict, rng) -> list[str]:
    """Whole sequences for pre-training, as many as there are examples, drawn so that each
    task's share follows the task weights (a task's own examples first, then repeats)."""
    by_task: dict[str, list[str]] = {}
    for ex in examples:
        by_task.setdefault(ex.task, []).append(ex.prompt + ex.completion)
    tasks = [t for t in by_task if float(weights.get(t, 0)) > 0] or list(by_task)
    total_w = sum(float(weights.get(t, 1)) for t in tasks)
    n = len(examples)
    out: list[str] = []
    for t in tasks:
        pool = by_task[t][:]
        rng.shuffle(pool)
        want = max(1, round(n * float(weights.get(t, 1)) / total_w))
        out += [pool[i % len(pool)] for i in range(want)]
    return out


def _busy_cores(window_s: float = 0.5) -> float:
    """Cores busy right now (from /proc/stat over a short window; the 1-minute load average
    instead, where there is none). The load average lags: just after `ibert model build` ran
    datagen on every core it still says "busy" although those workers are gone."""
    def sample():
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        return vals[3] + (vals[4] if len(vals) > 4 else 0), sum(vals)  # idle + iowait, total

    cores = os.cpu_count() or 1
    try:
        idle0, total0 = sample()
        time.sleep(window_s)
        idle1, total1 = sample()
        if total1 > total0:
            return cores * (1 - (idle1 - idle0) / (total1 - total0))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def threads_for(setting) -> int:
    """Torch CPU threads: a number, or "auto"/None = all cores unless the machine is busy.

    Measured on a shared 2-core machine: with both cores busy, two torch threads ran a small
    model 10-30x slower than one (the threads wait on each other at every operation)."""
    cores = os.cpu_count() or 1
    if setting not in (None, "auto"):
        return max(1, int(setting))
    return 1 if _busy_cores() > cores - 0.5 else cores


def run(cfg: dict | str | Path | None = None, out_dir: str | Path | None = None, *,
        fresh: bool = False, progress: bool = True, skip_eval: bool = False) -> dict:
    """Train a recipe end to end; returns the run's state (stats, timings, eval)."""
    if not isinstance(cfg, dict):
        cfg = load_config(cfg)
    import torch

    torch.set_num_threads(threads_for(cfg.get("threads")))
    _init_distributed()
    r = Run(cfg, out_dir, progress=progress)
    if not is_main():
        return _run_follower(r, skip_eval)
    if r.out.exists() and not r.state_path.exists() and (
            not r.out.is_dir() or any(r.out.iterdir())):
        # someone else's folder (or a file): training would overwrite or delete what is there
        raise IbertError(f"{r.out} is not empty and is not an ibert training run (no "
                         "state.json); use a new or empty --out")
    if fresh and r.out.exists():
        _clear(r.out)
    r.load_state()
    if r.state.get("recipe") not in (None, cfg.get("name")):
        raise IbertError(f"{r.out} holds a run of recipe {r.state['recipe']!r}, not "
                         f"{cfg.get('name')!r}: use another --out or --fresh")
    fp = fingerprint(cfg)
    if r.state.get("done") and r.state.get("fingerprint") != fp:
        _log(progress, f"{r.out} was trained with other data, settings or prompt format; "
             "starting over")
        _clear(r.out)
        r.state = {}
    r.state["recipe"] = cfg.get("name")
    r.state["fingerprint"] = fp
    r.save_state()  # the folder is marked as a training run before anything else is written
    t0 = time.perf_counter()
    _barrier()  # the run folder is ready: the other processes may read state.json
    r.load_data()
    tok = r.tokenizer_stage()
    _barrier()  # the tokenizer is on disk
    model = r.base_stage(tok)
    _barrier()
    r.lora_stage(model, tok)
    _barrier()
    r.export_stage(tok)
    if not skip_eval:
        r.eval_stage()
    r.state["total_s"] = round(time.perf_counter() - t0, 1)
    r.save_state()
    _barrier()
    return r.state


def _run_follower(r: Run, skip_eval: bool) -> dict:
    """A process other than rank 0: the same stages at the same barriers, training its share
    of every batch and writing nothing."""
    from training.tokenizer import load_tokenizer

    t0 = time.perf_counter()
    _barrier()
    r.load_state()
    r.load_data()
    _barrier()
    tok = load_tokenizer(r.out / "tokenizer") if not r.external_base else r.tokenizer_stage()
    model = r.base_stage(tok)
    _barrier()
    r.lora_stage(model, tok)
    _barrier()
    r.state["total_s"] = round(time.perf_counter() - t0, 1)
    _barrier()
    return r.state
