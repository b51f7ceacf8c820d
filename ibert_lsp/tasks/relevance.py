"""Relevance: an answer that passes the gate must also fit the question it answers.

The gate (ibert_lsp.validate) says an answer is *safe and valid* (it compiles, it runs, the error
is gone). It does not say the answer is *about the question*: `trips.select(trips.fare).distinct()`
evaluates, yet it is no fix for `trips.filter(trips.fair > 10)`. These checks run wherever an
answer is shown — the CLI (`ibert complete | fix | qa | doc`) and the editor (quick fixes, hover
Q&A, docstrings, completion items) — and what fails them is not shown, exactly like what fails the
gate. Every check returns a `Verdict` whose reason says why an answer was kept or dropped.

| task       | relevant when                                                                    |
|------------|----------------------------------------------------------------------------------|
| fix        | keeps the statement's tables, adds no operation the input lacked, bounded edit     |
| completion | continues the identifier typed before the cursor; agrees with the text after it |
| qa         | its code uses an API retrieval ranks relevant; runs on the user's tables         |
| doc        | documents every parameter, and the return value when the function returns one   |
"""

from __future__ import annotations

import ast
import difflib
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """Whether a candidate is accepted, why not, and the measurements behind the answer."""

    ok: bool
    reason: str = ""
    checks: dict = field(default_factory=dict)

# A fix may change at most this share of the statement (and always at least MIN_EDIT chars):
# a rename of a column or a literal's type is a few characters; a rewrite is another question.
MAX_EDIT_SHARE = 0.5
MIN_EDIT = 16
# Retrieval hits a Q&A answer's code must use one of.
QA_TOP_K = 6


# ------------------------------------------------------------------------------ helpers
def _parse(code: str) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return None


def operations(tree: ast.AST) -> Counter:
    """What a piece of code *does*: the called method/function names, and `[...]` indexing by
    anything but a column name."""
    ops: Counter = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                ops[f.attr] += 1
            elif isinstance(f, ast.Name):
                ops[f.id] += 1
        elif isinstance(node, ast.Subscript) and not (
                isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (str, int))):
            ops["[]"] += 1  # `t[cond]` is an operation; `t["col"]` is `t.col`, a column
    return ops


def names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def edit_distance(a: str, b: str) -> int:
    """Characters inserted plus deleted to turn `a` into `b` (difflib's matching blocks)."""
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    same = sum(m.size for m in sm.get_matching_blocks())
    return len(a) + len(b) - 2 * same


# ------------------------------------------------------------------------------ fixes
def fix_verdict(original: str, fixed: str, tables: set[str] | None = None) -> Verdict:
    """Is `fixed` a fix *of* `original` (both one statement or block of code)?

    `tables`: known table names (the statement's tables are those of its names that are known
    tables; without any, every plain name counts). Operations may be *replaced* (a pandas method
    by its Ibis name, `t[cond]` by `t.filter(cond)`), never added on top.
    """
    a, b = _parse(original), _parse(fixed)
    if b is None:
        return Verdict(False, "not relevant: the fix does not parse")
    if a is None:  # the input itself does not parse: only the edit bound applies
        old_ops: Counter = Counter()
        old_names: set[str] = set()
    else:
        old_ops, old_names = operations(a), names(a)
    new_ops, new_names = operations(b), names(b)
    checks: dict[str, Any] = {}
    if a is not None:
        known = set(tables or ())
        old_t = old_names & known if known else old_names
        new_t = new_names & known if known else new_names
        if old_t - new_t:
            return Verdict(False, f"not relevant: drops table {', '.join(sorted(old_t - new_t))}")
        if known and new_t - old_t:
            return Verdict(False, f"not relevant: adds table {', '.join(sorted(new_t - old_t))}")
        added, removed = new_ops - old_ops, old_ops - new_ops
        if sum(added.values()) > sum(removed.values()):
            extra = ", ".join(sorted(added))
            return Verdict(False, f"not relevant: adds operations the input did not have ({extra})")
        checks["tables"] = sorted(old_t)
    dist = edit_distance(original.strip(), fixed.strip())
    bound = max(MIN_EDIT, int(MAX_EDIT_SHARE * len(original.strip())))
    checks["edit_distance"] = dist
    if dist > bound:
        return Verdict(False, f"not relevant: rewrites too much ({dist} > {bound} characters)",
                       checks)
    return Verdict(True, f"keeps the tables and operations; {dist}-character edit", checks)


def closest_first(original: str, texts: list[str]) -> list[str]:
    """`texts` ordered by edit distance to `original` (stable): a fix should change as little
    of the user's code as it can, while the model's likeliest fix may rewrite it."""
    return sorted(texts, key=lambda t: edit_distance(original, t))


# ------------------------------------------------------------------------------ completion
_OPENER = {")": "(", "]": "[", "}": "{"}


