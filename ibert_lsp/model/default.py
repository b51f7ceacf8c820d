"""Where the default model lives and how to load it.

Two places, in this order: the model `ibert model build` installed in `$IBERT_HOME/models/default`
(rebuilt, or trained with another recipe), then the model shipped inside the package
(`ibert_lsp/model/shipped/`, trained with `configs/default.yaml` and exported merged, so a fresh
install has a ready model without training). An installed model built for another prompt format
is skipped in favour of the shipped one, never loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ibert_lsp.errors import IbertError
from ibert_lsp.model.hf import MANIFEST, HFGenerator

SHIPPED = Path(__file__).parent / "shipped"
# IBERT_SHIPPED_MODEL=none: behave as an install without a shipped model (deterministic only
# unless one is built); any other value: use that directory as the shipped model.
SHIPPED_ENV = "IBERT_SHIPPED_MODEL"


def ibert_home() -> Path:
    return Path(os.environ.get("IBERT_HOME") or Path.home() / ".cache" / "ibert").expanduser()


def default_model_dir() -> Path:
    """`$IBERT_HOME/models/default` (IBERT_HOME defaults to ~/.cache/ibert)."""
    return ibert_home() / "models" / "default"


def shipped_model_dir() -> Path | None:
    """The model that ships with ibert (package data), or None when IBERT_SHIPPED_MODEL=none."""
    env = os.environ.get(SHIPPED_ENV, "").strip()
    if env.lower() in ("none", "off", "0"):
        return None
    return Path(env).expanduser() if env else SHIPPED


def is_installed(path: Path | None = None) -> bool:
    return ((path or default_model_dir()) / MANIFEST).exists()


def is_shipped() -> bool:
    path = shipped_model_dir()
    return path is not None and (path / MANIFEST).exists() and outdated_reason(path) is None


def outdated_reason(path: Path | None = None) -> str | None:
    """Why a model cannot serve this ibert (another prompt format or tokenizer, an unreadable
    manifest), or None: a new ibert must use a rebuilt model rather than a stale one."""
    from ibert_lsp.prompting.prompts import PROMPT_FORMAT_VERSION

    man = (path or default_model_dir()) / MANIFEST
    try:
        manifest = json.loads(man.read_text())
        fmt = manifest.get("prompt_format")
    except (OSError, ValueError, AttributeError) as exc:
        return f"its {MANIFEST} is unreadable ({type(exc).__name__})"
    if fmt != PROMPT_FORMAT_VERSION:
        return f"it was built for prompt format {fmt}, this ibert uses {PROMPT_FORMAT_VERSION}"
    return None


def active_model() -> tuple[str, Path] | None:
    """(which, path) of the model ibert uses when no other is named: ("installed", ...) for a
    usable `$IBERT_HOME/models/default`, else ("shipped", ...), else None."""
    path = default_model_dir()
    if is_installed(path) and outdated_reason(path) is None:
        return "installed", path
    if is_shipped():
        return "shipped", shipped_model_dir()
    return None


def load_default(**kwargs) -> HFGenerator | None:
    """The default model (installed, else shipped), or None when there is neither.

    An installed directory that exists but cannot be loaded raises `ModelLoadError` (an
    IbertError) with a message that says how to rebuild it.
    """
    found = active_model()
    if found is None:
        path = default_model_dir()
        if path.exists():
            return HFGenerator.load(path, **kwargs)  # says why it cannot load
        return None
    return load_model(found[1], **kwargs)


def load_model(path: str | Path, **kwargs) -> HFGenerator:
    """`HFGenerator.load`, decoding an fp16-stored ibert model (the shipped one) in fp32 on a CPU,
    where fp16 matmuls are slow and not what the eval measured."""
    man = Path(path) / MANIFEST
    if "dtype" not in kwargs and kwargs.get("device", "cpu") == "cpu" and man.exists():
        try:
            if json.loads(man.read_text()).get("dtype") == "float16":
                kwargs["dtype"] = "float32"
        except (OSError, ValueError, AttributeError):
            pass  # HFGenerator.load says what is wrong with the manifest
    return HFGenerator.load(path, **kwargs)


def tokens_fingerprint(tokens: list[str] | None = None) -> str:
    """A hash of the tokens the prompts need atomic (special, task and placeholder tokens): a
    shipped model whose tokenizer was built for other tokens cannot read this ibert's prompts."""
    import hashlib

    from ibert_lsp.prompting.prompts import ALL_ADDED_TOKENS

    return hashlib.sha256("\n".join(tokens or ALL_ADDED_TOKENS).encode()).hexdigest()[:16]


def export_shipped(src: Path, dest: Path | None = None, *, fp16: bool = True) -> Path:
    """Write the model at `src` (an ibert model directory) as the shipped model: base and adapter
    merged into one small checkpoint (fp16 halves it), its tokenizer, and a manifest that records
    the prompt format and the tokens fingerprint the tests compare with the code."""
    import shutil
    import tempfile

    import torch

    dest = Path(dest or SHIPPED)
    gen = HFGenerator.load(src)
    manifest = dict(gen.info.get("manifest") or {})
    tmp = Path(tempfile.mkdtemp(prefix=".shipped-", dir=dest.parent))
    try:
        model = gen.model.to(torch.float16) if fp16 else gen.model
        model.save_pretrained(str(tmp / "model"), safe_serialization=True)
        gen.tokenizer.save_pretrained(str(tmp / "model"))
        if (Path(src) / "eval.md").exists():
            shutil.copy(Path(src) / "eval.md", tmp / "eval.md")
        if (Path(src) / "eval.json").exists():  # the summary `ibert model info` shows, not
            ev = json.loads((Path(src) / "eval.json").read_text())  # every example's details
            (tmp / "eval.json").write_text(json.dumps(
                {k: ev[k] for k in ("meta", "results") if k in ev}, indent=1))
        from ibert_lsp.prompting.prompts import PROMPT_FORMAT_VERSION

        manifest.update({"base": "model", "base_external": False, "adapter": None,
                         "merged": None, "tokenizer": "model", "dtype":
                         "float16" if fp16 else "float32", "prompt_format": PROMPT_FORMAT_VERSION,
                         "tokens_fingerprint": tokens_fingerprint(), "shipped": True})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=str))
        for f in tmp.rglob("*"):  # package data: readable by every user of the install
            f.chmod(0o755 if f.is_dir() else 0o644)
        tmp.chmod(0o755)
        if dest.exists():
            if not (dest / MANIFEST).is_file():  # never delete what is not a shipped model
                raise IbertError(f"{dest} exists and is not an ibert model; not replacing it")
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest
