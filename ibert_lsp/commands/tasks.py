"""`ibert complete | fix | qa | doc`: the editor's task engines on files or stdin.

One code path with the editor: each command calls the same task functions the language server
calls (tasks.completion / tasks.operands, tasks.error_resolution, tasks.qa, tasks.documentation)
— deterministic engines first, the model's candidates after — and every answer has passed the gate
and the relevance check (tasks.relevance) before it is printed, best first. `--json` says where
each answer came from (`source`: rule, columns, retrieval, model, ...) and why it was accepted
(`reason`). `--unchecked` also prints the model candidates that were refused, with the reason.
The model is the default one (installed, else the one shipped with ibert) or `--model DIR`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

from ibert_lsp.commands.io import add_schema_options, read_input
from ibert_lsp.errors import IbertError
from ibert_lsp.tasks.candidates import CANDIDATES

# The model is asked when the deterministic engines found fewer answers than this (fixes: when
# the rules found none, as the editor's quick fix does).
ENOUGH = 3
# Completion answers printed at most (the deterministic engine lists every member).
MAX_SHOWN = 10


@dataclass
class Shown:
    """One answer as the CLI prints it."""

    text: str
    source: str  # rule | columns | members | operands | names | retrieval | model ...
    reason: str  # why it was accepted (or, with --unchecked, refused)
    accepted: bool = True


def _common(p: argparse.ArgumentParser, n: int = CANDIDATES) -> None:
    """`n`: model candidates for the code tasks (what `ibert eval` reports as gated@8); fewer
    for the free-text tasks, where the gate picks less."""
    p.add_argument("--model", help="model directory or hub id (default: the installed default "
                   "model, else the one shipped with ibert; see `ibert model info`)")
    p.add_argument("--no-model", action="store_true",
                   help="deterministic engines only (no model candidates)")
    p.add_argument("-n", "--candidates", type=int, default=n,
                   help=f"candidates to ask the model for (default: {n})")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--unchecked", action="store_true",
                   help="also print model candidates the gate or the relevance check refused")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds the model may take (default: 30)")
    p.add_argument("--max-new-tokens", type=int,
                   help="longest candidate in tokens (default: per task)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complete", help="complete Ibis code at the end of the input",
                       description="Complete Ibis code: the input (a file or stdin) is the code "
                       "before the cursor. Columns and Ibis members first, model continuations "
                       "after.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--suffix", default="", help="code after the cursor")
    add_schema_options(p)
    _common(p)
    p.set_defaults(func=run_complete)

    p = sub.add_parser("fix", help="fix an Ibis error (rule fixes, then the model's; checked)",
                       description="Fix Ibis code that fails. Without --error the gate finds "
                       "the error; a fix must make it go away and keep the statement's tables "
                       "and intent.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--error", help="the error message (default: what the gate reports)")
    p.add_argument("--context", help="extra context, e.g. 'age column is integer type'")
    add_schema_options(p)
    _common(p)
    p.set_defaults(func=run_fix)

    p = sub.add_parser("qa", help="answer a question about Ibis",
                       description="Answer a question about Ibis. Code in an answer must "
                       "evaluate through the gate and use the API retrieval ranks relevant.")
    p.add_argument("file", nargs="?", default="-", help="text file with the question, or -")
    p.add_argument("--context", help="extra context, e.g. \"I'm using the DuckDB backend\"")
    add_schema_options(p, schema_help="schemas the answer's code may use")
    _common(p, n=2)
    p.set_defaults(func=run_qa)

    p = sub.add_parser("doc", help="write a docstring for a Python function",
                       description="Generate a docstring for the first function in the input; "
                       "documented parameters must be the function's.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--style", choices=("google", "numpy"), default="google")
    p.add_argument("--no-examples", action="store_true", help="drop an Examples section")
    p.add_argument("--insert", action="store_true",
                   help="print the code with the docstring inserted")
    add_schema_options(p, schema_help="schemas of tables the function's parameters name")
    _common(p, n=2)
    p.set_defaults(func=run_doc)


# --------------------------------------------------------------------------------- helpers
def load_generator(model: str | None, *, required: bool = False):
    """The model `--model` names, else the default (installed, else shipped); None when there is
    none and `required` is false."""
    import os

    from ibert_lsp.model.default import default_model_dir, load_default, load_model
    from ibert_lsp.model.remote import RemoteGenerator, is_remote

    if model and is_remote(model):  # openai+http://host:port/v1#model: a served model
        return RemoteGenerator.load(model, api_key_env=os.environ.get("IBERT_API_KEY_ENV"),
                                    require_reachable=True)
    if model:
        return load_model(model)
    gen = load_default()
    if gen is None and required:
        raise IbertError(f"no model installed at {default_model_dir()}: build it with "
                         "`ibert model build` or pass --model DIR")
    return gen


def _generator(args):
    """The model for this command, loaded once, or None (`--no-model`, or no model at all)."""
    if args.no_model:
        return None
    if not hasattr(args, "_gen"):
        if args.candidates < 1:
            raise IbertError("--candidates must be at least 1")
        args._gen = load_generator(args.model)
    return args._gen


def _schemas(code: str, args) -> dict:
    from ibert_lsp.schema.sources import from_python_source, load_schema_arg

    schemas: dict = {}
    try:
        schemas.update(from_python_source(code))
    except Exception:  # noqa: BLE001 - a snippet need not parse
        pass
    if getattr(args, "schema", None):
        first = args.table_names[0] if args.table_names else None
        schemas.update(load_schema_arg(args.schema, first))
    names = [n for n in (getattr(args, "table_names", None) or []) if n not in schemas]
    if names:
        from ibert_lsp.schema.infer import infer_schemas

        schemas.update(infer_schemas(code, names))
    return schemas


def _context(schemas: dict) -> dict:
    return {"tables": {t: {"schema": cols} for t, cols in schemas.items()}}


def _model_candidates(args, task: str, inp: dict, context: dict) -> list[Shown]:
    """The model's candidates for `task`, each with the gate's and the relevance verdict."""
    from ibert_lsp.tasks.candidates import checked_candidates

    gen = _generator(args)
    if gen is None:
        return []
    checked = checked_candidates(gen, task, inp, context, n=args.candidates,
                                 deadline_s=args.timeout, max_new_tokens=args.max_new_tokens)
    return [Shown(c.text, "model", c.verdict.reason, c.verdict.ok) for c in checked]


def _model_label(args) -> str | None:
    gen = getattr(args, "_gen", None)
    if gen is None:
        return None
    if args.model:
        return str(args.model)
    from ibert_lsp.model.default import active_model

    found = active_model()
    return f"{found[0]}: {found[1]}" if found else type(gen).__name__


def _emit(args, task: str, shown: list[Shown], *, render=lambda s: s, empty: str) -> int:
    accepted = [c for c in shown if c.accepted]
    out = shown if args.unchecked else accepted
    if args.json:
        print(json.dumps({
            "task": task,
            "candidates": [{"text": render(c.text), "source": c.source, "accepted": c.accepted,
                            "reason": c.reason} for c in out],
            "refused": len(shown) - len(accepted),
            "model": _model_label(args),
            "elapsed_s": round(time.perf_counter() - args._t0, 3),
        }, indent=2))
        return 0 if accepted else 1
    if not accepted:
        print(f"ibert: {empty} ({len(shown)} candidate(s) refused)", file=sys.stderr)
    for i, c in enumerate(out):
        if i:
            print("---")
        if not c.accepted:
            print(f"# unchecked: {c.reason}")
        print(render(c.text))
    return 0 if accepted else 1


# -------------------------------------------------------------------------------- commands
def complete_answers(args, prefix: str, suffix: str, schemas: dict) -> list[Shown]:
    """Completions at the end of `prefix`: columns/members (tasks.completion), operands
    (tasks.operands), then model continuations; each made a whole statement where it can be
    (the brackets still open are closed) and kept only when relevant."""
    from ibert_lsp.tasks import relevance
    from ibert_lsp.tasks.analysis import analyze
    from ibert_lsp.tasks.completion import complete
    from ibert_lsp.tasks.continuations import continuations, statement_checks
    from ibert_lsp.tasks.operands import operand_candidates

    code = prefix + suffix
    line = prefix.count("\n")
    character = len(prefix) - (prefix.rfind("\n") + 1)
    an = analyze(code, schemas)
    schemas = {**an.schemas}
    env = an.env_before(line)
    cands = complete(code, line, character, schemas, env=env, types=an.types_before(line),
                     use_jedi=False)
    if not cands:
        cands = operand_candidates(code, line, character, schemas, env)
    cands = relevance.relevant_completions(code, line, character, cands)
    cur = code.split("\n")[line]
    out: list[Shown] = []
    for c in cands:
        start = c.replace_start if c.replace_start is not None else character
        typed = cur[start:character]
        text = c.insert_text.removeprefix(typed)
        if not text or c.kind == "keyword":
            continue
        close = relevance.closers(prefix + text, suffix)
        whole = prefix + text + close + suffix
        source = {"schema": "columns", "ibis": "members", "document": "names"}.get(c.source,
                                                                                   c.source)
        if close and statement_checks(whole, line, schemas, env):
            out.append(Shown(text + close, source,
                             f"{c.kind} `{c.label}`; the statement evaluates with it"))
        elif statement_checks(prefix + text + suffix, line, schemas, env):
            out.append(Shown(text, source, f"{c.kind} `{c.label}`; the statement evaluates"))
        else:
            out.append(Shown(text, source, f"{c.kind} `{c.label}` of the receiver "
                             f"({c.detail or 'Ibis'})"))
        if len(out) >= MAX_SHOWN:
            break
    if len(out) < ENOUGH and _generator(args) is not None:
        seen = {o.text for o in out}
        for t in continuations(code, line, character, schemas, _generator(args), env=env,
                               n=args.candidates, max_new_tokens=args.max_new_tokens or 48,
                               deadline_s=args.timeout):
            v = relevance.completion_verdict("", t, suffix)
            if v.ok and t not in seen:
                seen.add(t)
                out.append(Shown(t, "model", "the statement evaluates; " + v.reason))
    return out


def run_complete(args) -> int:
    args._t0 = time.perf_counter()
    code = read_input(args.file, what="code")
    # the cursor is at the end of the input; a file's final newline is not part of the prefix
    prefix = code.removesuffix("\n")
    schemas = _schemas(prefix + args.suffix, args)
    shown = complete_answers(args, prefix, args.suffix, schemas)
    if args.unchecked and not args.no_model and not any(s.source == "model" for s in shown):
        shown += [s for s in _model_candidates(args, "code_completion",
                                               {"prefix": prefix, "suffix": args.suffix},
                                               _context(schemas)) if not s.accepted]
    return _emit(args, "code_completion", shown, empty="no completion passed the checks")


def fix_answers(args, code: str, schemas: dict, error: str | None) -> list[Shown] | None:
    """Fixes for the first problem in `code`, best first (None: nothing to fix): the editor's
    quick fixes (rules, then the model), or — for an error only the gate or `--error` names —
    the model's whole-input candidates; all must remove the error and be relevant."""
    from ibert_lsp.tasks.analysis import analyze
    from ibert_lsp.tasks.error_resolution import _with_document_schemas, fixes

    schemas = _with_document_schemas(code, schemas)
    an = analyze(code, schemas)
    shown: list[Shown] = []
    if an.problems:
        p = an.problems[0]
        found = fixes(code, schemas, p, analysis=an)
        if not found and _generator(args) is not None:  # as the editor's quick fix does
            found = fixes(code, schemas, p, analysis=an, generator=_generator(args),
                          n_model=args.candidates, max_new_tokens=args.max_new_tokens or 96,
                          deadline_s=args.timeout)
        for f in found:
            shown.append(Shown(f.apply(code).rstrip("\n"), f.source,
                               f"{f.title}: {f.data.get('why', 'the error is gone')}"))
        if shown or not args.unchecked:
            return shown
        error = error or p.message
    if not error:
        from ibert_lsp.validate.errors import GateError
        from ibert_lsp.validate.safe_eval import evaluate

        try:
            evaluate(code, schemas)
        except GateError as exc:
            error = exc.message
        else:
            return None
    if args.context:
        error = f"{error} (context: {args.context})"
    return shown + _model_candidates(args, "error_resolution", {"code": code, "error": error},
                                     _context(schemas))


