"""Run by `torchrun --nproc_per_node 2` from tests/test_training_distributed.py: one process
of the micro recipe, instrumented to report what it did.

Each process records (in `<report>/rank<r>-<phase>.json`, outside the run folder): a digest
of every batch it trained on, a digest of its weights after each stage, and every file-system
write it made under the run folder (a `sys.addaudithook` sees `open` for writing, `mkdir`,
renames and removals). `--interrupt-at N` makes both processes stop at base step N the way a
Ctrl-C does (train_loop saves a checkpoint on rank 0 and re-raises), so the next phase resumes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def weights_digest(model) -> str:
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--phase", required=True)
    ap.add_argument("--interrupt-at", type=int, default=0)
    args = ap.parse_args()
    rank = int(os.environ["RANK"])
    out = str(Path(args.out).resolve())
    writes: list[list[str]] = []

    def audit(event: str, a: tuple) -> None:
        if event == "open":
            path, mode = a[0], a[1]
            if isinstance(path, (str, bytes, os.PathLike)) and isinstance(mode, str) \
                    and any(c in mode for c in "wax+"):
                p = os.fsdecode(path)
                if os.path.abspath(p).startswith(out):
                    writes.append(["open", p])
        elif event in ("os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree",
                       "shutil.copytree", "os.replace"):
            p = os.fsdecode(a[0]) if a and isinstance(a[0], (str, bytes, os.PathLike)) else ""
            if p and os.path.abspath(p).startswith(out):
                writes.append([event, p])

    sys.addaudithook(audit)

    import torch

    import training.batches as B
    import training.loop as L
    from training.config import config_path, load_config
    from training.pipeline import run

    batches: dict[str, list[str]] = {}
    stage_digest: dict[str, str] = {}
    calls = {"n": 0}
    for cls in (B.PackedLM, B.TaskBatches):
        orig = cls.__call__

        def wrapped(self, rng, _orig=orig, _name=cls.__name__):
            calls["n"] += 1
            if args.interrupt_at and _name == "PackedLM" and calls["n"] > args.interrupt_at:
                raise KeyboardInterrupt  # both processes, at the same step: no all-reduce waits
            batch = _orig(self, rng)
            batches.setdefault(_name, []).append(
                hashlib.sha256(batch["input_ids"].numpy().tobytes()).hexdigest()[:12])
            return batch

        cls.__call__ = wrapped
    orig_loop = L.train_loop

    def loop(model, batch_fn, c, **kw):
        res = orig_loop(model, batch_fn, c, **kw)
        stage_digest[kw["stage"]] = weights_digest(model)
        return res

    L.train_loop = loop
    cfg = load_config(config_path("micro"), {
        "data": {"dir": args.data},
        "pretrain": {"steps": 12, "save_every_steps": 4, "log_every_steps": 4},
        "lora": {"steps": 6, "save_every_steps": 3, "log_every_steps": 3},
    })
    report = {"rank": rank, "world": int(os.environ["WORLD_SIZE"]), "interrupted": False}
    try:
        state = run(cfg, args.out, progress=False, skip_eval=True)
        report["state"] = {k: {kk: vv for kk, vv in v.items() if kk != "history"}
                           for k, v in state.items() if k in ("base", "lora")}
    except KeyboardInterrupt:
        report["interrupted"] = True
    report.update(batches=batches, digests=stage_digest, writes=writes,
                  backend=torch.distributed.get_backend()
                  if torch.distributed.is_initialized() else None)
    Path(args.report).mkdir(parents=True, exist_ok=True)
    (Path(args.report) / f"rank{rank}-{args.phase}.json").write_text(json.dumps(report))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
