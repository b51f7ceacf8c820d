"""Documentation: a docstring for a `def`, from its signature (and the model's summary).

The skeleton comes from the signature: parameters with their annotations (a parameter named like
a known table says which columns it has), the return annotation, and a summary made from the
function's name. A model, when there is one, may propose the summary line; its text is kept only
when it is one plain sentence. Every docstring is checked: inserted into the function, the
module still parses, the documented parameter names are exactly the signature's, and it
describes every parameter and the return value (`relevance.doc_verdict`).

Lines are 0-based.
"""

from __future__ import annotations

import ast
import re
import textwrap
import threading
from dataclasses import dataclass
from typing import Any

from ibert_lsp.schema.types import Schemas

STYLES = ("google", "numpy")


@dataclass
class DocResult:
    name: str  # function name
    docstring: str  # the text between the quotes, without indentation
    insert_line: int  # 0-based line before which the docstring block is inserted
    replace_end_line: int  # == insert_line when inserting; > when replacing an existing docstring
    indent: str
    block: str  # the lines to insert, indented, with quotes, newline-terminated
    source: str  # rule | model

    def apply(self, code: str) -> str:
        lines = code.split("\n")
        return "\n".join(lines[: self.insert_line] + self.block.rstrip("\n").split("\n")
                         + lines[self.replace_end_line:])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "docstring": self.docstring, "insert_line": self.insert_line,
                "replace_end_line": self.replace_end_line, "block": self.block,
                "source": self.source}


class DocError(ValueError):
    """No function at that line, or the document cannot be parsed there."""