def run_fix(args) -> int:
    args._t0 = time.perf_counter()
    code = read_input(args.file, what="code")
    schemas = _schemas(code, args)
    shown = fix_answers(args, code, schemas, args.error)
    if shown is None:
        print("ibert: the code evaluates through the gate: nothing to fix", file=sys.stderr)
        return 0
    return _emit(args, "error_resolution", shown, empty="no fix passed the checks")


def qa_answers(args, question: str, schemas: dict) -> list[Shown]:
    """Answers from tasks.qa.answers (composed, retrieval, model), each relevant and checked."""
    from ibert_lsp.tasks.qa import answers

    found = answers(question, schemas or None, generator=None)
    shown = [Shown(a.text, a.source, a.why) for a in found]
    if len(shown) < ENOUGH and _generator(args) is not None:
        for a in answers(question, schemas or None, generator=_generator(args),
                         deadline_s=args.timeout):
            if a.source == "model":
                shown.append(Shown(a.text, "model", a.why))
        if args.unchecked:
            shown += [s for s in _model_candidates(args, "qa", {"question": question},
                                                   _context(schemas)) if not s.accepted]
    return shown


def run_qa(args) -> int:
    args._t0 = time.perf_counter()
    question = read_input(args.file, what="question").strip()
    if args.context:
        question = f"{question}\n(context: {args.context})"
    schemas = _schemas("", args) if args.schema else {}
    shown = qa_answers(args, question, schemas)
    return _emit(args, "qa", shown, empty="no answer passed the checks")


