"""sqlglot parsing without its fallback warnings on stderr (the language server's log)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import lru_cache
from typing import Any


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def parse(sql: str, dialect: str = "duckdb") -> list[Any]:
    """All statements (None entries dropped); raises sqlglot's errors. Cached: callers must
    not modify the trees."""
    return list(_parse(sql, dialect))


@lru_cache(maxsize=256)
def _parse(sql: str, dialect: str) -> tuple[Any, ...]:
    import sqlglot

    with quiet():
        return tuple(t for t in sqlglot.parse(sql, read=dialect) if t is not None)


def transpile(sql: str, read: str, write: str = "duckdb") -> list[str]:
    import sqlglot

    with quiet():
        return sqlglot.transpile(sql, read=read, write=write)
