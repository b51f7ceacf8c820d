"""Retrieval over the installed Ibis API: every public function and method with its docstring.

The index is built once per process by inspecting `ibis` (top-level functions), the expression
classes (`Table`, `GroupedTable`, column and scalar types) and `ibis.selectors`, then scored
with BM25 over name words (weighted) and docstring words. No network, no data files: the
answers are grounded in exactly the Ibis the user has installed.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass

from ibert_lsp.tasks.introspect import public_members

_WORD = re.compile(r"[a-z][a-z0-9]*")
_STOP = set(
    ["a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "by", "with", "as", "at", "it", "this", "that", "from", "how", "do", "i", "can", "what", "which", "when", "where", "why", "does", "my", "me", "we", "you", "your", "into", "use", "using", "get", "should"]
)
# Words people write that the docstrings spell differently.
_SYNONYMS = {
    "groupby": ["group", "by"], "where": ["filter"], "rows": ["filter", "row"],
    "sort": ["order", "sort"], "sorted": ["order", "sort"], "order": ["order", "sort"],
    "rename": ["rename"], "count": ["count"], "distinct": ["distinct", "unique"],
    "unique": ["distinct", "unique"], "sql": ["sql", "compile"], "null": ["null", "missing"],
    "nan": ["null", "missing"], "missing": ["null", "missing"], "merge": ["join"],
    "aggregate": ["aggregate", "agg"], "sum": ["sum"], "average": ["mean"], "avg": ["mean"],
    "top": ["limit", "order"], "first": ["limit", "head"], "column": ["column", "select"],
    "columns": ["column", "select"], "new": ["mutate", "add"], "add": ["mutate", "add"],
    "window": ["window", "over"], "cast": ["cast", "type"], "convert": ["cast", "type"],
    "string": ["string"], "lowercase": ["lower"], "uppercase": ["upper"], "date": ["date"],
    "year": ["year"], "limit": ["limit"], "drop": ["drop"], "remove": ["drop"],
}


@dataclass(frozen=True)
class Doc:
    qualname: str  # e.g. "Table.group_by", "ibis.desc", "StringValue.lower"
    name: str
    owner: str  # "ibis", "Table", "StringValue", ...
    signature: str
    summary: str
    text: str  # full docstring (cleaned)


def _words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower().replace("_", " ")):
        if w in _STOP:
            continue
        out.append(w)
        out += _SYNONYMS.get(w, [])
    return out


def _classes():
    import ibis.expr.types as ir
    from ibis.expr.types.groupby import GroupedTable

    names = [
        "Table", "Column", "Value", "Scalar", "NumericValue", "IntegerValue", "FloatingValue",
        "StringValue", "BooleanValue", "TemporalValue", "TimestampValue", "DateValue",
        "ArrayValue", "StructValue", "MapValue", "IntervalValue", "NumericColumn",
        "IntegerColumn", "StringColumn",
    ]
    out = [(n, getattr(ir, n)) for n in names if hasattr(ir, n)]
    out.append(("GroupedTable", GroupedTable))
    return out


def _sig(obj, name: str) -> str:
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def _summary(doc: str) -> str:
    return doc.split("\n\n")[0].strip().replace("\n", " ")


@functools.lru_cache(maxsize=1)
def build_index() -> tuple[Doc, ...]:
    import ibis
    import ibis.selectors as sel

    docs: list[Doc] = []
    seen: set[tuple[str, str]] = set()

    def add(owner: str, name: str, obj) -> None:
        raw = getattr(obj, "__doc__", None)
        if not raw or (owner, name) in seen:
            return
        seen.add((owner, name))
        text = inspect.cleandoc(raw)
        docs.append(Doc(f"{owner}.{name}", name, owner, _sig(obj, name), _summary(text), text))

    for name in sorted(set(getattr(ibis, "__all__", dir(ibis)))):
        if name.startswith("_"):
            continue
        obj = getattr(ibis, name, None)
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            add("ibis", name, obj)
    for name in sorted(dir(sel)):
        obj = getattr(sel, name, None)
        if not name.startswith("_") and inspect.isfunction(obj):
            add("selectors", name, obj)
    for owner, cls in _classes():
        for name, obj in public_members(cls):
            if isinstance(obj, property):
                obj = obj.fget
            if not callable(obj):
                continue
            # document each method once, on the most general class that has it
            if any((o, name) in seen for o, _ in _classes()):
                continue
            add(owner, name, obj)
    return tuple(docs)


class _BM25:
    def __init__(self, docs: tuple[Doc, ...], k1: float = 1.4, b: float = 0.75):
        self.docs = docs
        self.k1, self.b = k1, b
        self.tfs: list[Counter] = []
        df: Counter = Counter()
        for d in docs:
            words = _words(d.name) * 4 + _words(d.summary) * 2 + _words(d.text[:1500])
            tf = Counter(words)
            self.tfs.append(tf)
            df.update(tf.keys())
        self.n = len(docs)
        self.avg = sum(sum(tf.values()) for tf in self.tfs) / max(self.n, 1)
        self.idf = {w: math.log(1 + (self.n - c + 0.5) / (c + 0.5)) for w, c in df.items()}

    def search(self, query: str, k: int = 5) -> list[tuple[float, Doc]]:
        q = _words(query)
        if not q:
            return []
        scores = []
        for i, tf in enumerate(self.tfs):
            length = sum(tf.values())
            s = 0.0
            for w in q:
                f = tf.get(w)
                if f:
                    s += self.idf[w] * f * (self.k1 + 1) / (
                        f + self.k1 * (1 - self.b + self.b * length / self.avg))
            # exact API names in the question weigh most
            if re.search(rf"\b{re.escape(self.docs[i].name)}\b", query):
                s += 6.0
            if s > 0:
                scores.append((s, self.docs[i]))
        scores.sort(key=lambda x: -x[0])
        return scores[:k]


_lock = threading.Lock()
_index: _BM25 | None = None


def index() -> _BM25:
    global _index
    with _lock:
        if _index is None:
            _index = _BM25(build_index())
        return _index


def search(query: str, k: int = 5) -> list[tuple[float, Doc]]:
    """The `k` API entries that best match `query`, best first, with their scores."""
    return index().search(query, k)


def lookup(qualname: str) -> Doc | None:
    """Exact entry by `Owner.name` or bare `name` (first match)."""
    docs = build_index()
    for d in docs:
        if d.qualname == qualname:
            return d
    for d in docs:
        if d.name == qualname:
            return d
    return None
