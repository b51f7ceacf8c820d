"""What the place of the cursor and the file around it say about the next name.

Ranking by *where* a name is asked for: the names this file already writes after the same
receiver or as new columns, the methods real code writes where a statement starts with a
table or after a table method's result, the other tables in `join(`. Pure functions over the
document text and the candidates; `completion.py` decides when each applies.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.cursor import Context, _innermost_open_paren
from ibert_lsp.tasks.members import Candidate, _filter
from ibert_lsp.tasks.ranking import by_use

OUTPUT_METHODS = {"agg", "aggregate", "mutate"}
_OUTPUT_KWARG = re.compile(r"\.(?:agg|aggregate|mutate|select|group_by)\(\s*([A-Za-z_]\w*)\s*=(?!=)")


def output_name_candidates(code: str, line: int, method: str, prefix: str,
                           rstart: int) -> list[Candidate]:
    """`name=` for a new column: the names this file already gives new columns first, then the
    ones real code gives most (`count=`, ...)."""
    local: dict[str, int] = {}
    for name in _OUTPUT_KWARG.findall(_other_lines(code, line)):
        local[name] = local.get(name, 0) + 1
    common = _common_output_names()
    names = sorted(local, key=lambda n: -local[n]) + [n for n in common if n not in local]
    out = [Candidate(f"{n}=", f"{n}=", "variable", f"new column ({method})", "", "ibis", 0, rstart)
           for n in names[:4]]
    return _filter(out, prefix)


@functools.lru_cache(maxsize=1)
def _common_output_names() -> tuple[str, ...]:
    """The three names real code gives new columns most."""
    from ibert_lsp.tasks.ranking import _counts

    return tuple(by_use(list(_counts().get("output_names", {})), kinds=("output_names",))[:3])


def _other_lines(code: str, line: int) -> str:
    """The document without the line being typed (what the file already wrote)."""
    lines = code.split("\n")
    return "\n".join(lines[:line] + lines[line + 1:])


def file_names_after(code: str, line: int, ctx: Context, known: list[Candidate]) -> list[Candidate]:
    """For a table whose columns ibert cannot read: the names this file writes after the same
    receiver (`penguins.species`, `_.species`) — most likely its columns; said to come from
    the file, not from a schema."""
    root = re.match(r"[A-Za-z_]\w*", (ctx.receiver or "").strip())
    if root is None:
        return []
    text = _other_lines(code, line)
    pattern = re.compile(rf"(?<![\w.]){re.escape(root.group(0))}\.([A-Za-z_]\w*)\b(?!\s*\()")
    counts: dict[str, int] = {}
    for name in pattern.findall(text):
        counts[name] = counts.get(name, 0) + 1
    have = {c.label for c in known}
    names = sorted((n for n in counts if n not in have), key=lambda n: -counts[n])
    out = [Candidate(n, n, "column", "used in this file", f"`{n}`: written after "
                     f"`{root.group(0)}.` elsewhere in this file (its schema is not known)",
                     "document", 0, ctx.replace_start) for n in names]
    return _filter(out, ctx.prefix)


def local_uses(code: str, line: int, receiver: str) -> dict[str, int]:
    """How often this document writes each name after `receiver.` (not on this line).

    Only for a plain name or dotted path (what follows `t.agg(...).` is not what follows
    `t.`), and not counting imports (`import ibis.selectors`) or settings (`ibis.options.x =`):
    those are written once."""
    receiver = receiver.strip()
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", receiver):
        return {}
    used: dict[str, int] = {}
    lines = code.split("\n")
    pattern = re.compile(rf"(?<![\w.]){re.escape(receiver)}\.([A-Za-z_]\w*)")
    once = re.compile(rf"^\s*(import|from)\s|^\s*{re.escape(receiver)}\.[\w.]+\s*=[^=]")
    for text in lines[:line] + lines[line + 1:]:
        if once.match(text):
            continue
        for name in pattern.findall(text):
            used[name] = used.get(name, 0) + 1
    return used


def local_first(cands: list[Candidate], used: dict[str, int]) -> list[Candidate]:
    """Within a rank, the names this document already uses after the same receiver first
    (most used first, `local_uses`): a file that wrote `t.head(` once will likely again."""
    if not used:
        return cands
    return sorted(cands, key=lambda c: (c.rank, -used.get(c.label, 0)))  # stable


def methods_lead(cands: list[Candidate], kinds: tuple[str, ...], used: dict[str, int],
                 first: int = 5) -> list[Candidate]:
    """A statement that starts with a table (`t.` alone on a notebook line, `return t.`,
    `x = (` then `t.`) goes on with what is done to a table (`head`, `group_by`, `filter`),
    and so does a table method's result (`.agg(...).order_by`), rarely with a bare column:
    there the `first` methods real code writes most in that place (`kinds` of the frequency
    table; those the document already `used` after this receiver before them) come before
    anything else, the rest keeps its order. Elsewhere (`x = t.`, inside calls and
    operators) a column is what is expected, and columns stay first."""
    methods = [c for c in cands if c.kind != "column" and c.source == "ibis"]
    if not methods:
        return cands
    by_name = {c.label: c for c in methods}
    order = sorted(by_use(list(by_name), kinds=kinds), key=lambda n: -used.get(n, 0))
    lead = [by_name[n] for n in order[:first]]
    low = min(c.rank for c in cands)
    for c in lead:
        c.rank = low
    ids = {id(c) for c in lead}
    return lead + [c for c in cands if id(c) not in ids]


TABLE_ARGUMENT_METHODS = {"join", "inner_join", "left_join", "right_join", "outer_join",
                          "semi_join", "anti_join", "asof_join", "cross_join", "union",
                          "intersect", "difference"}


def _first_argument(text: str, prefix: str) -> bool:
    """Whether the cursor (end of `text`) is in the first argument of the call it is in."""
    p = _innermost_open_paren(text)
    return p is not None and text[p + 1:].strip() == prefix


def _tables_first(out: list[Candidate], code: str, rec: str, env: dict[str, Any],
                  types: dict[str, type], schemas: Schemas, ctx: Context) -> list[Candidate]:
    """`t.join(` / `t.union(`: the other table comes first: the names bound to tables (the
    ones the file writes most first; the receiver itself, a self-join, last)."""
    import ibis.expr.types as ir

    names = {n for n, v in env.items() if isinstance(v, ir.Table)} | {
        n for n, t in types.items() if isinstance(t, type) and issubclass(t, ir.Table)} | set(
        schemas)
    root = re.match(r"[A-Za-z_]\w*", rec or "")
    words = Counter(re.findall(r"(?<![\w.])\w+", code))  # one scan: each name's uses
    counts = {n: words[n] for n in names}
    order = sorted(names, key=lambda n: (root is not None and n == root.group(0), -counts[n], n))
    tables = [Candidate(n, n, "table", "table", "", "document", 0, ctx.replace_start)
              for n in order]
    tables = _filter(tables, ctx.prefix) if ctx.prefix else tables
    seen = {c.label for c in tables}
    return tables + [c for c in out if c.label not in seen]


_COLUMN_CALL = re.compile(r"\.(?:select|group_by|order_by|drop|distinct|relocate|asc|desc|"
                          r"cast|fill_null|drop_null|pivot_longer|unpack)\(([^()]*)\)")
_STRING = re.compile(r"""["']([A-Za-z_][\w]*)["']""")
_DEFERRED = re.compile(r"(?<![\w.])_\.([A-Za-z_]\w*)\b(?!\s*\()")
_SUBSCRIPT = re.compile(r"""\[\s*["']([A-Za-z_]\w*)["']\s*\]""")


def file_column_names(code: str, line: int) -> dict[str, int]:
    """How often this file (not this line) names each column: string arguments of the
    methods that take column names (`group_by("species")`, `select("a", "b")`), `_.name`,
    `x["name"]`. For a table whose schema ibert cannot read, these are its likely columns."""
    text = _other_lines(code, line)
    counts: dict[str, int] = {}
    names = [n for args in _COLUMN_CALL.findall(text) for n in _STRING.findall(args)]
    names += _DEFERRED.findall(text) + _SUBSCRIPT.findall(text)
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return counts


def file_column_candidates(code: str, line: int, ctx: Context,
                           quoted: bool) -> list[Candidate]:
    """`"name"` (or the bare name inside an open string) for each column the file names,
    most named first; said to come from the file, not from a schema."""
    from ibert_lsp.tasks.codebuild import pystr

    counts = file_column_names(code, line)
    out = []
    for n in sorted(counts, key=lambda n: -counts[n]):
        text = pystr(n) if quoted else n
        out.append(Candidate(text, text, "column", "used in this file",
                             f"`{n}`: named as a column elsewhere in this file (its schema is "
                             "not known)", "document", 0, ctx.replace_start))
    return _filter(out, ctx.prefix.strip("\"'")) if ctx.prefix else out