def strip_examples(doc: str) -> str:
    lines, out, skipping = doc.splitlines(), [], False
    for i, line in enumerate(lines):
        s = line.strip()
        if s in ("Examples:", "Example:", "Examples", "Example"):
            skipping = True
            continue
        if skipping and s and not line.startswith((" ", "\t", ">>>", "...", "-")) \
                and (s.endswith(":") or (i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"})):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out).rstrip()


def insert_docstring(code: str, doc: str) -> str:
    import ast

    try:
        tree = ast.parse(code)
    except SyntaxError:
        raise IbertError("the input does not parse as Python; cannot insert a docstring") from None
    fn = next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef,
                                                          ast.AsyncFunctionDef))), None)
    if fn is None:
        raise IbertError("the input has no function to document")
    lines = code.splitlines()
    body = fn.body[0]
    indent = " " * body.col_offset
    doc_lines = doc.splitlines() or [""]
    text = [f'{indent}"""{doc_lines[0]}'] + [f"{indent}{ln}" if ln.strip() else ""
                                            for ln in doc_lines[1:]]
    if len(doc_lines) > 1:
        text.append(f'{indent}"""')
    else:
        text[0] += '"""'
    has_doc = isinstance(body, ast.Expr) and isinstance(getattr(body, "value", None),
                                                        ast.Constant) and isinstance(
        body.value.value, str)
    start = body.lineno - 1
    end = body.end_lineno if has_doc else start
    return "\n".join(lines[:start] + text + lines[end:]) + "\n"


