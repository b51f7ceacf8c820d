"""Code completion, the deterministic engine: Ibis members and columns.

It evaluates the receiver before the cursor's `.` through the gate (so it knows that
`events.filter(...)` is a Table with columns `user_id`, `amount`) and lists the real members
of the real Ibis object with their signatures and docstrings, ranked for where the cursor is
(`placement.py`). Anything that is not an Ibis expression falls back to jedi. The model's
continuations (`continuations.py`) are added by the callers, within their latency budget.

Positions are LSP-style: 0-based line, 0-based character.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.codebuild import colref, pystr
from ibert_lsp.tasks.cursor import (
    _IDENT,
    Context,
    context_at,
    enclosing_callees,
    innermost_callee,
)
from ibert_lsp.tasks.members import (
    Candidate,
    _filter,
    _in_string,
    _table_columns,
    class_candidates,
    keyword_candidates,
    member_candidates,
    namespace_candidates,
)
from ibert_lsp.tasks.namespaces import (
    namespace_of,
)
from ibert_lsp.tasks.placement import (
    OUTPUT_METHODS,
    TABLE_ARGUMENT_METHODS,
    _first_argument,
    _tables_first,
    file_column_candidates,
    file_names_after,
    local_first,
    local_uses,
    methods_lead,
    output_name_candidates,
)
from ibert_lsp.tasks.typeflow import type_of

# Methods whose positional arguments are column names (strings) or column expressions.
STRING_COLUMN_METHODS = {
    "select", "group_by", "order_by", "drop", "distinct", "rename", "unpack", "relocate",
    "dropna", "fill_null", "drop_null", "pivot_longer", "pivot_wider", "join", "left_join",
    "inner_join", "outer_join", "semi_join", "anti_join", "asof_join", "cross_join", "sample",
    "__getitem__",
}
EXPR_COLUMN_METHODS = {"filter", "mutate", "agg", "aggregate", "having", "order_by", "select"}



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


def _scope_table(ctx_text: str, schemas: Schemas, env: dict[str, Any]) -> Any:
    """For `_`: the table the innermost enclosing method call applies to."""
    for callee in enclosing_callees(ctx_text):
        if "." in callee:
            obj = evaluate_receiver(callee.rsplit(".", 1)[0], schemas, env)
            if _table_columns(obj):
                return obj
    return None


def _holds_columns(cls: type | None) -> bool:
    import ibis.expr.types as ir
    from ibis.expr.types.groupby import GroupedTable

    return cls is not None and (issubclass(cls, ir.Table) or issubclass(cls, GroupedTable))


AGG_METHODS = ("agg", "aggregate")


def _inside_call(text: str, names: tuple[str, ...]) -> bool:
    """Whether the cursor (end of `text`) is inside a call to one of `names` (`s.across(`)."""
    return any(c.rpartition(".")[2] in names for c in enclosing_callees(text))


def _is_table(obj: Any, cls: type | None) -> bool:
    import ibis.expr.types as ir

    return isinstance(obj, ir.Table) or (isinstance(cls, type) and issubclass(cls, ir.Table))


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
    path: str | None = None,
    use_jedi: bool = True,
) -> list[Candidate]:
    """Completions at (line, character), best first: columns, Ibis members, names.

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
        place = ("ibis_lead",) if ctx.leads else ("ibis_assign",) if ctx.assigns else ()
        out = namespace_candidates(namespace, ctx.prefix, ctx.replace_start, place + ("ibis",))
    elif ctx.kind == "member":
        out = _member_completions(code, line, character, ctx, schemas, env, types, path,
                                  use_jedi)
    elif ctx.kind in ("argument", "string_argument"):
        out = _argument_completions(code, line, character, ctx, schemas, env, types)
    elif ctx.kind == "identifier" and ctx.prefix:
        out = _names(code, ctx.prefix, env, schemas, ctx.replace_start)
        if use_jedi and len(out) < 5:
            seen = {c.label for c in out}
            out += [c for c in jedi_candidates(code, line, character, path) if c.label not in seen]
    if namespace is not None:
        out = local_first(out, local_uses(code, line, ctx.receiver or ""))
    return out


def _text_before(code: str, line: int, character: int) -> str:
    """Up to 60 lines before the cursor: enough to find the call a `_` belongs to."""
    lines = code.split("\n")
    return "\n".join(lines[max(0, line - 60): line] + [lines[line][:character]])


