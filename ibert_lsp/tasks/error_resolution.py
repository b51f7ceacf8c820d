"""Error resolution: find what is wrong in Ibis code and propose fixes that are checked.

`diagnose(code, schemas)` lists the problems (gate errors placed in the document plus pandas
idioms). `fixes(code, schemas, problem)` proposes replacements for the statement that holds the
problem: rule fixes first (nearest column by difflib, literal types, pandas idioms), then model
fixes; a fix is kept only when the fixed statement passes the gate and the problem is gone.

Positions are LSP-style (0-based lines and characters).
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
import threading
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.analysis import PANDAS_METHODS, Analysis, Problem, analyze
from ibert_lsp.tasks.relevance import fix_verdict


@dataclass
class Fix:
    title: str
    # replace lines [line, end_line] (0-based, inclusive) of the document with `new_text`
    line: int
    end_line: int
    new_text: str
    source: str  # rule | model
    problem: Problem | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def apply(self, code: str) -> str:
        lines = code.split("\n")
        return "\n".join(lines[: self.line] + self.new_text.split("\n") + lines[self.end_line + 1:])

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "line": self.line, "end_line": self.end_line,
                "new_text": self.new_text, "source": self.source,
                "why": self.data.get("why", "")}


def diagnose(code: str, schemas: Schemas) -> list[Problem]:
    """Problems in the Ibis statements of `code` (schemas: known tables; the document's own
    `ibis.table(...)` declarations are added by the caller or found here)."""
    return analyze(code, _with_document_schemas(code, schemas)).problems


def _with_document_schemas(code: str, schemas: Schemas) -> Schemas:
    try:
        from ibert_lsp.schema.sources import from_python_source

        return {**schemas, **from_python_source(code)}
    except Exception:
        return dict(schemas)


def _statement_lines(code: str, problem: Problem) -> tuple[int, int, str]:
    lines = code.split("\n")
    a, b = problem.stmt_line, max(problem.stmt_end_line, problem.stmt_line)
    return a, b, "\n".join(lines[a: b + 1])


def _span_text(code: str, p: Problem) -> str:
    lines = code.split("\n")
    if p.line == p.end_line:
        return lines[p.line][p.col: p.end_col]
    return "\n".join([lines[p.line][p.col:]] + lines[p.line + 1: p.end_line]
                     + [lines[p.end_line][: p.end_col]])


def _replace_span(code: str, p: Problem, old: str, new: str, last: bool = True) -> str | None:
    """Document with the (last) occurrence of `old` inside the problem's span replaced."""
    lines = code.split("\n")
    offs = [0]
    for ln in lines:
        offs.append(offs[-1] + len(ln) + 1)
    a = offs[p.line] + p.col
    b = offs[p.end_line] + p.end_col
    span = code[a:b]
    pat = re.compile(r"(?<![\w])" + re.escape(old) + r"(?![\w])")
    matches = list(pat.finditer(span))
    if not matches:
        return None
    m = matches[-1] if last else matches[0]
    start, end, text = _quoted_replacement(code, a + m.start(), a + m.end(), new)
    if text is None:
        return None
    return code[:start] + text + code[end:]


def _quoted_replacement(code: str, start: int, end: int, new: str) -> tuple[int, int, str | None]:
    """How `new` (a suggestion from a schema: untrusted) replaces code[start:end] through the
    quoting layer: inside a string literal the whole literal is rewritten with repr; after a dot
    a non-plain name becomes `["new"]` (dot included); a bare name must be a plain name."""
    from ibert_lsp.tasks.codebuild import is_name, pystr

    before, after = code[start - 1: start], code[end: end + 1]
    if before in ("'", '"') and after == before:
        if code[start - 2: start - 1].isalpha():  # r"", f"", b"": repr's escapes mean other things
            return start, end, new if is_name(new) else None
        return start - 1, end + 1, pystr(new) if before == '"' else repr(new)
    if is_name(new):
        return start, end, new
    if before == ".":
        return start - 1, end, f"[{pystr(new)}]"
    return start, end, None


def _columns(schemas: Schemas) -> list[str]:
    out: list[str] = []
    for cols in schemas.values():
        out += [c for c in cols if c not in out]
    return out


