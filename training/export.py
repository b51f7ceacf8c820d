"""Export: the ibert model directory (HF base + PEFT adapter), its manifest, loss curve and card.

Layout (what `ibert model build` installs in $IBERT_HOME/models/default):

    model/
      ibert.json     manifest: base/adapter paths, prompt format, recipe, params, data stats
      base/          save_pretrained of the base model and tokenizer (omitted for an external
                     base: the manifest then names it by hub id or path)
      adapter/       save_pretrained of the PEFT LoRA adapter
      README.md      model card (data stats, training, eval table)
      eval.md, eval.json, loss.png
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ibert_lsp.prompting import prompts


def write_manifest(model_dir: Path, *, base: str, adapter: str | None, external: bool,
                   info: dict) -> Path:
    manifest = {
        "format": "ibert-model",
        "prompt_format": prompts.PROMPT_FORMAT_VERSION,
        "base": base,
        "base_external": external,
        "adapter": adapter,
        "tasks": list(prompts.TASKS),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **info,
    }
    path = model_dir / "ibert.json"
    path.write_text(json.dumps(manifest, indent=1))
    return path


def plot_losses(histories: dict[str, list[dict]], path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [(k, v) for k, v in histories.items() if v]
    if not stages:
        return None
    fig, axes = plt.subplots(1, len(stages), figsize=(5 * len(stages), 3.5), squeeze=False)
    for ax, (name, hist) in zip(axes[0], stages):
        ax.plot([h["step"] for h in hist], [h["loss"] for h in hist], lw=1.2)
        ax.set_title(f"{name} loss")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def model_card(state: dict, cfg: dict, eval_md: str | None) -> str:
    data = state.get("data", {})
    base = state.get("base", {})
    lora = state.get("lora", {})
    lines = [
        "---",
        "library_name: peft",
        "pipeline_tag: text-generation",
        f"base_model: {base.get('source', 'ibert-base (trained from scratch)')}",
        "tags: [ibis, sql, code, lora, ibert]",
        "---",
        "",
        f"# ibert {cfg.get('name', 'model')} — checked code model for Ibis",
        "",
        "A causal language model for the six ibert tasks (code completion, Ibis→SQL, SQL→Ibis, "
        "error resolution, Q&A, docstrings) with a PEFT LoRA adapter. Its output is untrusted: "
        "ibert passes every candidate through its gate (safe evaluation, DuckDB execution).",
        "",
        "## Training data",
        "",
        f"- training records: {data.get('train', {}).get('records', '?')} "
        f"({data.get('train', {}).get('families', '?')} template families)",
        f"- by task: {json.dumps(data.get('train', {}).get('by_task', {}))}",
        f"- sources: {json.dumps(data.get('train', {}).get('sources', {}))}",
        f"- validation records: {data.get('valid', {}).get('records', 0)}; test: "
        f"{data.get('test', {}).get('records', 0)}; test (held-out families): "
        f"{data.get('test_family', {}).get('records', 0)}",
        "",
        "## Model",
        "",
        f"- base: {base.get('source')}; architecture {base.get('model_type')}; "
        f"{base.get('params', 0):,} parameters; vocabulary {base.get('vocab_size')}",
        f"- base pre-training: {base.get('steps', 0)} steps, {base.get('elapsed_s', 0)} s, "
        f"{base.get('tokens_per_s', '?')} tokens/s, corpus {base.get('corpus_tokens', '?')} tokens",
        f"- LoRA: r={cfg['lora']['r']}, alpha={cfg['lora']['alpha']}, targets "
        f"{lora.get('target_modules')}, trainable {lora.get('trainable', 0):,} of "
        f"{lora.get('total', 0):,} parameters ({100 * lora.get('trainable_fraction', 0):.2f}%)",
        f"- LoRA fine-tuning: {lora.get('steps', 0)} steps, {lora.get('elapsed_s', 0)} s, "
        f"{lora.get('tokens_per_s', '?')} tokens/s; task weights "
        f"{json.dumps(cfg['lora']['task_weights'])}",
        f"- validation loss (target tokens): {lora.get('valid_loss')}",
        "",
        "![loss](loss.png)",
        "",
        "## Evaluation",
        "",
        eval_md or "(not evaluated)",
        "",
        "## Use",
        "",
        "```python",
        "from ibert_lsp.model.hf import HFGenerator",
        "gen = HFGenerator.load('<this directory>')  # base + adapter, merged",
        "```",
        "",
        "or `ibert complete|fix|qa|doc --model <this directory>`.",
    ]
    return "\n".join(lines) + "\n"


MANIFEST_KEYS = ("format", "prompt_format", "base", "adapter")


def is_ibert_model(path: Path) -> bool:
    """True when `path` is a folder ibert installed: `ibert.json` with the manifest's keys."""
    manifest = Path(path) / "ibert.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return (isinstance(data, dict) and data.get("format") == "ibert-model"
            and all(k in data for k in MANIFEST_KEYS))


def check_dest(dest: Path) -> Path:
    """Refuse a destination whose contents ibert did not create (it would be replaced).

    A new path, an empty folder or an installed ibert model may be replaced; anything else
    (a file, a folder of the user's files) is an IbertError, so `ibert model build` can
    check before it spends an hour training.
    """
    from ibert_lsp.errors import IbertError

    dest = Path(dest)
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise IbertError(f"--dest {dest} is not a folder: give a new or empty folder, or an "
                         "installed ibert model to replace")
    if dest.is_dir() and any(dest.iterdir()) and not is_ibert_model(dest):
        raise IbertError(f"--dest {dest} holds files and is not an ibert model (no ibert.json "
                         "manifest): refusing to replace it; give a new or empty folder")
    return dest


def install(model_dir: Path, dest: Path) -> Path:
    """Install a built model directory at `dest`, atomically and without deleting user files.

    The copy is made in a fresh temporary folder beside `dest` and swapped in with renames;
    what `dest` held before is removed only when it was an ibert model (or empty) — checked
    by `check_dest` before anything is written, and again just before the swap.
    """
    import tempfile

    from ibert_lsp.errors import IbertError

    model_dir, dest = Path(model_dir), Path(dest)
    if not is_ibert_model(model_dir):
        raise IbertError(f"{model_dir} is not a built ibert model (no ibert.json manifest)")
    check_dest(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.installing-", dir=dest.parent))
    try:
        staged = work / "new"
        shutil.copytree(model_dir, staged)
        check_dest(dest)  # nothing appeared in it while copying
        if dest.exists():
            os.replace(dest, work / "old")
        try:
            os.replace(staged, dest)
        except OSError:
            if (work / "old").exists() and not dest.exists():
                os.replace(work / "old", dest)  # put the previous model back
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)  # ours: the copy and the replaced model
    return dest