def _member_completions(code: str, line: int, character: int, ctx: Context, schemas: Schemas,
                        env: dict[str, Any], types: dict[str, type], path: str | None,
                        use_jedi: bool) -> list[Candidate]:
    """After `receiver.`: the value's members when the receiver evaluates, its type's methods
    when only the type is known, else names the file writes after it (or jedi's)."""
    out: list[Candidate] = []
    receiver = ctx.receiver or ""
    if receiver == "ibis._" or receiver.startswith(("ibis._.", "ibis._[")):
        # `ibis._` is `_` (the Deferred's own attributes, `resolve`, are not what is meant)
        ctx = dataclasses.replace(ctx, receiver=receiver[len("ibis."):])
    if ctx.receiver == "_":
        text = _text_before(code, line, character)
        obj = _scope_table(text, schemas, env)
        if _inside_call(text, ("across",)):  # `s.across(..., _.mean())`: `_` is a column
            import ibis.expr.types as ir

            obj, types = None, {**types, "_": ir.Column}
        elif obj is None:  # the table `_` stands for is unknown: its methods
            import ibis.expr.types as ir

            types = {**types, "_": ir.Table}
    elif (ctx.receiver or "").startswith(("_.", "_[")):
        # `_.col.`: the column of the table the enclosing call applies to
        text = _text_before(code, line, character)
        scope_table = _scope_table(text, schemas, env)
        obj = evaluate_receiver(ctx.receiver or "", schemas, {**env, "_": scope_table}) \
            if scope_table is not None else None
        if obj is None:  # the table is unknown (or lacks it): still a column, with its methods
            import ibis.expr.types as ir

            types = {**types, "_": ir.Table}
    else:
        root = re.match(r"[A-Za-z_]\w*", (ctx.receiver or "").strip())
        # a name the code rebinds to something only typed (a parameter `s: ir.StringValue`)
        # is not the gate's own `s`/`ibis`: it has no value to evaluate
        shadowed = root is not None and root.group(0) in types and root.group(0) not in env
        obj = None if shadowed else evaluate_receiver(ctx.receiver or "", schemas, env)
    cls = None if obj is not None else type_of(ctx.receiver or "", types)
    if obj is not None:
        out = member_candidates(obj, ctx.prefix, ctx.replace_start)
        if ctx.receiver == "_":  # `_` defers to columns; in `agg(`, `_.count()` is the most
            # written of all (46 of 578 `_.` in the Ibis docs and the corpus): it leads there
            count = [c for c in out if c.label == "count"
                     and innermost_callee(_text_before(code, line, character)) in AGG_METHODS]
            out = count + [c for c in out if c.kind == "column"]
    elif cls is not None:  # the type is known, the columns are not: its methods
        out = class_candidates(cls, ctx.prefix, ctx.replace_start)
        if _holds_columns(cls):
            out = file_names_after(code, line, ctx, out) + out
    elif ctx.receiver == "_" or _holds_columns(cls):
        out = file_names_after(code, line, ctx, out)
    elif use_jedi:
        out = jedi_candidates(code, line, character, path)
    used = local_uses(code, line, ctx.receiver or "")
    out = local_first(out, used)
    if ctx.receiver != "_" and _is_table(obj, cls):
        if (ctx.receiver or "").rstrip().endswith(")"):
            # `t.group_by(...).agg(...).`: what follows a table method's result
            out = methods_lead(out, ("table_chain", "table"), used)
        elif ctx.leads:
            out = methods_lead(out, ("table_lead", "table"), used)
    return out


def _argument_completions(code: str, line: int, character: int, ctx: Context,
                          schemas: Schemas, env: dict[str, Any],
                          types: dict[str, type]) -> list[Candidate]:
    """Inside `receiver.method(`: the table's columns (as names, `t.col` or `_.col` as the
    method takes them), output names, keyword parameters and names in scope."""
    out: list[Candidate] = []
    callee = ctx.callee or ""
    rec, _, method = callee.rpartition(".")
    obj = evaluate_receiver(rec, schemas, env) if rec else None
    cols = _table_columns(obj)
    if not cols and ctx.kind == "string_argument":
        # `t.order_by(ibis.desc("` / `t.select(s.startswith("`: the enclosing table's columns
        cols = _table_columns(_scope_table(_text_before(code, line, character), schemas, env))
    if not cols and method in STRING_COLUMN_METHODS - TABLE_ARGUMENT_METHODS and (
            _holds_columns(type_of(rec, types) if rec else None)
            or method in ("group_by", "order_by", "relocate")):
        # a table whose schema is unknown: the names this file uses as columns
        return file_column_candidates(code, line, ctx, ctx.kind != "string_argument") + (
            [] if ctx.kind == "string_argument" else
            keyword_candidates(rec, method, obj, types, ctx.prefix, ctx.replace_start)
            + _names(code, ctx.prefix, env, schemas, ctx.replace_start))
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
        if method in TABLE_ARGUMENT_METHODS and _first_argument(
                _text_before(code, line, character), ctx.prefix):
            out = _tables_first(out, code, rec, env, types, schemas, ctx)
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


