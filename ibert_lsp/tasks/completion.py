"""Code completion: Ibis members and columns (deterministic), then model continuations (checked).

The deterministic engine evaluates the receiver before the cursor's `.` through the gate (so it
knows that `events.filter(...)` is a Table with columns `user_id`, `amount`) and lists the real
members of the real Ibis object with their signatures and docstrings; columns come first.
Anything that is not an Ibis expression falls back to jedi. Model continuations come after,
and only those whose statement still evaluates through the gate are kept.

Positions are LSP-style: 0-based line, 0-based character.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import re
import threading
from dataclasses import dataclass
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.codebuild import colref, is_name, pystr
from ibert_lsp.tasks.continuations import continuations
from ibert_lsp.tasks.cursor import Context, _innermost_open_paren, context_at, receiver_before
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

# Methods whose positional arguments are column names (strings) or column expressions.
STRING_COLUMN_METHODS = {
    "select", "group_by", "order_by", "drop", "distinct", "rename", "unpack", "relocate",
    "dropna", "fill_null", "drop_null", "pivot_longer", "pivot_wider", "join", "left_join",
    "inner_join", "outer_join", "semi_join", "anti_join", "asof_join", "cross_join", "sample",
    "__getitem__",
}
EXPR_COLUMN_METHODS = {"filter", "mutate", "agg", "aggregate", "having", "order_by", "select"}

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


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


# ---------------------------------------------------------------- evaluating the receiver


def evaluate_receiver(text: str, schemas: Schemas, env: dict[str, Any]) -> Any:
    """The Ibis object `text` denotes (through the gate), the `ibis` module, or None."""
    text = text.strip()
    if text == "ibis":
        import ibis

        return ibis
    if text == "_":
        return None
    from ibert_lsp.tasks.analysis import gate_eval

    try:
        return gate_eval("(" + text + ")", schemas, env, any_value=True)
    except Exception:  # GateError or a gate bug: no members rather than a failed request
        return None


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


def _scope_table(ctx_text: str, schemas: Schemas, env: dict[str, Any]) -> Any:
    """For `_`: the table the innermost enclosing method call applies to."""
    p = _innermost_open_paren(ctx_text)
    while p is not None:
        callee = receiver_before(ctx_text, p)
        if callee and "." in callee:
            rec = callee.rsplit(".", 1)[0]
            obj = evaluate_receiver(rec, schemas, env)
            if _table_columns(obj):
                return obj
        p = _innermost_open_paren(ctx_text[:p])
    return None


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


def ranked_members(cls: type) -> tuple[tuple[str, str, str, str], ...]:
    """`class_members` with the methods real code calls most on such values first."""
    members = {m[0]: m for m in class_members(cls)}
    return tuple(members[n] for n in by_use(list(members), cls))


OUTPUT_METHODS = {"agg", "aggregate", "mutate"}
_OUTPUT_KWARG = re.compile(r"\.(?:agg|aggregate|mutate|select|group_by)\(\s*([A-Za-z_]\w*)\s*=(?!=)")


def output_name_candidates(code: str, line: int, method: str, prefix: str,
                           rstart: int) -> list[Candidate]:
    """`name=` for a new column: the names this file already gives new columns first, then the
    ones real code gives most (`count=`, ...)."""
    lines = code.split("\n")
    local: dict[str, int] = {}
    for name in _OUTPUT_KWARG.findall("\n".join(lines[:line] + lines[line + 1:])):
        local[name] = local.get(name, 0) + 1
    common = by_use(list(_common_output_names()), kinds=("output_names",))[:3]
    names = sorted(local, key=lambda n: -local[n]) + [n for n in common if n not in local]
    out = [Candidate(f"{n}=", f"{n}=", "variable", f"new column ({method})", "", "ibis", 0, rstart)
           for n in names[:4]]
    return _filter(out, prefix)


@functools.lru_cache(maxsize=1)
def _common_output_names() -> tuple[str, ...]:
    from ibert_lsp.tasks.ranking import _counts

    return tuple(_counts().get("output_names", {}))


def _holds_columns(cls: type | None) -> bool:
    import ibis.expr.types as ir
    from ibis.expr.types.groupby import GroupedTable

    return cls is not None and (issubclass(cls, ir.Table) or issubclass(cls, GroupedTable))


def file_names_after(code: str, line: int, ctx: Context, known: list[Candidate]) -> list[Candidate]:
    """For a table whose columns ibert cannot read: the names this file writes after the same
    receiver (`penguins.species`, `_.species`) — most likely its columns; said to come from
    the file, not from a schema."""
    root = re.match(r"[A-Za-z_]\w*", (ctx.receiver or "").strip())
    if root is None:
        return []
    lines = code.split("\n")
    text = "\n".join(lines[:line] + lines[line + 1:])
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


def _inside_call(text: str, names: tuple[str, ...]) -> bool:
    """Whether the cursor (end of `text`) is inside a call to one of `names` (`s.across(`)."""
    p = _innermost_open_paren(text)
    while p is not None:
        callee = receiver_before(text, p) or ""
        if callee.rsplit(".", 1)[-1] in names:
            return True
        p = _innermost_open_paren(text[:p])
    return False


def local_first(cands: list[Candidate], code: str, line: int, receiver: str) -> list[Candidate]:
    """Within a rank, the names this document already uses after the same receiver first
    (most used first): a file that wrote `ibis.athena` or `t.head(` once will likely again."""
    root = re.match(r"[A-Za-z_]\w*", receiver.strip())
    if root is None:
        return cands
    used: dict[str, int] = {}
    lines = code.split("\n")
    pattern = re.compile(rf"(?<![\w.]){re.escape(root.group(0))}\.([A-Za-z_]\w*)")
    for name in pattern.findall("\n".join(lines[:line] + lines[line + 1:])):  # not this line
        used[name] = used.get(name, 0) + 1
    if not used:
        return cands
    return sorted(cands, key=lambda c: (c.rank, -used.get(c.label, 0)))  # stable


def namespace_candidates(namespace: tuple[str, Any], prefix: str,
                         rstart: int) -> list[Candidate]:
    """`ibis.`, `ibis.duckdb.`, `ibis.examples.`, `ibis.examples.penguins.`: their names,
    the ones real code uses most first."""
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
    for n in by_use(list(members), kinds=("ibis",)):
        name, k, sig, doc = members[n]
        out.append(Candidate(name, name, k, sig, doc, "ibis", 1, rstart))
        out[-1].qualname = f"ibis.{name}"
    return _filter(out, prefix)


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


def _document_names(code: str) -> set[str]:
    return set(re.findall(r"^\s*([A-Za-z_]\w*)\s*=", code, re.MULTILINE)) | set(
        re.findall(r"^\s*def\s+([A-Za-z_]\w*)", code, re.MULTILINE)
    ) | set(re.findall(r"^\s*(?:from\s+\S+\s+)?import\s+([A-Za-z_]\w*)", code, re.MULTILINE))


def jedi_candidates(code: str, line: int, character: int, path: str | None = None,
                    limit: int = 200) -> list[Candidate]:
    import jedi

    try:
        comps = jedi.Script(code, path=path).complete(line + 1, character)
    except Exception:
        return []
    out = []
    for c in comps[:limit]:
        kind = {"function": "function", "module": "module", "class": "class",
                "instance": "variable", "keyword": "keyword", "param": "variable",
                "property": "attribute", "statement": "variable"}.get(c.type, "attribute")
        start = character - len(c.name) + len(c.complete or "")
        out.append(Candidate(c.name, c.name, kind, c.type, "", "jedi", 3, start))
    return out


# ---------------------------------------------------------------- the task


def complete(
    code: str,
    line: int,
    character: int,
    schemas: Schemas,
    *,
    env: dict[str, Any] | None = None,
    types: dict[str, type] | None = None,
    generator: Any = None,
    n_model: int = 3,
    max_new_tokens: int = 48,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
    path: str | None = None,
    use_jedi: bool = True,
) -> list[Candidate]:
    """Completions at (line, character), best first: columns, Ibis members, names, model.

    `env` maps variables to Ibis expressions (from `analysis.analyze(...).env_before(line)`);
    without it the document is analysed here.
    """
    if env is None:
        from ibert_lsp.tasks.analysis import analyze

        an = analyze(code, schemas)
        schemas = {**an.schemas}
        env = an.env_before(line)
        types = an.types_before(line)
    types = types or {}
    ctx = context_at(code, line, character)
    out: list[Candidate] = []
    namespace = namespace_of(ctx.receiver or "") if ctx.kind == "member" else None
    if namespace is not None:
        out = namespace_candidates(namespace, ctx.prefix, ctx.replace_start)
    elif ctx.kind == "member":
        if ctx.receiver == "_":
            lines = code.split("\n")
            text = "\n".join(lines[max(0, line - 60): line] + [lines[line][:character]])
            obj = _scope_table(text, schemas, env)
            if _inside_call(text, ("across",)):  # `s.across(..., _.mean())`: `_` is a column
                import ibis.expr.types as ir

                obj, types = None, {**types, "_": ir.Column}
            elif obj is None:  # the table `_` stands for is unknown: its methods
                import ibis.expr.types as ir

                types = {**types, "_": ir.Table}
        elif (ctx.receiver or "").startswith(("_.", "_[")):
            # `_.col.`: the column of the table the enclosing call applies to
            lines = code.split("\n")
            text = "\n".join(lines[max(0, line - 60): line] + [lines[line][:character]])
            scope_table = _scope_table(text, schemas, env)
            obj = evaluate_receiver(ctx.receiver or "", schemas, {**env, "_": scope_table}) \
                if scope_table is not None else None
        else:
            obj = evaluate_receiver(ctx.receiver or "", schemas, env)
        cls = None if obj is not None else type_of(ctx.receiver or "", types)
        if obj is not None:
            out = member_candidates(obj, ctx.prefix, ctx.replace_start)
            if ctx.receiver == "_":
                out = [c for c in out if c.kind == "column"]  # `_` defers to columns
        elif cls is not None:  # the type is known, the columns are not: its methods
            out = class_candidates(cls, ctx.prefix, ctx.replace_start)
            if _holds_columns(cls):
                out = file_names_after(code, line, ctx, out) + out
        elif ctx.receiver == "_" or _holds_columns(cls):
            out = file_names_after(code, line, ctx, out)
        elif use_jedi:
            out = jedi_candidates(code, line, character, path)
    elif ctx.kind in ("argument", "string_argument"):
        callee = ctx.callee or ""
        rec, _, method = callee.rpartition(".")
        obj = evaluate_receiver(rec, schemas, env) if rec else None
        cols = _table_columns(obj)
        if not cols and ctx.kind == "string_argument":
            # `t.order_by(ibis.desc("` / `t.select(s.startswith("`: the enclosing table's columns
            lines = code.split("\n")
            text = "\n".join(lines[max(0, line - 60): line] + [lines[line][:character]])
            cols = _table_columns(_scope_table(text, schemas, env))
        if ctx.kind == "string_argument":
            # typed inside an open string literal: the name is escaped for that quote
            out = [Candidate(c, _in_string(c, ctx.quote or '"'), "column", t, f"column `{c}`: {t}",
                             "schema", 0, ctx.replace_start) for c, t in cols]
            out = _filter(out, ctx.prefix)
        else:
            if cols:
                for c, t in cols:
                    if method in STRING_COLUMN_METHODS:
                        out.append(Candidate(pystr(c), pystr(c), "column", t,
                                             f"column `{c}`: {t}", "schema", 0, ctx.replace_start))
                    # `t.c` for plain names, `t["x y"]` otherwise (and for names of methods);
                    # where names are enough (select, group_by), names come first, once each
                    as_attr = not hasattr(type(obj), c) if obj is not None else True
                    named = method in STRING_COLUMN_METHODS
                    if method in EXPR_COLUMN_METHODS and _IDENT.match(rec):
                        ref = colref(rec, c, attribute_ok=as_attr)
                        out.append(Candidate(ref, ref, "column", t, f"column `{c}`: {t}",
                                             "schema", 1 if named else 0, ctx.replace_start))
                    if method in EXPR_COLUMN_METHODS:
                        ref = colref("_", c, attribute_ok=as_attr)
                        out.append(Candidate(ref, ref, "column", t,
                                             f"column `{c}` (deferred): {t}", "schema",
                                             2 if named else 1, ctx.replace_start))
            out = _filter(out, ctx.prefix.strip('"')) if ctx.prefix else out
            if method in OUTPUT_METHODS and ctx.kind == "argument":
                # `agg(` / `mutate(`: most often a new column's name comes first
                out = output_name_candidates(code, line, method, ctx.prefix,
                                             ctx.replace_start) + out
            out += keyword_candidates(rec, method, obj, types, ctx.prefix, ctx.replace_start)
            out += _names(code, ctx.prefix, env, schemas, ctx.replace_start)
    elif ctx.kind == "identifier" and ctx.prefix:
        out = _names(code, ctx.prefix, env, schemas, ctx.replace_start)
        if use_jedi and len(out) < 5:
            seen = {c.label for c in out}
            out += [c for c in jedi_candidates(code, line, character, path) if c.label not in seen]
    if ctx.kind == "member":
        out = local_first(out, code, line, ctx.receiver or "")
    if generator is not None and n_model > 0 and not (cancel and cancel.is_set()):
        seen = {c.insert_text for c in out}
        for text in continuations(code, line, character, schemas, generator, env=env, n=n_model,
                                  max_new_tokens=max_new_tokens, deadline_s=deadline_s,
                                  cancel=cancel):
            full = ctx.prefix + text
            if full in seen or not text.strip():
                continue
            seen.add(full)
            out.append(Candidate(full.split("\n")[0][:60], full, "model", "ibert model",
                                 "Suggested by the local model; checked against the schemas.",
                                 "model", 5, ctx.replace_start))
    return out


def _names(code: str, prefix: str, env: dict[str, Any], schemas: Schemas,
           rstart: int) -> list[Candidate]:
    import ibis.expr.types as ir

    out = []
    for name in sorted(set(env) | set(schemas)):
        obj = env.get(name)
        kind = "table" if name in schemas or isinstance(obj, ir.Table) else "variable"
        detail = type(obj).__name__ if obj is not None else "table"
        out.append(Candidate(name, name, kind, detail, "", "document", 1, rstart))
    seen = {c.label for c in out}
    for name in sorted(_document_names(code) - seen):
        out.append(Candidate(name, name, "variable", "", "", "document", 2, rstart))
    for kw in ("ibis", "_"):
        if kw not in seen and re.search(rf"\bimport\b.*\b{re.escape(kw)}\b", code):
            out.append(Candidate(kw, kw, "module" if kw == "ibis" else "variable", "", "",
                                 "document", 2, rstart))
    out += [Candidate(k, k, "keyword", "", "", "document", 4, rstart)
            for k in keyword.kwlist]
    return [c for c in _filter(out, prefix) if c.label != prefix]


