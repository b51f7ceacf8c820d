"""Reading Ibis's own API without triggering it: what completion and Q&A retrieval both list
(members of classes and modules, their kinds, signatures and documentation)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from typing import Any


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


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    doc = inspect.cleandoc(doc)
    return doc.split("\n\n")[0].strip()


def _signature(obj: Any, name: str) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def _kind_of(obj: Any) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if isinstance(obj, property):
        return "attribute"
    if callable(obj):
        return "method"
    return "attribute"


@functools.lru_cache(maxsize=256)
def class_members(cls: type) -> tuple[tuple[str, str, str, str], ...]:
    """Public members of an Ibis class: (name, kind, signature, first docstring paragraph)."""
    out = []
    for name, obj in public_members(cls):
        kind = _kind_of(obj)
        target = obj.fget if isinstance(obj, property) else obj
        sig = _signature(target, name) if kind == "method" else name
        out.append((name, kind, sig, _first_paragraph(getattr(target, "__doc__", None))))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def module_members(modname: str) -> tuple[tuple[str, str, str, str], ...]:
    import importlib

    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    out = []
    for name in sorted(set(names)):
        obj = getattr(mod, name, None)
        if obj is None:
            continue
        kind = "function" if inspect.isfunction(obj) or inspect.isbuiltin(obj) else _kind_of(obj)
        sig = _signature(obj, name) if kind in ("function", "method") else name
        out.append((name, kind, sig, _first_paragraph(getattr(obj, "__doc__", None))))
    return tuple(out)


def full_doc(qualname: str) -> str:
    """Full docstring of `ibis.expr.types.Table.filter`-style names (for resolve/hover)."""
    import importlib

    parts = qualname.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p, None)
            if obj is None:
                return ""
        return inspect.cleandoc(getattr(obj, "__doc__", "") or "")
    return ""