def doc_answers(args, code: str, schemas: dict):
    """Docstrings for the first function in `code` (tasks.documentation.docstrings: the
    skeleton with the model's summary, then with the summary from the name and body)."""
    from ibert_lsp.tasks.documentation import DocError, docstrings, function_lines

    found = function_lines(code)
    if not found:
        raise IbertError("the input has no function (def ...) to document")
    line = min(ln for ln, _ in found)
    try:
        return docstrings(code, line, style=args.style, schemas=schemas,
                          generator=_generator(args), deadline_s=args.timeout)
    except DocError as exc:
        raise IbertError(str(exc)) from None


def run_doc(args) -> int:
    from ibert_lsp.tasks.relevance import doc_verdict

    args._t0 = time.perf_counter()
    code = read_input(args.file, what="code")
    if "def " not in code:
        raise IbertError("the input has no function (def ...) to document")
    results = doc_answers(args, code, _schemas(code, args))
    shown = [Shown(r.docstring, r.source, doc_verdict(code, r.docstring, r.name).reason)
             for r in results]
    by_doc = {r.docstring: r for r in results}

    def render(doc: str) -> str:
        if args.insert:
            return by_doc[doc].apply(code).rstrip("\n")
        return strip_examples(doc) if args.no_examples else doc

    return _emit(args, "documentation", shown, render=render,
                 empty="no docstring passed the check")
