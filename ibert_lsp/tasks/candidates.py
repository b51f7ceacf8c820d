"""Model candidates for the six tasks, checked by the gate (ibert_lsp.validate), best first.

`model_candidates` builds the task's prompt (ibert_lsp.prompting.prompts, the one place prompts are
made), asks the Generator for n candidates and parses them (stop, special tokens, literals).
`check(task, inp, context, text)` is the gate for one candidate:

| task             | accepted when                                                          |
|------------------|------------------------------------------------------------------------|
| sql_to_ibis      | the code gives the same rows as the SQL on DuckDB (check_sql_vs_ibis)  |
| ibis_to_sql      | the SQL gives the same rows as the input Ibis code                     |
| code_completion  | prefix + completion + suffix evaluates through the gate                |
| error_resolution | the fixed code evaluates through the gate (the error is gone)          |
| qa               | every code block / inline code in the answer evaluates                 |
| documentation    | non-empty; documented parameters are the function's parameters        |

and, for the last four, the relevance check (ibert_lsp.tasks.relevance): a fix keeps the
input's tables and operations within a bounded edit, a completion agrees with the suffix, an
answer uses an API retrieval ranks relevant, a docstring describes every parameter and the
return value. What fails relevance is refused like what fails the gate.

`gated_candidates` returns only accepted candidates (in the generator's order, best first).
`make_sql_fallback(generator)` makes the fallback the SQL->Ibis translator calls when its
deterministic engine abstains.
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass

from ibert_lsp.model.protocol import Generator
from ibert_lsp.prompting import literals, prompts
from ibert_lsp.tasks.relevance import Verdict

# Candidates the CLI and the SQL->Ibis fallback ask the model for: the first the gate accepts is
# the answer (the eval's gated@8 measures exactly this). Editor requests made while typing
# (inline completion, quick fixes) ask for 3 to stay within their latency budget (gated@3).
CANDIDATES = 8
INTERACTIVE_CANDIDATES = 3

MAX_NEW_TOKENS = {
    "code_completion": 48,
    "ibis_to_sql": 160,
    "sql_to_ibis": 128,
    "error_resolution": 160,
    "qa": 160,
    "documentation": 160,
}


@dataclass
class Checked:
    text: str
    verdict: Verdict


def schemas_of(context: dict | None) -> dict:
    """Schemas ({table: {col: type}}) from a record/task context; {} when there are none."""
    from ibert_lsp.schema.types import normalize_schemas

    tables = (context or {}).get("tables") or {}
    if not tables:
        return {}
    try:
        return normalize_schemas(tables)
    except Exception:
        return {}


def model_candidates(
    generator: Generator,
    task: str,
    inp: dict,
    context: dict | None = None,
    *,
    n: int = 4,
    max_new_tokens: int | None = None,
    temperature: float = 0.0,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
) -> list[str]:
    """Parsed (not yet checked) candidates, best first, duplicates and empties removed."""
    prompt = prompts.build_prompt(task, inp, context)
    raw = generator.generate(
        prompt,
        n=n,
        max_new_tokens=max_new_tokens or MAX_NEW_TOKENS[task],
        stop=prompts.STOP[task],
        temperature=temperature,
        deadline_s=deadline_s,
        cancel=cancel,
    )
    out: list[str] = []
    for text in raw:
        try:
            parsed = prompts.parse_output(task, text, inp, context)
        except literals.UnknownPlaceholder:
            continue
        if parsed.strip() and parsed not in out:
            out.append(parsed)
    return out


# ------------------------------------------------------------------------------- the gate
def _gate_eval(code: str, schemas: dict) -> Verdict:
    from ibert_lsp.validate.errors import GateError
    from ibert_lsp.validate.safe_eval import evaluate

    try:
        evaluate(code, schemas)
    except GateError as exc:
        return Verdict(False, f"{exc.kind}: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - the gate must not crash the caller
        return Verdict(False, f"gate: {type(exc).__name__}: {exc}")
    return Verdict(True, "evaluates")


def _sql_vs_ibis(sql: str, code: str, schemas: dict, dialect: str = "duckdb") -> Verdict:
    try:
        from ibert_lsp.validate.equivalence import check_sql_vs_ibis
    except ImportError:
        return Verdict(False, "equivalence check unavailable")
    try:
        v = check_sql_vs_ibis(sql, code, schemas, dialect=dialect)
    except Exception as exc:  # noqa: BLE001
        return Verdict(False, f"gate: {type(exc).__name__}: {exc}")
    return Verdict(bool(v.ok), v.reason, dict(getattr(v, "checks", {}) or {}))


_FENCE = re.compile(r"```(?:python|py)?\n(.*?)```", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")


def code_in_text(text: str, names: set[str]) -> list[str]:
    """Code snippets in free text: fenced blocks, and inline code that calls or uses a table."""
    blocks = [b.strip() for b in _FENCE.findall(text) if b.strip()]
    rest = _FENCE.sub("", text)
    for snippet in _INLINE.findall(rest):
        s = snippet.strip()
        if "(" not in s and "." not in s:
            continue
        try:
            tree = ast.parse(s, mode="eval")
        except SyntaxError:
            continue
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        if used & names:
            blocks.append(s)
    return blocks


def _check_docstring(code: str, docstring: str) -> Verdict:
    if not docstring.strip():
        return Verdict(False, "empty docstring")
    if '"""' in docstring:
        return Verdict(False, "docstring contains triple quotes")
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Verdict(True, f"code does not parse ({exc.msg}); docstring not checked")
    fn = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
              None)
    if fn is None:
        return Verdict(True, "no function to check the docstring against")
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
    if fn.args.vararg:
        params.add(fn.args.vararg.arg)
    if fn.args.kwarg:
        params.add(fn.args.kwarg.arg)
    params -= {"self", "cls"}
    documented = set()
    lines = docstring.splitlines()
    section = None
    for i, line in enumerate(lines):
        s = line.strip()
        if s in ("Args:", "Arguments:", "Parameters:", "Parameters"):
            section = "params"
            continue
        if s.endswith(":") and s[:-1] in ("Returns", "Raises", "Yields", "Examples", "Example"):
            section = None
            continue
        if s in ("Returns", "Raises", "Yields", "Examples"):
            section = None
            continue
        if section == "params" and s and not set(s) <= {"-"}:
            m = re.match(r"^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(\(|:|$)", s)
            indent = len(line) - len(line.lstrip())
            if m and (indent <= 4 or m.group(2) == ":"):
                documented.add(m.group(1))
    unknown = documented - params
    if unknown:
        return Verdict(False, f"documents unknown parameters: {', '.join(sorted(unknown))}")
    return Verdict(True, "names match", {"documented": sorted(documented)})