def closers(prefix: str, suffix: str = "") -> str:
    """The closing brackets the statement at the end of `prefix` still needs after `suffix`'s
    own (what makes `order_by("fare"` a whole call)."""
    from ibert_lsp.pysource import CLOSER, open_brackets

    stack = open_brackets(prefix.split("\n")[-1] if "\n" not in prefix.rstrip() else prefix)
    need = "".join(CLOSER[c] for c, _ in reversed(stack))
    have = re.match(r"[\s)\]}]*", suffix).group(0).replace(" ", "") if suffix else ""
    for ch in have:
        if need and need[0] == ch:
            need = need[1:]
    return need


def completion_verdict(typed: str, insert_text: str, suffix: str = "") -> Verdict:
    """Does `insert_text` (replacing the identifier `typed` before the cursor) continue what was
    typed, and agree with the text after the cursor?"""
    if not insert_text.strip():
        return Verdict(False, "not relevant: empty")
    if typed and not (insert_text.startswith(typed) or insert_text.lower().startswith(
            typed.lower()) or insert_text.strip("\"'").startswith(typed)):
        return Verdict(False, f"not relevant: does not continue `{typed}`")
    rest = suffix.lstrip(" \t")
    first = rest[:1]
    # the text closes a bracket the suffix closes too: one of them would be left over
    if first and first in ")]}" and insert_text.rstrip().endswith(first) and (
            insert_text.count(first) > insert_text.count(_OPENER[first])):
        return Verdict(False, f"not relevant: repeats the `{first}` after the cursor")
    tail = rest.split("\n")[0].strip()
    if tail and len(tail) >= 3 and insert_text.rstrip().endswith(tail):
        return Verdict(False, "not relevant: repeats the text after the cursor")
    return Verdict(True, "continues the prefix, agrees with the suffix")


# Inside these calls a column's method must give what the call takes: a reduction inside
# `agg(...)`, a condition inside `filter(...)`; the usual ones first.
_CALL_WANTS: dict[str, tuple[re.Pattern, tuple[str, ...]]] = {
    "agg": (re.compile(r"->\s*'?[\w.]*Scalar'?\s*$"),
            ("sum", "mean", "count", "max", "min", "nunique", "median", "first")),
    "filter": (re.compile(r"->\s*'?[\w.]*Boolean\w*'?\s*$"),
               ("isin", "notnull", "isnull", "between", "contains", "startswith", "like")),
}
_CALL_WANTS["aggregate"] = _CALL_WANTS["agg"]
_CALL_WANTS["having"] = _CALL_WANTS["agg"]


def _enclosing_call(code: str, line: int, character: int) -> str | None:
    """The method whose argument list holds the cursor (`agg` in `t.agg(x=t.a.|`)."""
    from ibert_lsp.prompting.statements import statement_start
    from ibert_lsp.tasks.cursor import innermost_callee

    lines = code.split("\n")
    first = statement_start(lines, line)
    return innermost_callee("\n".join(lines[first:line] + [lines[line][:character]])) or None


def in_context_first(code: str, line: int, character: int, cands: list) -> list:
    """Column methods that give what the enclosing call takes come first (stable): a reduction
    continues `agg(total=t.amount.` better than `abs`."""
    if not cands or not all(c.kind in ("method", "attribute", "column") for c in cands):
        return cands
    want = _CALL_WANTS.get(_enclosing_call(code, line, character) or "")
    if want is None:
        return cands
    pattern, usual = want

    def key(c) -> tuple[int, int]:
        if c.label in usual:
            return (0, usual.index(c.label))
        return (1, 0) if pattern.search(c.detail or "") else (2, 0)

    return sorted(cands, key=key)


def relevant_completions(code: str, line: int, character: int, cands: list) -> list:
    """Completion candidates (tasks.completion.Candidate) that pass `completion_verdict`, those
    that fit the enclosing call first (`in_context_first`): what the editor and the CLI show."""
    lines = code.split("\n")
    if line >= len(lines):
        return []
    cur = lines[line]
    after = cur[character:]  # the verdict reads only the rest of this line
    out = []
    for c in cands:
        start = c.replace_start if c.replace_start is not None else character
        typed = cur[start:character]
        if completion_verdict(typed, c.insert_text, after).ok:
            out.append(c)
    return in_context_first(code, line, character, out)


