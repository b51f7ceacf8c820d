"""Per-document state the event loop owns, and the immutable snapshot background work gets.

Only the event loop mutates `DocState`; a gate thread receives a `Snapshot` (everything it
needs, copied) and returns a result the loop stores. So no thread reads a document or a cache
while the loop changes it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PYTHON_IDS = ("python",)
SQL_IDS = ("sql",)


def is_sql(doc: Any) -> bool:
    """A SQL document: by language id, else by the `.sql` extension."""
    return (doc.language_id or "").lower() in SQL_IDS or doc.uri.lower().endswith(".sql")


def is_python(doc: Any) -> bool:
    """A Python document: by language id or extension; an untitled document without a
    language counts as Python (what ibert serves)."""
    lang = (doc.language_id or "").lower()
    return lang in PYTHON_IDS or doc.uri.lower().endswith((".py", ".pyi")) or (
        not lang and not doc.uri.lower().endswith(".sql"))


class ModelState(StrEnum):
    """Where the model stands (`ibert.status` and the status bar show the value)."""

    OFF = "off"  # the model feature is off
    LOADING = "loading"
    READY = "ready"
    MISSING = "missing"  # no model configured and none built
    FAILED = "failed"  # loading failed (`model_error` says why)
    UNREACHABLE = "unreachable"  # a remote model server does not answer (turns back by itself)
    ERROR = "error"  # a remote model server answers with errors


@dataclass
class DocState:
    """Caches of one open document, keyed by the version they were computed for."""

    analysis: Any = None
    analysis_version: int | None = None
    analysis_future: Any = None  # asyncio future of the analysis being computed
    analysis_future_version: int | None = None
    analysis_s: float = 0.0  # how long the last analysis took (completion decides whether to wait)
    fixes: dict = field(default_factory=dict)  # problem -> its checked fixes, for fixes_version
    fixes_version: int | None = None
    diag_task: asyncio.Task | None = None
    inline_task: asyncio.Task | None = None


@dataclass(frozen=True)
class Snapshot:
    """What background analysis reads: one version of one document, copied on the loop.

    `analyze` is False for documents ibert only serves cheaply (not Python, or too large):
    their analysis is the empty one.
    """

    uri: str
    version: int | None
    text: str
    schemas: dict
    root: str | None
    analyze: bool