def check(task: str, inp: dict, context: dict | None, text: str, *,
          dialect: str | None = None) -> Verdict:
    """The gate for one parsed candidate of a task (`dialect`: of the SQL, default the
    input's `dialect` or duckdb)."""
    schemas = schemas_of(context)
    dialect = inp.get("dialect") or dialect or "duckdb"
    if task == "sql_to_ibis":
        if not schemas:
            return Verdict(False, "no schemas to check against")
        return _sql_vs_ibis(inp["sql"], text, schemas, dialect)
    if task == "ibis_to_sql":
        if not schemas:
            return Verdict(False, "no schemas to check against")
        return _sql_vs_ibis(text, inp["ibis"], schemas, dialect)
    from ibert_lsp.tasks import relevance

    if task == "code_completion":
        rel = relevance.completion_verdict("", text, inp.get("suffix", ""))
        if not rel.ok:
            return rel
        code = inp.get("prefix", "") + text + inp.get("suffix", "")
        return _gate_eval(code, schemas)
    if task == "error_resolution":
        rel = relevance.fix_verdict(str(inp.get("code", "")), text, set(schemas))
        if not rel.ok:
            return rel
        v = _gate_eval(text, schemas)
        return Verdict(True, f"{v.reason}; {rel.reason}", rel.checks) if v.ok else v
    if task == "qa":
        names = set(schemas) | {"ibis", "_"}
        snippets = code_in_text(text, names)
        for s in snippets:
            v = _gate_eval(s, schemas)
            if not v.ok:
                return Verdict(False, f"code in the answer fails: {v.reason}", {"code": s})
        rel = relevance.qa_verdict(str(inp.get("question", "")), snippets, schemas or None,
                                   text=text)
        if not rel.ok:
            return rel
        return Verdict(True, ("code passes; " if snippets else "") + rel.reason,
                       {"snippets": len(snippets), **rel.checks})
    if task == "documentation":
        v = _check_docstring(inp.get("code", ""), text)
        if not v.ok:
            return v
        rel = relevance.doc_verdict(inp.get("code", ""), text)
        return Verdict(True, f"{v.reason}; {rel.reason}", v.checks) if rel.ok else rel
    raise ValueError(f"unknown task {task!r}")


def checked_candidates(generator: Generator, task: str, inp: dict, context: dict | None = None,
                       **kwargs) -> list[Checked]:
    """Every parsed candidate with its verdict, accepted ones first, in the generator's order
    (error fixes: closest edit first, `closest_first`)."""
    texts = model_candidates(generator, task, inp, context, **kwargs)
    if task == "error_resolution":
        from ibert_lsp.tasks.relevance import closest_first

        texts = closest_first(str(inp.get("code", "")), texts)
    checked = [Checked(c, check(task, inp, context, c)) for c in texts]
    return sorted(checked, key=lambda c: not c.verdict.ok)


def gated_candidates(generator: Generator, task: str, inp: dict, context: dict | None = None,
                     **kwargs) -> list[str]:
    """Only the candidates the gate accepts, best first."""
    return [c.text for c in checked_candidates(generator, task, inp, context, **kwargs)
            if c.verdict.ok]


def make_sql_fallback(generator: Generator, *, n: int = CANDIDATES,
                      deadline_s: float | None = 10.0):
    """A fallback for `tasks.sql_to_ibis.translate`: (sql, schemas, dialect=...) -> candidates.

    The candidates are the model's, parsed and with literals restored, best first; the
    translator verifies them (they are untrusted). With `verified_only=True` the function itself
    returns only those the gate accepts.
    """

    def fallback(sql: str, schemas: dict, dialect: str = "duckdb", *, verified_only: bool = False,
                 cancel: threading.Event | None = None, **_ignored) -> list[str]:
        context = {"tables": {t: {"schema": cols} for t, cols in (schemas or {}).items()}}
        inp = {"sql": sql, "dialect": dialect}
        cands = model_candidates(generator, "sql_to_ibis", inp, context, n=n,
                                 deadline_s=deadline_s, cancel=cancel)
        if verified_only:
            cands = [c for c in cands if check("sql_to_ibis", inp, context, c).ok]
        return cands

    return fallback
