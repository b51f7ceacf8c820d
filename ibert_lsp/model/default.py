"""Where the embedded default model lives and how to load it."""

from __future__ import annotations

import os
from pathlib import Path

from ibert_lsp.model.hf import MANIFEST, HFGenerator


def ibert_home() -> Path:
    return Path(os.environ.get("IBERT_HOME") or Path.home() / ".cache" / "ibert").expanduser()


def default_model_dir() -> Path:
    """`$IBERT_HOME/models/default` (IBERT_HOME defaults to ~/.cache/ibert)."""
    return ibert_home() / "models" / "default"


def is_installed(path: Path | None = None) -> bool:
    return ((path or default_model_dir()) / MANIFEST).exists()


def outdated_reason(path: Path | None = None) -> str | None:
    """Why an installed model cannot serve this ibert (another prompt format, an unreadable
    manifest), or None: a new ibert must rebuild the model rather than run without one."""
    import json

    from ibert_lsp.tasks.prompts import PROMPT_FORMAT_VERSION

    man = (path or default_model_dir()) / MANIFEST
    try:
        fmt = json.loads(man.read_text()).get("prompt_format")
    except (OSError, ValueError, AttributeError) as exc:
        return f"its {MANIFEST} is unreadable ({type(exc).__name__})"
    if fmt != PROMPT_FORMAT_VERSION:
        return f"it was built for prompt format {fmt}, this ibert uses {PROMPT_FORMAT_VERSION}"
    return None


def load_default(**kwargs) -> HFGenerator | None:
    """The installed default model, or None when none is installed.

    A directory that exists but cannot be loaded raises `ModelLoadError` (an IbertError) with
    a message that says how to rebuild it.
    """
    path = default_model_dir()
    if not path.exists():
        return None
    return HFGenerator.load(path, **kwargs)
