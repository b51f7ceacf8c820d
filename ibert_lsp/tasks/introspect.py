"""Reading Ibis's own API without triggering it: what completion and Q&A retrieval both list."""

from __future__ import annotations

import inspect
from collections.abc import Iterator


def public_members(cls: type) -> Iterator[tuple[str, object]]:
    """(name, member) for each public member of `cls`, read statically (no property runs);
    static and class methods unwrapped to their functions, properties left as properties."""
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        try:
            obj = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        yield name, obj
