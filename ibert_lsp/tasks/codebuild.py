"""The one quoting layer for generated Python/Ibis code.

Every generator (SQL→Ibis translator, rule fixes, completion insert texts, docstrings, datagen
templates) writes identifiers that come from untrusted input: table and column names from
workspace schemas, SQL aliases, names mined from code. Such a name is written bare only when it
is a plain ASCII Python name; anything else goes in as a string constant built by `repr`, so no
name can ever become code. `check_names` re-checks finished text as defense in depth.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import functools
import keyword
from collections.abc import Iterable, Iterator, Mapping

# column names written as attributes by `colref` while a generator runs (see `collect_columns`)
_COLUMNS: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("_COLUMNS", default=None)


class CodeBuildError(ValueError):
    """A name cannot be expressed safely in the requested position (abstain, with this reason)."""


def is_name(name: object) -> bool:
    """True when `name` may be written bare as a variable, attribute or keyword argument.

    ASCII only: Python folds identifiers with NFKC, so `ｆｉｌｔｅｒ` would silently become
    `filter`. No keywords, and no leading underscore (private/dunder attributes are never ours).
    """
    return (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not keyword.iskeyword(name) and not name.startswith("_"))


def short(name: str, limit: int = 40) -> str:
    """A name as shown in a one-line reason: repr'd (so newlines and quotes stay visible), cut."""
    r = repr(name)
    return r if len(r) <= limit else r[: limit - 4] + "...'"


def pystr(s: str) -> str:
    """A Python string literal for `s`, double-quoted like black writes it; repr-based, so any
    character (quotes, backslashes, newlines, unicode) round-trips exactly."""
    r = repr(s)
    if r.startswith("'") and '"' not in s:
        r = '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


def colref(base: str, name: str, *, attribute_ok: bool = True) -> str:
    """`base.name` when `name` is a plain name that clashes with nothing, else `base["name"]`."""
    if attribute_ok and is_name(name):
        seen = _COLUMNS.get()
        if seen is not None:
            seen.add(name)
        return f"{base}.{name}"
    return f"{base}[{pystr(name)}]"


@contextlib.contextmanager
def collect_columns() -> Iterator[set[str]]:
    """Record the column names `colref` writes as attributes, so `check_names` can tell a
    column the generator looked up in a real schema from anything else."""
    seen: set[str] = set()
    token = _COLUMNS.set(seen)
    try:
        yield seen
    finally:
        _COLUMNS.reset(token)


def dict_lit(pairs: Iterable[tuple[str, str]]) -> str:
    """`{"key": <value text>, ...}`: keys are strings, quoted; values are already code text."""
    return "{" + ", ".join(f"{pystr(k)}: {v}" for k, v in pairs) + "}"


def kwargs_text(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Keyword arguments: `name=value` for plain names; consecutive others as one
    `**{"x y": value}` (order kept). A name starting with `__` cannot be a keyword in the gate."""
    out: list[str] = []
    pending: list[tuple[str, str]] = []
    for k, v in pairs:
        if is_name(k):
            if pending:
                out.append("**" + dict_lit(pending))
                pending = []
            out.append(f"{k}={v}")
        elif not isinstance(k, str) or k.startswith("__"):
            raise CodeBuildError(f"the name {short(str(k))} cannot be passed as a keyword argument")
        else:
            pending.append((k, v))
    if pending:
        out.append("**" + dict_lit(pending))
    return out


def kwarg(name: str, value: str) -> str:
    """One keyword argument: `name=value` or `**{"x y": value}`."""
    return kwargs_text([(name, value)])[0]


def call(target: str, args: Iterable[str] = (), kwargs: Mapping[str, str] | None = None) -> str:
    """`target(args..., kwargs...)` from argument texts; keyword names go through `kwarg`."""
    parts = list(args) + kwargs_text((kwargs or {}).items())
    return f"{target}({', '.join(parts)})"


def method_call(obj: str, name: str, args: Iterable[str] = (),
                kwargs: Mapping[str, str] | None = None) -> str:
    """`obj.name(...)`; the method name is ours (an Ibis API name), never input."""
    if not is_name(name):
        raise CodeBuildError(f"not a method name: {short(name)}")
    return call(f"{obj}.{name}", args, kwargs)


@functools.lru_cache(maxsize=1)
def ibis_api_names() -> frozenset[str]:
    """Public names of the `ibis` module and of every Ibis expression class: what generated
    code may use as an attribute besides column names."""
    import importlib
    import inspect
    import pkgutil

    import ibis
    import ibis.expr.types as ir

    names: set[str] = {n for n in dir(ibis) if is_name(n)}
    seen: set[type] = set()
    modules = [ir] + [importlib.import_module(f"{ir.__name__}.{m.name}")
                      for m in pkgutil.iter_modules(ir.__path__)]
    for mod in modules:
        for _, cls in inspect.getmembers(mod, inspect.isclass):
            if cls in seen or not (cls.__module__ or "").startswith("ibis."):
                continue
            seen.add(cls)
            names |= {n for n in dir(cls) if is_name(n)}
    return frozenset(names)


_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Assign, ast.Name, ast.Load, ast.Store, ast.Attribute, ast.Call,
    ast.keyword, ast.Constant, ast.Subscript, ast.Slice, ast.BinOp, ast.UnaryOp, ast.Compare,
    ast.List, ast.Tuple, ast.Dict, ast.operator, ast.unaryop, ast.cmpop,
)


def check_names(code: str, variables: Iterable[str], columns: Iterable[str]) -> None:
    """Defense in depth for generated Ibis code: raise CodeBuildError unless the text parses,
    uses only plain expression syntax, every bare name is `ibis`, `_`, a table or an assigned
    variable, every attribute is an Ibis API name or a known column that is a plain name, and
    every keyword is a plain name. Anything else a generator wrote can only be inside strings."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        raise CodeBuildError(f"generated code does not parse: {exc}") from None
    allowed_vars = {"ibis", "_"} | {v for v in variables if is_name(v)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and is_name(t.id) and t.id != "ibis":
                    allowed_vars.add(t.id)
    api = ibis_api_names()
    cols = {c for c in columns if is_name(c)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise CodeBuildError(f"generated code uses {type(node).__name__}")
        if isinstance(node, ast.Name) and node.id not in allowed_vars:
            raise CodeBuildError(f"generated code names an unknown variable {short(node.id)}")
        if isinstance(node, ast.Attribute) and node.attr not in api and node.attr not in cols:
            raise CodeBuildError(f"generated code uses an unknown attribute {short(node.attr)}")
        if isinstance(node, ast.keyword) and node.arg is not None and not is_name(node.arg):
            raise CodeBuildError(f"generated code uses the keyword {short(node.arg)}")
        if isinstance(node, ast.Assign) and not all(
                isinstance(t, ast.Name) and is_name(t.id) for t in node.targets):
            raise CodeBuildError("generated code assigns to something other than a plain name")


__all__ = ["CodeBuildError", "call", "check_names", "collect_columns", "colref", "dict_lit", "ibis_api_names",
           "is_name", "kwarg", "kwargs_text", "method_call", "pystr", "short"]
