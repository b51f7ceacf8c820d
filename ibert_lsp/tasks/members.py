"""Completion candidates for members: of a value (its columns and methods), of a class when
only the type is known, of a namespace (`ibis.`, a backend), and keyword parameters; the
`Candidate` record every completion engine returns."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any

from ibert_lsp.tasks.codebuild import is_name, pystr
from ibert_lsp.tasks.introspect import class_members, module_members
from ibert_lsp.tasks.namespaces import (
    backend_class,
    backend_names,
    connect_parameters,
    example_names,
    namespace_of,
)
from ibert_lsp.tasks.ranking import by_use
from ibert_lsp.tasks.typeflow import type_of


@dataclass
class Candidate:
    """One completion: `insert_text` replaces the identifier prefix before the cursor."""

    label: str
    insert_text: str
    kind: str  # column | method | attribute | function | module | class | table | variable |
    #            keyword | snippet | model
    detail: str = ""
    documentation: str = ""
    source: str = "ibis"  # schema | ibis | jedi | document | model
    rank: int = 0  # lower first
    replace_start: int | None = None  # character where the replaced prefix starts
    qualname: str | None = None  # the Ibis API member, whose full docs come at resolve

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "insert_text": self.insert_text, "kind": self.kind,
            "detail": self.detail, "documentation": self.documentation, "source": self.source,
        }


def member_candidates(obj: Any, prefix: str, rstart: int) -> list[Candidate]:
    import ibis
    from ibis.expr.types.groupby import GroupedTable

    out: list[Candidate] = []
    col_rank = 2 if isinstance(obj, GroupedTable) else 0  # after group_by(...): agg first
    for col, typ in _table_columns(obj):
        if is_name(col) and not hasattr(type(obj), col):  # after `t.`: plain names only
            out.append(Candidate(col, col, "column", typ, f"column `{col}`: {typ}", "schema",
                                 col_rank, rstart))
    if obj is ibis:
        members = module_members("ibis")
        owner = "ibis"
    else:
        members = ranked_members(type(obj))
        owner = f"{type(obj).__module__}.{type(obj).__qualname__}"
    seen = {c.label for c in out}
    for name, kind, sig, doc in members:
        if name in seen:
            continue
        seen.add(name)
        out.append(Candidate(name, name, kind, sig, doc, "ibis", 1, rstart))
        out[-1].qualname = f"{owner}.{name}"
    return _filter(out, prefix)


@functools.lru_cache(maxsize=256)
def ranked_members(cls: type) -> tuple[tuple[str, str, str, str], ...]:
    """`class_members` with the methods real code calls most on such values first (the
    order never changes in a process: computed once per class)."""
    members = {m[0]: m for m in class_members(cls)}
    return tuple(members[n] for n in by_use(list(members), cls))


def namespace_candidates(namespace: tuple[str, Any], prefix: str, rstart: int,
                         kinds: tuple[str, ...] = ("ibis",)) -> list[Candidate]:
    """`ibis.`, `ibis.duckdb.`, `ibis.examples.`, `ibis.examples.penguins.`: their names,
    the ones real code uses most first (for `ibis.`, in that place: `kinds` of the frequency
    table, `ibis_lead` where a statement starts, `ibis_assign` where an assigned value does)."""
    kind, detail = namespace
    if kind == "backend_module":
        cls = backend_class(detail)
        members = {m[0]: m for m in class_members(cls)}
        owner = f"{cls.__module__}.{cls.__qualname__}"
        out = [Candidate(n, n, members[n][1], members[n][2], members[n][3], "ibis", 1, rstart)
               for n in by_use(list(members), kinds=("backend_module", "backend"))]
        for c in out:
            c.qualname = f"{owner}.{c.label}"
        return _filter(out, prefix)
    if kind == "examples":
        names = by_use(list(example_names()), kinds=("examples",))
        return _filter([Candidate(n, n, "attribute", "example dataset", "", "ibis", 1, rstart)
                        for n in names], prefix)
    if kind == "example":
        return _filter([Candidate("fetch", "fetch", "method", "fetch(table_name=None, backend="
                                  "None)", f"Fetch the `{detail}` example table.", "ibis", 1,
                                  rstart)], prefix)
    members = {m[0]: m for m in module_members("ibis")}
    for b in sorted(backend_names()):
        members.setdefault(b, (b, "module", b, f"The {b} backend: `ibis.{b}.connect(...)`."))
    members.setdefault("examples", ("examples", "module", "examples", "Example datasets."))
    members.setdefault("_", ("_", "variable", "_", "The deferred expression (`ibis._`)."))
    out = []
    for n in _ibis_order(tuple(members), kinds):
        name, k, sig, doc = members[n]
        out.append(Candidate(name, name, k, sig, doc, "ibis", 1, rstart))
        out[-1].qualname = f"ibis.{name}"
    return _filter(out, prefix)


@functools.lru_cache(maxsize=16)
def _ibis_order(names: tuple[str, ...], kinds: tuple[str, ...]) -> tuple[str, ...]:
    """`names` by use in each of `kinds`, the first (most specific place) deciding, the others
    breaking its ties."""
    order = list(names)
    for k in reversed(kinds):
        order = by_use(order, kinds=(k,))
    return tuple(order)


def keyword_candidates(rec: str, method: str, obj: Any, types: dict[str, type], prefix: str,
                       rstart: int) -> list[Candidate]:
    """`name=` for the keyword parameters of the function being called (`connect(` on a
    backend: its connection parameters; `ibis.window(`: group_by=, order_by=, ...)."""

    import ibis

    namespace = namespace_of(rec) if rec else None
    fn: Any = None
    if namespace and namespace[0] == "backend_module" and method == "connect":
        names = connect_parameters(backend_class(namespace[1]), namespace[1])
    else:
        if namespace and namespace[0] == "ibis":
            fn = getattr(ibis, method, None)
        else:
            owner = type(obj) if obj is not None else type_of(rec, types) if rec else None
            fn = getattr(owner, method, None) if owner is not None else None
        try:
            params = inspect.signature(fn).parameters.values() if callable(fn) else ()
        except (TypeError, ValueError):
            params = ()
        names = [p.name for p in params if p.name != "self" and not p.name.startswith("_")
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    out = [Candidate(f"{n}=", f"{n}=", "variable", "keyword argument", "", "ibis", 2, rstart)
           for n in names]
    return _filter(out, prefix)


def class_candidates(cls: type, prefix: str, rstart: int) -> list[Candidate]:
    """Members of an Ibis class, for a value whose type is known but whose columns are not."""
    out: list[Candidate] = []
    owner = f"{cls.__module__}.{cls.__qualname__}"
    for name, kind, sig, doc in ranked_members(cls):
        out.append(Candidate(name, name, kind, sig, doc, "ibis", 1, rstart))
        out[-1].qualname = f"{owner}.{name}"
    return _filter(out, prefix)


def _in_string(name: str, quote: str) -> str:
    """`name` as it must be typed inside an open `quote`-quoted literal (escapes from repr)."""
    body = pystr(name) if quote == '"' else repr(name)
    if body[0] == quote:
        return body[1:-1]
    return "".join("\\" + ch if ch == quote else ch for ch in body[1:-1])


def _filter(cands: list[Candidate], prefix: str) -> list[Candidate]:
    if not prefix:
        return cands
    low = prefix.lower()
    return [c for c in cands if c.label.lower().startswith(low)] or [
        c for c in cands if low in c.label.lower()
    ]


def _table_columns(obj: Any) -> list[tuple[str, str]]:
    import ibis.expr.types as ir

    if isinstance(obj, ir.Table):
        return [(c, str(t)) for c, t in obj.schema().items()]
    if hasattr(obj, "table") and obj.__class__.__name__ == "GroupedTable":
        try:
            return [(c, str(t)) for c, t in obj.table.to_expr().schema().items()]
        except Exception:
            return []
    return []