def find_function(code: str, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The innermost `def` whose header or body covers 0-based `line`."""
    from ibert_lsp.pysource import parse_shared

    tree, _ = parse_shared(code)
    if tree is None:
        raise DocError("the document does not parse")
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            if first <= line <= node.end_lineno - 1:
                if best is None or node.lineno > best.lineno:
                    best = node
    if best is None:
        raise DocError(f"no function definition at line {line + 1}")
    return best


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[tuple[str, str | None, bool]]:
    """(name, annotation source, has default) for documented parameters."""
    a = fn.args
    out = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(positional, defaults):
        out.append((arg.arg, ast.unparse(arg.annotation) if arg.annotation else None, d is not None))
    if a.vararg:
        out.append(("*" + a.vararg.arg, ast.unparse(a.vararg.annotation)
                    if a.vararg.annotation else None, False))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, ast.unparse(arg.annotation) if arg.annotation else None, d is not None))
    if a.kwarg:
        out.append(("**" + a.kwarg.arg, ast.unparse(a.kwarg.annotation)
                    if a.kwarg.annotation else None, False))
    if out and out[0][0] in ("self", "cls"):
        out = out[1:]
    return out


def summary_from_name(name: str) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    if not words:
        return "Describe what this function does."
    words = [w.lower() for w in words]
    verb = words[0]
    irregular = {"get": "Get", "is": "Check whether", "has": "Check whether it has"}
    head = irregular.get(verb, verb.capitalize())
    return (head + " " + " ".join(words[1:])).strip() + "."


_TABLE_METHODS = {"filter", "group_by", "agg", "aggregate", "select", "mutate", "join",
                  "left_join", "order_by", "limit", "head", "distinct", "drop", "rename",
                  "count", "union", "execute", "to_pandas", "schema", "columns"}


def _usage(fn: ast.AST | None, name: str) -> str | None:
    """What the body does with parameter `name`: a table whose columns it reads, or a value it
    compares with a column — a better description than the name alone."""
    if fn is None:
        return None
    cols: list[str] = []
    table = False
    compared: list[str] = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == name:
            if node.attr in _TABLE_METHODS:
                table = True
            elif node.attr not in cols and not node.attr.startswith("_"):
                cols.append(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == name and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and node.slice.value not in cols:
            cols.append(node.slice.value)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(x, ast.Name) and x.id == name for x in sides):
                for x in sides:
                    if isinstance(x, ast.Attribute) and x.attr not in compared:
                        compared.append(x.attr)
    if cols:
        shown = ", ".join(f"`{c}`" for c in cols[:6])
        return f"A table with the column{'s' if len(cols) > 1 else ''} {shown}."
    if table:
        return "An Ibis table."
    if compared:
        return "The value compared with " + ", ".join(f"`{c}`" for c in compared[:3]) + "."
    return None


def _describe_param(name: str, schemas: Schemas, fn: ast.AST | None = None) -> str:
    base = name.lstrip("*")
    if base in schemas:
        cols = ", ".join(list(schemas[base])[:8])
        return f"The `{base}` table (columns: {cols})."
    return _usage(fn, base) or f"The {base.replace('_', ' ')}."


def _describe_result(fn: ast.AST) -> str | None:
    """One phrase for what a one-statement Ibis body returns: "the rows of `t` where ..."."""
    body = [b for b in getattr(fn, "body", []) if not (
        isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    ops = []
    node = body[0].value
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        ops.append((node.func.attr, node))
        node = node.func.value
    if not ops or not isinstance(node, ast.Name):
        return None
    parts = []
    for attr, call in reversed(ops):
        args = ", ".join(ast.unparse(a) for a in call.args)
        if len(args) > 60:
            args = args[:57] + "..."
        if attr == "filter" and args:
            parts.append(f"where `{args}`")
        elif attr == "group_by" and args:
            parts.append(f"grouped by {args}")
        elif attr == "order_by" and args:
            parts.append(f"ordered by {args}")
        elif attr in ("limit", "head") and args:
            parts.append(f"at most {args} rows")
        elif attr == "select" and args:
            parts.append(f"with the columns {args}")
        elif attr in ("mutate", "agg", "aggregate") and call.keywords:
            what = "aggregated to" if attr != "mutate" else "with the new columns"
            parts.append(f"{what} " + ", ".join(f"`{k.arg}`" for k in call.keywords if k.arg))
        elif attr in ("join", "left_join", "inner_join", "distinct", "drop", "rename"):
            parts.append(f"after `{attr}`")
    if not parts:
        return None
    return f"The rows of `{node.id}` " + ", ".join(parts)


def _returns(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str | None, bool]:
    ann = ast.unparse(fn.returns) if fn.returns else None
    has_value = any(
        isinstance(n, ast.Return) and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in ast.walk(fn)
    )
    return ann, has_value or (ann not in (None, "None"))


def _is_generator(fn: ast.AST) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn))


def _body_mentions_ibis(fn: ast.AST) -> bool:
    text = ast.unparse(fn)
    return bool(re.search(r"\.(filter|group_by|agg|select|mutate|join|order_by)\(", text))


def skeleton(fn: ast.FunctionDef | ast.AsyncFunctionDef, style: str, schemas: Schemas,
             summary: str | None = None) -> str:
    params = _params(fn)
    ret_ann, returns = _returns(fn)
    summary = summary or summary_from_name(fn.name)
    what = _describe_result(fn)
    parts = [summary]
    if style == "numpy":
        if params:
            parts.append("Parameters\n----------\n" + "\n".join(
                f"{n} : {ann or 'object'}{', optional' if d else ''}\n"
                f"    {_describe_param(n, schemas, fn)}"
                for n, ann, d in params))
        if returns:
            rtype = ret_ann or ("ibis.expr.types.Table" if _body_mentions_ibis(fn) else "object")
            key = "Yields" if _is_generator(fn) else "Returns"
            parts.append(f"{key}\n{'-' * len(key)}\n{rtype}\n    {what or 'The result'}.")
    else:
        if params:
            parts.append("Args:\n" + "\n".join(
                f"    {n}{f' ({ann})' if ann else ''}: {_describe_param(n, schemas, fn)}"
                + (" Optional." if d else "") for n, ann, d in params))
        if returns:
            rtype = ret_ann or ("ibis.expr.types.Table" if _body_mentions_ibis(fn) else None)
            key = "Yields" if _is_generator(fn) else "Returns"
            parts.append(f"{key}:\n    {rtype + ': ' if rtype else ''}{what or 'The result'}.")
    return "\n\n".join(parts)


def documented_names(doc: str, style: str) -> list[str]:
    """Parameter names a Google/NumPy docstring documents (what the check compares)."""
    names = []
    if style == "numpy":
        m = re.search(r"Parameters\n-+\n(.*?)(?:\n\n|\Z)", doc, re.DOTALL)
        if m:
            names = [ln.split(":")[0].strip() for ln in m.group(1).split("\n")
                     if ln and not ln.startswith(" ")]
    else:
        m = re.search(r"Args:\n(.*?)(?:\n\n|\Z)", doc, re.DOTALL)
        if m:
            names = [re.split(r"[ :(]", ln.strip())[0] for ln in m.group(1).split("\n")
                     if re.match(r"^ {4}\S", ln)]
    return names


def check(code: str, result: DocResult, fn_name: str, params: list[str], style: str) -> bool:
    new = result.apply(code)
    try:
        tree = ast.parse(new)
    except SyntaxError:
        return False
    fns = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
           and n.name == fn_name]
    if not any(ast.get_docstring(f) for f in fns):
        return False
    if documented_names(result.docstring, style) != params:
        return False
    from ibert_lsp.tasks.relevance import doc_verdict

    return doc_verdict(code, result.docstring, fn_name).ok


def _doc_escape(doc: str) -> str:
    """Docstring text as the body of a triple-quoted literal that reads back exactly: schema
    names and model text are untrusted, and `\"\"\"` in them must not end the string."""
    out = []
    for ch in doc:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"' if out and out[-1] in ('"', '\\"') else ch)
        elif ch != "\n" and not ch.isprintable():
            out.append(repr(ch)[1:-1])
        else:
            out.append(ch)
    if out and out[-1] == '"':  # a closing quote next to the delimiter
        out[-1] = '\\"'
    return "".join(out)


def _block(doc: str, indent: str) -> str:
    doc = _doc_escape(doc)
    lines = doc.split("\n")
    if len(lines) == 1:
        return f'{indent}"""{doc}"""\n'
    body = "\n".join((indent + ln) if ln.strip() else "" for ln in lines)
    return f'{indent}"""{body[len(indent):]}\n{indent}"""\n'


def generate_docstring(code: str, line: int, **kwargs: Any) -> DocResult:
    """A checked docstring for the function at 0-based `line` (raises DocError): the first of
    `docstrings`, what the editor's action inserts and the CLI prints first."""
    found = docstrings(code, line, **kwargs)
    if not found:
        raise DocError("could not build a docstring that checks")  # pragma: no cover
    return found[0]


def docstrings(
    code: str,
    line: int,
    *,
    style: str = "google",
    schemas: Schemas | None = None,
    generator: Any = None,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
) -> DocResult:
    """Every checked docstring for the function at 0-based `line`, best first (raises DocError
    when there is no function there): the skeleton with the model's summary (source `model`),
    then with the summary from the name and body (`rule`)."""
    if style not in STYLES:
        raise DocError(f"unknown docstring style {style!r}; styles: {', '.join(STYLES)}")
    schemas = schemas or {}
    fn = find_function(code, line)
    lines = code.split("\n")
    first = fn.body[0]
    body_line = first.lineno - 1
    indent_match = re.match(r"^(\s*)", lines[body_line]) if body_line < len(lines) else None
    indent = indent_match.group(1) if indent_match and lines[body_line].strip() else " " * (
        fn.col_offset + 4)
    if body_line == fn.lineno - 1:  # `def f(t): return t` on one line: move the body down
        return _one_line(code, fn, line, style=style, schemas=schemas, generator=generator,
                         deadline_s=deadline_s, cancel=cancel)
    replace_end = body_line
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        replace_end = first.end_lineno  # replace the existing docstring
    params = [n for n, _, _ in _params(fn)]
    summaries: list[tuple[str | None, str]] = []
    if generator is not None and not (cancel and cancel.is_set()):
        for s in model_summaries(code, fn, style, generator, deadline_s=deadline_s,
                                 cancel=cancel):
            summaries.append((s, "model"))
    summaries.append((None, "rule"))
    out: list[DocResult] = []
    for summary, source in summaries:
        doc = skeleton(fn, style, schemas, summary)
        res = DocResult(fn.name, doc, body_line, replace_end, indent, _block(doc, indent), source)
        if check(code, res, fn.name, params, style) and doc not in {r.docstring for r in out}:
            out.append(res)
    return out


def _one_line(code: str, fn: ast.FunctionDef | ast.AsyncFunctionDef, line: int,
              **kwargs: Any) -> list[DocResult]:
    """A docstring for `def f(t): return ...`: the result replaces the def's lines with the
    header, the docstring and the body on its own line (the same text, only moved)."""
    lines = code.split("\n")
    d = fn.lineno - 1
    first = fn.body[0]
    row = lines[d]
    # ast columns are UTF-8 byte offsets
    raw = row.encode()
    header = raw[: first.col_offset].decode(errors="strict").rstrip()
    rest = raw[first.col_offset:].decode(errors="strict")
    pad = re.match(r"\s*", row).group(0) + "    "
    moved = lines[:d] + [header, pad + rest] + lines[d + 1:]
    body = "\n".join(moved[d + 1: fn.end_lineno + 1]) + "\n"
    return [DocResult(r.name, r.docstring, d, fn.end_lineno, r.indent,
                      header + "\n" + r.block + body, r.source)
            for r in docstrings("\n".join(moved), d + 1, **kwargs)]


_SENTENCE = re.compile(r"^[A-Z][^\n<>`{}]{5,118}[.!]$")


def model_summaries(code: str, fn: ast.AST, style: str, generator: Any, *,
                    deadline_s: float | None = None, cancel: threading.Event | None = None,
                    n: int = 2) -> list[str]:
    """One-sentence summaries the model proposes for `fn` (plain sentences only)."""
    from ibert_lsp.prompting import prompts

    src = ast.get_source_segment(code, fn) or ast.unparse(fn)
    inp = {"code": src, "style": style}
    try:
        raw = generator.generate(prompts.build_prompt("documentation", inp), n=n,
                                 max_new_tokens=64, stop=prompts.STOP["documentation"],
                                 deadline_s=deadline_s, cancel=cancel)
    except Exception:
        return []
    out = []
    for text in raw:
        text = prompts.parse_output("documentation", text, inp).strip().strip('"').strip()
        first = text.split("\n")[0].strip()
        if _SENTENCE.match(first) and first not in out and _about(first, fn):
            out.append(first)
    return out


def _about(summary: str, fn: ast.AST) -> bool:
    """Relevance of a model summary: it names something the function has (a word of its name,
    a parameter, a method it calls, a column it reads) — not a sentence about anything."""
    own: set[str] = set(re.split(r"_+", getattr(fn, "name", "").lower()))
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            own |= set(node.arg.lower().split("_"))
        elif isinstance(node, ast.Attribute):
            own |= set(node.attr.lower().split("_"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            own |= set(re.findall(r"[a-z]+", node.value.lower()))
    own = {w.rstrip("s") for w in own if len(w) >= 3}
    if not own:  # `def f(a)`: nothing to judge the summary by
        return True
    words = {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", summary.lower())}
    return bool(words & own)


def function_lines(code: str) -> list[tuple[int, str]]:
    """(0-based def line, name) for every function: where the code action is offered."""
    from ibert_lsp.pysource import parse_shared

    tree, _ = parse_shared(code)
    if tree is None:
        return []
    return [(n.lineno - 1, n.name) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


__all__ = [
    "DocError",
    "DocResult",
    "docstrings",
    "documented_names",
    "find_function",
    "function_lines",
    "generate_docstring",
    "skeleton",
    "textwrap",
]