def _rule_candidates(code: str, schemas: Schemas, p: Problem, env: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, new document) pairs proposed by rules for problem `p`."""
    out: list[tuple[str, str]] = []
    name = p.data.get("name")
    if p.code in ("unknown-column", "unknown-attribute", "pandas-method") and name:
        # only names that look like what was typed: a far-fetched column is a wrong fix that
        # happens to compile
        sugg = [s for s in p.suggestions if p.code == "pandas-method" or _similar(name, s)]
        if not sugg:
            pool = _columns(schemas)
            sugg = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
        for s in sugg[:3]:
            new = _replace_span(code, p, name, s)
            if new:
                what = "method" if p.code == "pandas-method" else "column"
                out.append((f"Replace `{name}` with {what} `{s}`", new))
    if p.code == "pandas-filter":
        new = _pandas_filter_fix(code, p)
        if new:
            out.append(("Use `.filter(...)` instead of pandas-style indexing", new))
    if p.kind == "type":
        for title, new in _literal_fixes(code, p):
            out.append((title, new))
    if p.kind == "name" and name:
        pool = list(env) + list(schemas)
        for s in difflib.get_close_matches(name, pool, n=2, cutoff=0.6):
            new = _replace_span(code, p, name, s)
            if new:
                out.append((f"Replace `{name}` with `{s}`", new))
    return out


def _similar(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _pandas_filter_fix(code: str, p: Problem) -> str | None:
    span = _span_text(code, p)
    try:
        node = ast.parse(span, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Subscript):
        return None
    base = ast.get_source_segment(span, node.value)
    cond = ast.get_source_segment(span, node.slice)
    if base is None or cond is None:
        return None
    lines = code.split("\n")
    offs = [0]
    for ln in lines:
        offs.append(offs[-1] + len(ln) + 1)
    a = offs[p.line] + p.col
    b = offs[p.end_line] + p.end_col
    return code[:a] + f"{base}.filter({cond})" + code[b:]


_NUM = re.compile(r"^-?\d+(\.\d+)?$")


def _literal_fixes(code: str, p: Problem) -> list[tuple[str, str]]:
    """Change the type of literals compared with a column of another type."""
    a, b = p.stmt_line, p.stmt_end_line
    lines = code.split("\n")
    block = "\n".join(lines[a: b + 1])
    ded = textwrap.dedent(block)
    indent = len(block) - len(block.lstrip(" ")) if block.strip() else 0
    try:
        tree = ast.parse(ded)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        for c in [node.left, *node.comparators]:
            if not isinstance(c, ast.Constant):
                continue
            v = c.value
            if isinstance(v, str) and _NUM.match(v.strip()):
                new_lit = v.strip()
                title = f"Compare with the number {new_lit} instead of the string {v!r}"
            elif isinstance(v, str) and v.lower() in ("true", "false"):
                new_lit = "True" if v.lower() == "true" else "False"
                title = f"Compare with {new_lit} instead of the string {v!r}"
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                new_lit = repr(str(v))
                title = f"Compare with the string {new_lit} instead of the number {v!r}"
            elif isinstance(v, str):
                # a string compared with a numeric column: the number it names, if any
                digits = re.findall(r"-?\d+(?:\.\d+)?", v)
                if not digits:
                    continue
                new_lit = digits[0]
                title = f"Compare with the number {new_lit} instead of the string {v!r}"
            else:
                continue
            ded_lines = ded.split("\n")
            ln = c.lineno - 1
            row = ded_lines[ln]
            if c.lineno == c.end_lineno:  # ast columns are UTF-8 byte offsets
                raw = row.encode()
                ded_lines[ln] = (raw[: c.col_offset].decode(errors="replace") + new_lit
                                 + raw[c.end_col_offset:].decode(errors="replace"))
            new_block = textwrap.indent("\n".join(ded_lines), " " * indent) if indent else (
                "\n".join(ded_lines))
            out.append((title, "\n".join(lines[:a] + new_block.split("\n") + lines[b + 1:])))
    return out


def _statement_ok(new_code: str, p: Problem, schemas: Schemas, env: dict[str, Any],
                  n_lines_delta: int = 0) -> bool:
    """The statement that held `p` passes the gate in `new_code` and no problem is left in it."""
    lines = new_code.split("\n")
    a = p.stmt_line
    b = p.stmt_end_line + n_lines_delta
    block = "\n".join(lines[a: b + 1])
    ded = textwrap.dedent(block)
    try:
        ast.parse(ded)
    except SyntaxError:
        return False
    an = analyze(ded, schemas, env=env)
    if an.problems or not an.statements:
        return False
    return True


def fixes(
    code: str,
    schemas: Schemas,
    problem: Problem | None = None,
    *,
    analysis: Analysis | None = None,
    generator: Any = None,
    n_model: int = 3,
    max_new_tokens: int = 96,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
    max_fixes: int = 4,
) -> list[Fix]:
    """Checked fixes for `problem` (default: the first problem in `code`), best first."""
    schemas = _with_document_schemas(code, schemas)
    an = analysis or analyze(code, schemas)
    if problem is None:
        if not an.problems:
            return []
        problem = an.problems[0]
    env = an.env_before(problem.stmt_line)
    out: list[Fix] = []
    seen: set[str] = set()
    old_lines = code.split("\n")
    a, b = problem.stmt_line, problem.stmt_end_line
    old_block = "\n".join(old_lines[a: b + 1])

    def consider(title: str, new_code: str, source: str) -> None:
        if len(out) >= max_fixes or new_code == code:
            return
        new_lines = new_code.split("\n")
        delta = len(new_lines) - len(old_lines)
        new_block = "\n".join(new_lines[a: b + 1 + delta])
        if new_block in seen:
            return
        seen.add(new_block)
        if not _statement_ok(new_code, problem, schemas, env, delta):
            return
        rel = fix_verdict(old_block, new_block, set(schemas) | set(env))
        if rel.ok:
            out.append(Fix(title, a, b, new_block, source, problem,
                           {"why": f"the error is gone; {rel.reason}",
                            "edit_distance": rel.checks.get("edit_distance", 0)}))

    for title, new_code in _rule_candidates(code, schemas, problem, env):
        consider(title, new_code, "rule")
    if generator is not None and len(out) < max_fixes and not (cancel and cancel.is_set()):
        from ibert_lsp.tasks.relevance import closest_first

        found = model_fixes(code, schemas, problem, generator, n=n_model,
                            max_new_tokens=max_new_tokens, deadline_s=deadline_s, cancel=cancel)
        for new_block in closest_first("\n".join(old_lines[a: b + 1]), found):
            new_code = "\n".join(old_lines[:a] + new_block.split("\n") + old_lines[b + 1:])
            consider("Apply the model's fix", new_code, "model")
    # closest first: a fix should change as little of the user's code as it can
    return sorted(out, key=lambda f: f.data.get("edit_distance", 0))


def model_fixes(code: str, schemas: Schemas, problem: Problem, generator: Any, *, n: int = 3,
                max_new_tokens: int = 96, deadline_s: float | None = None,
                cancel: threading.Event | None = None) -> list[str]:
    """Candidate replacement statements from the model (unchecked: `fixes` checks them)."""
    from ibert_lsp.prompting import prompts

    a, b, block = _statement_lines(code, problem)
    indent = len(block) - len(block.lstrip(" "))
    inp = {"code": textwrap.dedent(block), "error": problem.message}
    context = {"tables": {k: dict(v) for k, v in schemas.items()}}
    prompt = prompts.build_prompt("error_resolution", inp, context)
    try:
        raw = generator.generate(prompt, n=n, max_new_tokens=max_new_tokens,
                                 stop=prompts.STOP["error_resolution"], deadline_s=deadline_s,
                                 cancel=cancel)
    except Exception:
        return []
    out = []
    for text in raw:
        fixed = prompts.parse_output("error_resolution", text, inp, context).strip("\n")
        if not fixed.strip():
            continue
        # the model may answer with only the expression: keep the assignment target
        target = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)", block)
        if target and not re.match(r"^\s*[A-Za-z_]\w*\s*=(?!=)", fixed):
            fixed = f"{target.group(1)} = {fixed.strip()}"
        out.append(textwrap.indent(fixed, " " * indent) if indent else fixed)
    return out


__all__ = ["PANDAS_METHODS", "Fix", "Problem", "diagnose", "fixes", "model_fixes"]
