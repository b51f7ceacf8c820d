"""One training loop for both stages (base pre-training, LoRA fine-tuning).

Checkpoints (`<ckpt_dir>/state.pt`, written atomically) hold the trainable weights, the optimizer,
the step, the elapsed training time, the RNG states and the loss history, so an interrupted run
resumes where it stopped. The learning-rate schedule (linear warm-up, cosine decay) follows
progress = max(step / steps, elapsed / max_minutes), so a time-bounded run still anneals.
Under `accelerate launch` / `torchrun` (WORLD_SIZE > 1) or with a GPU, an `accelerate.Accelerator`
handles devices, data parallelism and mixed precision; on a CPU the plain loop runs. With several
processes each draws its own batches (its own random stream), gradients are averaged across
them at every step, only rank 0 writes checkpoints, and rank 0 decides when a time budget ends.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from ibert_lsp.errors import IbertError


def _accelerator(use: str | bool = "auto"):
    if use is False or use == "never":
        return None
    try:
        import torch
        from accelerate import Accelerator
    except ImportError:
        if use is True or use == "always":
            raise IbertError("accelerate is not installed (pip install accelerate)") from None
        return None
    multi = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if use == "auto" and not (multi or torch.cuda.is_available()):
        return None
    # without cpu=True, accelerate ignores torchrun's processes on a machine with no GPU
    return Accelerator(cpu=not torch.cuda.is_available())


def lr_at(progress: float, step: int, c: dict) -> float:
    base = float(c["lr"])
    warm = int(c.get("warmup_steps", 0))
    if step < warm:
        return base * (step + 1) / warm
    floor = base * float(c.get("min_lr_ratio", 0.1))
    p = min(1.0, max(0.0, progress))
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * p))


def _trainable_state(model) -> dict:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


def save_checkpoint(path: Path, model, opt, step, elapsed, history, rng) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": _trainable_state(model),
            "optimizer": opt.state_dict(),
            "step": step,
            "elapsed": elapsed,
            "history": history,
            "torch_rng": torch.get_rng_state(),
            "py_rng": rng.getstate(),
        },
        tmp,
    )
    os.replace(tmp, path)


def train_loop(
    model,
    batch_fn: Callable,
    c: dict,
    *,
    ckpt_path: Path,
    stage: str,
    seed: int = 0,
    resume: bool = True,
    progress: bool = True,
    accelerate: str | bool = "auto",
    valid_fn: Callable | None = None,
) -> dict:
    """Train `model` on batches from `batch_fn(rng) -> dict(input_ids, attention_mask, labels)`.

    Returns {"history": [...], "steps": n, "elapsed_s": t, "tokens": n, "tokens_per_s": x,
    "resumed_from": step or None, "interrupted": bool}.
    """
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=float(c["lr"]), weight_decay=float(c["weight_decay"]),
                            betas=(0.9, 0.95))
    step, elapsed, history, resumed_from = 0, 0.0, [], None
    if resume and ckpt_path.exists():
        try:
            state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
            missing = model.load_state_dict(state["model"], strict=False)
            if missing.unexpected_keys:
                raise ValueError(f"unexpected keys {missing.unexpected_keys[:3]}")
            opt.load_state_dict(state["optimizer"])
        except Exception as exc:
            raise IbertError(
                f"checkpoint {ckpt_path} cannot be resumed ({type(exc).__name__}: {exc}); "
                "delete it or train with --fresh"
            ) from None
        step, elapsed, history = state["step"], state["elapsed"], state["history"]
        torch.set_rng_state(state["torch_rng"])
        rng.setstate(state["py_rng"])
        resumed_from = step
    acc = _accelerator(accelerate)
    device = "cpu"
    if acc is not None:
        model, opt = acc.prepare(model, opt)
        device = acc.device
        rng = random.Random(seed * 1000 + acc.process_index + step)
    is_main = acc is None or acc.is_main_process
    steps = int(c["steps"])
    max_s = float(c["max_minutes"]) * 60 if c.get("max_minutes") else None
    log_every = int(c.get("log_every_steps", 10))
    save_every = int(c.get("save_every_steps", 200))
    model.train()
    bar = None
    if progress and is_main:
        from tqdm import tqdm

        bar = tqdm(total=steps, initial=step, desc=stage, unit="step", dynamic_ncols=True)
    tokens_run, t_run = 0, 0.0
    interrupted = False
    window: list[float] = []

    def done() -> bool:
        over = step >= steps or (max_s is not None and elapsed >= max_s)
        if acc is not None and acc.num_processes > 1 and max_s is not None:
            # each process measures its own time: rank 0 decides, or one process would stop a
            # step early and the others wait forever in the gradient all-reduce
            import torch.distributed as dist

            flag = torch.tensor([1 if over else 0], dtype=torch.int32, device=acc.device)
            dist.broadcast(flag, src=0)
            over = bool(flag.item())
        return over

    try:
        while not done():
            t0 = time.perf_counter()
            prog = max(step / steps, elapsed / max_s if max_s else 0.0)
            lr = lr_at(prog, step, c)
            for g in opt.param_groups:
                g["lr"] = lr
            batch = {k: v.to(device) for k, v in batch_fn(rng).items()}
            out = model(**batch)
            loss = out.loss
            opt.zero_grad(set_to_none=True)
            if acc is not None:
                acc.backward(loss)
                if c.get("grad_clip"):
                    acc.clip_grad_norm_(params, float(c["grad_clip"]))
            else:
                loss.backward()
                if c.get("grad_clip"):
                    torch.nn.utils.clip_grad_norm_(params, float(c["grad_clip"]))
            opt.step()
            dt = time.perf_counter() - t0
            step += 1
            elapsed += dt
            t_run += dt
            ntok = int(batch["attention_mask"].sum())
            tokens_run += ntok
            window.append(float(loss.detach()))
            if step % log_every == 0 or done():
                history.append({"step": step, "loss": sum(window) / len(window),
                                "lr": lr, "elapsed": round(elapsed, 2)})
                window = []
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.3f}", tok_s=f"{tokens_run / t_run:.0f}")
            if is_main and step % save_every == 0:
                save_checkpoint(ckpt_path, _unwrap(acc, model), opt, step, elapsed, history, rng)
    except KeyboardInterrupt:
        interrupted = True
        if is_main:
            save_checkpoint(ckpt_path, _unwrap(acc, model), opt, step, elapsed, history, rng)
        raise
    finally:
        if bar is not None:
            bar.close()
    if is_main:
        save_checkpoint(ckpt_path, _unwrap(acc, model), opt, step, elapsed, history, rng)
    model = _unwrap(acc, model)
    model.eval()
    result = {
        "history": history,
        "steps": step,
        "elapsed_s": round(elapsed, 2),
        "tokens_this_run": tokens_run,
        "tokens_per_s": round(tokens_run / t_run, 1) if t_run else None,
        "resumed_from": resumed_from,
        "interrupted": interrupted,
    }
    if valid_fn is not None:
        result["valid_loss"] = valid_fn(model)
    return result


def _unwrap(acc, model):
    return acc.unwrap_model(model) if acc is not None else model