# ------------------------------------------------------------------------------ Q&A
# How people ask for an operation without naming it: appended to the retrieval query.
_PHRASES: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\b(how many|number of)\b", re.IGNORECASE), "count"),
    (re.compile(r"\b(per|for each|each|every)\s+\w", re.IGNORECASE), "group_by"),
    (re.compile(r"\b(over|above|greater than|more than|less than|under|below|at least|at most"
                r"|cheaper than|more expensive than|where|only|keep)\b", re.IGNORECASE), "filter"),
    (re.compile(r"\b(top|highest|largest|biggest|lowest|smallest)\s+\d", re.IGNORECASE),
     "order_by limit"),
    (re.compile(r"\b(sorted|sort|descending|ascending|ordered)\b", re.IGNORECASE), "order_by"),
    (re.compile(r"\b(convert|change|turn|make)\b.*\b(to|into)\s+(an?\s+)?(string|str|text|"
                r"int|integer|float|number|numeric|date|timestamp|decimal|boolean)s?\b",
                re.IGNORECASE), "cast"),
]


def retrieval_query(question: str) -> str:
    """`question` plus the operations its wording implies ("how many" -> count, "per city" ->
    group_by), so retrieval ranks the APIs a plain-language question needs."""
    extra = [w for pat, w in _PHRASES if pat.search(question)]
    return question + (" " + " ".join(extra) if extra else "")


def relevant_api(question: str, k: int = QA_TOP_K) -> list[str]:
    """API names retrieval ranks relevant to `question`, best first."""
    from ibert_lsp.tasks import retrieval

    return [d.name for _, d in retrieval.search(retrieval_query(question), k=k)]


def qa_verdict(question: str, code: list[str], schemas: dict | None = None, *,
               text: str = "", api: list[str] | None = None) -> Verdict:
    """Is an answer (its `code` snippets, its `text`) about what `question` asks?

    The code must call an API among the retrieval hits for the question (or, without code, the
    text must name one), and — when the user's tables are known — use one of them and evaluate
    against them through the gate."""
    api = relevant_api(question) if api is None else api
    if not api:
        return Verdict(False, "not relevant: retrieval finds no Ibis API for the question")
    if not code:
        named = [a for a in api if re.search(rf"\b{re.escape(a)}\b", text)]
        if named:
            return Verdict(True, f"names `{named[0]}`, which retrieval ranks relevant",
                           {"api": named})
        return Verdict(False, "not relevant: names no API retrieval ranks relevant")
    used: Counter = Counter()
    tabs: set[str] = set()
    for c in code:
        tree = _parse(c)
        if tree is None:
            return Verdict(False, "not relevant: code does not parse")
        used += operations(tree)
        tabs |= names(tree)
    hit = [a for a in api if a in used]
    if not hit:
        return Verdict(False, "not relevant: the code uses none of "
                       + ", ".join(f"`{a}`" for a in api[:4]))
    if schemas:
        if not tabs & set(schemas):
            return Verdict(False, "not relevant: the code uses none of your tables")
        from ibert_lsp.tasks.analysis import gate_eval

        for c in code:
            try:
                gate_eval(textwrap.dedent(c).strip(), schemas)
            except Exception as exc:  # noqa: BLE001 - any failure means: not shown
                return Verdict(False, f"code fails on your tables: {str(exc)[:120]}")
        return Verdict(True, f"uses `{hit[0]}` (retrieval-ranked) and runs on your tables",
                       {"api": hit})
    return Verdict(True, f"uses `{hit[0]}` (retrieval-ranked)", {"api": hit})


# ------------------------------------------------------------------------------ docstrings
def _function(code: str, name: str | None = None) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    tree = _parse(code)
    if tree is None:
        return None
    return next((n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and (name is None or n.name == name)), None)


def params_of(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    out = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if a.vararg:
        out.append(a.vararg.arg)
    if a.kwarg:
        out.append(a.kwarg.arg)
    return [p for p in out if p not in ("self", "cls")]


def returns_value(fn: ast.AST) -> bool:
    if getattr(fn, "returns", None) is not None and ast.unparse(fn.returns) != "None":
        return True
    return any(isinstance(n, ast.Return) and n.value is not None
               and not (isinstance(n.value, ast.Constant) and n.value.value is None)
               for n in ast.walk(fn))


def doc_verdict(code: str, docstring: str, name: str | None = None) -> Verdict:
    """Does `docstring` describe every parameter of the function `name` (default: the first) in
    `code`, and its return value when it returns one?"""
    fn = _function(code, name)
    if fn is None:
        return Verdict(True, "no function to compare with")
    missing = [p for p in params_of(fn)
               if not re.search(rf"(^|\n)\s*\**{re.escape(p)}\s*(\(|:|\n|$)", docstring)]
    if missing:
        return Verdict(False, "not relevant: does not describe "
                       + ", ".join(f"`{p}`" for p in missing))
    if returns_value(fn) and not re.search(r"(^|\n)\s*(Returns|Yields)\s*:?\s*\n", docstring):
        return Verdict(False, "not relevant: does not describe the return value")
    return Verdict(True, "describes every parameter" + (" and the return value"
                                                         if returns_value(fn) else ""))
