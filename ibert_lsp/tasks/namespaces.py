"""The namespaces real Ibis code starts from: `ibis.`, a backend (`ibis.duckdb.`), a
connection (`con.`), the example datasets (`ibis.examples.`).

They are listed from the installed Ibis by introspection only — nothing is called, no backend
is connected — and ranked by how often real code uses each name (`ranking`)."""

from __future__ import annotations

import functools
import importlib
import json
import re
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@functools.lru_cache(maxsize=1)
def backend_names() -> frozenset[str]:
    """Backends the installed Ibis declares (`ibis.duckdb`, `ibis.postgres`, ...)."""
    from importlib.metadata import entry_points

    return frozenset(ep.name for ep in entry_points(group="ibis.backends") if _NAME.match(ep.name))


@functools.lru_cache(maxsize=64)
def backend_class(name: str | None) -> type:
    """The Backend class of `name` when its module imports here, else Ibis's BaseBackend
    (every backend has its methods: table, sql, read_parquet, list_tables, ...)."""
    from ibis.backends import BaseBackend

    if name in backend_names():
        try:
            cls = getattr(importlib.import_module(f"ibis.backends.{name}"), "Backend", None)
        except Exception:  # noqa: BLE001 - its driver is not installed here
            cls = None
        if isinstance(cls, type) and issubclass(cls, BaseBackend):
            return cls
    return BaseBackend


@functools.lru_cache(maxsize=1)
def example_names() -> tuple[str, ...]:
    """Datasets `ibis.examples` knows offline (its metadata ships with Ibis)."""
    import ibis.examples

    try:
        meta = json.loads((Path(ibis.examples.__file__).parent / "metadata.json").read_text())
    except (OSError, ValueError):
        return ()
    return tuple(sorted(n for n in meta if isinstance(n, str) and n.isidentifier()))


def connect_parameters(cls: type, name: str | None = None) -> list[str]:
    """Keyword names `ibis.<backend>.connect(...)` accepts (it forwards to `do_connect`); for a
    backend whose driver is not installed, read from its source (parsed, never imported)."""
    import inspect

    from ibis.backends import BaseBackend

    if cls is BaseBackend and name:
        return _source_connect_parameters(name)
    fn = getattr(cls, "do_connect", None)
    try:
        params = inspect.signature(fn).parameters if fn else {}
    except (TypeError, ValueError):
        return []
    return [p.name for p in params.values() if p.name != "self"
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


@functools.lru_cache(maxsize=64)
def _source_connect_parameters(name: str) -> list[str]:
    import ast
    import importlib.util

    if name not in backend_names():
        return []
    try:
        spec = importlib.util.find_spec(f"ibis.backends.{name}")
        source = Path(spec.origin).read_text() if spec and spec.origin else ""
        tree = ast.parse(source)
    except (ImportError, OSError, ValueError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Backend":
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "do_connect":
                    a = fn.args
                    return [p.arg for p in [*a.args, *a.kwonlyargs] if p.arg != "self"]
    return []


def namespace_of(receiver: str) -> tuple[str, Any] | None:
    """What a receiver like `ibis`, `ibis.duckdb`, `ibis.examples`, `ibis.examples.penguins`
    names: (kind, detail), or None when it is not one of these namespaces."""
    parts = receiver.strip().split(".")
    if parts[0] != "ibis" or not all(p.isidentifier() for p in parts):
        return None
    if len(parts) == 1:
        return ("ibis", None)
    if len(parts) == 2 and parts[1] in backend_names():
        return ("backend_module", parts[1])
    if len(parts) == 2 and parts[1] == "examples":
        return ("examples", None)
    if len(parts) == 3 and parts[1] == "examples":  # any name: Ibis may know more than offline
        return ("example", parts[2])
    return None
