"""The one interface tasks use to ask a model for text, so tasks never depend on transformers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    n: int = 1
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    deadline_s: float | None = None
    cancel: threading.Event | None = field(default=None, compare=False, hash=False)


@runtime_checkable
class Generator(Protocol):
    """Anything that turns a prompt into up to `n` candidate continuations."""

    def generate(
        self,
        prompt: str,
        n: int = 1,
        max_new_tokens: int = 64,
        stop: tuple[str, ...] | list[str] = (),
        *,
        temperature: float = 0.0,
        deadline_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]: ...
