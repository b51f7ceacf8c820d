"""`ibert complete | fix | qa | doc`: the model's tasks on files or stdin, checked by the gate.

Every command asks the model (the installed default, or --model DIR) for several candidates,
passes them through the gate (ibert_lsp.model.candidates.check) and prints the accepted ones,
best first. Nothing unchecked is printed unless --unchecked is given (then marked as such).
"""

from __future__ import annotations

import argparse
import json
import sys

from ibert_lsp.commands.io import add_schema_options, read_input
from ibert_lsp.errors import IbertError
from ibert_lsp.model.candidates import CANDIDATES


def _common(p: argparse.ArgumentParser, n: int = CANDIDATES) -> None:
    """`n`: CANDIDATES for the code tasks (what `ibert eval` reports as gated@8); fewer for
    the free-text tasks, where the gate picks less."""
    p.add_argument("--model", help="model directory or hub id (default: the installed default, "
                   "see `ibert model info`)")
    p.add_argument("-n", "--candidates", type=int, default=n,
                   help=f"candidates to ask the model for (default: {n})")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.add_argument("--unchecked", action="store_true",
                   help="also print candidates the gate refused, with the reason")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds the model may take (default: 30)")
    p.add_argument("--max-new-tokens", type=int,
                   help="longest candidate in tokens (default: per task)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complete", help="complete Ibis code at the end of the input (model)",
                       description="Complete Ibis code: the input (a file or stdin) is the code "
                       "before the cursor. Candidates must evaluate through the gate.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--suffix", default="", help="code after the cursor")
    add_schema_options(p)
    _common(p)
    p.set_defaults(func=run_complete)

    p = sub.add_parser("fix", help="fix an Ibis error (model candidates checked by the gate)",
                       description="Fix Ibis code that fails. Without --error the gate finds "
                       "the error; fixes must evaluate through the gate.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--error", help="the error message (default: what the gate reports)")
    p.add_argument("--context", help="extra context, e.g. 'age column is integer type'")
    add_schema_options(p)
    _common(p)
    p.set_defaults(func=run_fix)

    p = sub.add_parser("qa", help="answer a question about Ibis (model)",
                       description="Answer a question about Ibis. Code in an answer must "
                       "evaluate through the gate.")
    p.add_argument("file", nargs="?", default="-", help="text file with the question, or -")
    p.add_argument("--context", help="extra context, e.g. \"I'm using the DuckDB backend\"")
    add_schema_options(p, schema_help="schemas the answer's code may use")
    _common(p, n=2)
    p.set_defaults(func=run_qa)

    p = sub.add_parser("doc", help="write a docstring for a Python function (model)",
                       description="Generate a docstring for the first function in the input; "
                       "documented parameters must be the function's.")
    p.add_argument("file", nargs="?", default="-", help="Python file, or - for stdin")
    p.add_argument("--style", choices=("google", "numpy"), default="google")
    p.add_argument("--no-examples", action="store_true", help="drop an Examples section")
    p.add_argument("--insert", action="store_true",
                   help="print the function with the docstring inserted")
    _common(p, n=2)
    p.set_defaults(func=run_doc)


# --------------------------------------------------------------------------------- helpers
def load_generator(model: str | None):
    import os

    from ibert_lsp.model.default import default_model_dir, load_default
    from ibert_lsp.model.hf import HFGenerator
    from ibert_lsp.model.remote import RemoteGenerator, is_remote

    if model and is_remote(model):  # openai+http://host:port/v1#model: a served model
        return RemoteGenerator.load(model, api_key_env=os.environ.get("IBERT_API_KEY_ENV"),
                                    require_reachable=True)
    if model:
        return HFGenerator.load(model)
    gen = load_default()
    if gen is None:
        raise IbertError(f"no model installed at {default_model_dir()}: build it with "
                         "`ibert model build` or pass --model DIR")
    return gen


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


def _run(args, task: str, inp: dict, context: dict) -> list:
    import time

    from ibert_lsp.model.candidates import checked_candidates

    gen = load_generator(args.model)
    if args.candidates < 1:
        raise IbertError("--candidates must be at least 1")
    t0 = time.perf_counter()
    out = checked_candidates(gen, task, inp, context, n=args.candidates,
                             deadline_s=args.timeout, max_new_tokens=args.max_new_tokens)
    args._elapsed = time.perf_counter() - t0
    return out


def _emit(args, task: str, checked: list, *, render=lambda s: s, empty: str) -> int:
    accepted = [c for c in checked if c.verdict.ok]
    shown = checked if args.unchecked else accepted
    if args.json:
        print(json.dumps({
            "task": task,
            "candidates": [{"text": render(c.text), "accepted": c.verdict.ok,
                            "reason": c.verdict.reason} for c in shown],
            "refused": len(checked) - len(accepted),
        }, indent=2))
        return 0 if accepted else 1
    if not accepted:
        print(f"ibert: {empty} ({len(checked)} candidate(s) refused by the gate)",
              file=sys.stderr)
    for i, c in enumerate(shown):
        if i:
            print("---")
        if not c.verdict.ok:
            print(f"# unchecked: {c.verdict.reason}")
        print(render(c.text))
    return 0 if accepted else 1


# -------------------------------------------------------------------------------- commands
def run_complete(args) -> int:
    code = read_input(args.file, what="code")
    schemas = _schemas(code + args.suffix, args)
    # the cursor is at the end of the input; a file's final newline is not part of the prefix
    inp = {"prefix": code[:-1] if code.endswith("\n") else code, "suffix": args.suffix}
    checked = _run(args, "code_completion", inp, _context(schemas))
    return _emit(args, "code_completion", checked, empty="no completion passed the gate")


def run_fix(args) -> int:
    code = read_input(args.file, what="code")
    schemas = _schemas(code, args)
    error = args.error
    if not error:
        from ibert_lsp.validate.errors import GateError
        from ibert_lsp.validate.safe_eval import evaluate

        try:
            evaluate(code, schemas)
        except GateError as exc:
            error = exc.message
        else:
            print("ibert: the code evaluates through the gate: nothing to fix", file=sys.stderr)
            return 0
    if args.context:
        error = f"{error} (context: {args.context})"
    checked = _run(args, "error_resolution", {"code": code, "error": error}, _context(schemas))
    return _emit(args, "error_resolution", checked, empty="no fix passed the gate")


def run_qa(args) -> int:
    question = read_input(args.file, what="question").strip()
    if args.context:
        question = f"{question}\n(context: {args.context})"
    schemas = _schemas("", args) if args.schema else {}
    checked = _run(args, "qa", {"question": question}, _context(schemas))
    return _emit(args, "qa", checked, empty="no answer passed the gate")


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


def run_doc(args) -> int:
    code = read_input(args.file, what="code")
    if "def " not in code:
        raise IbertError("the input has no function (def ...) to document")
    checked = _run(args, "documentation", {"code": code, "style": args.style}, {})

    def render(doc: str) -> str:
        if args.no_examples:
            doc = strip_examples(doc)
        return insert_docstring(code, doc).rstrip("\n") if args.insert else doc

    return _emit(args, "documentation", checked, render=render,
                 empty="no docstring passed the check")
