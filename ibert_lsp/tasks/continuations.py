"""Model continuations at the cursor (fill-in-the-middle), each kept only when the statement
it completes evaluates through the gate."""

from __future__ import annotations

import threading
import time
from typing import Any

from ibert_lsp.schema.types import Schemas


def _offset(code: str, line: int, character: int) -> int:
    lines = code.split("\n")
    return sum(len(x) + 1 for x in lines[:line]) + min(character, len(lines[line]))


def statement_checks(code: str, line: int, schemas: Schemas, env: dict[str, Any]) -> bool:
    """Does the statement of `code` covering 0-based `line` parse and evaluate through the gate?"""
    import ast

    from ibert_lsp.tasks.analysis import _segment

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    lines = code.split("\n")
    for st in ast.walk(tree):
        if not isinstance(st, (ast.Assign, ast.Expr, ast.AnnAssign, ast.Return)):
            continue
        if not (st.lineno - 1 <= line <= st.end_lineno - 1):
            continue
        value = getattr(st, "value", None)
        if value is None:
            return False
        seg = _segment(lines, value)
        if seg is None:
            return False
        try:
            from ibert_lsp.tasks.analysis import gate_eval

            gate_eval("(" + seg + ")", schemas, env, any_value=True)
            return True
        except Exception:
            return False
    return False


def continuations(
    code: str,
    line: int,
    character: int,
    schemas: Schemas,
    generator: Any,
    *,
    env: dict[str, Any] | None = None,
    n: int = 3,
    max_new_tokens: int = 48,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
    multiline: bool | None = None,
) -> list[str]:
    """Model continuations at the cursor (fill-in-the-middle), kept only when the completed
    statement evaluates through the gate; best (model order) first, de-duplicated."""
    from ibert_lsp.prompting import prompts

    off = _offset(code, line, character)
    prefix, suffix = code[:off], code[off:]
    if env is None:
        from ibert_lsp.tasks.analysis import analyze

        env = analyze(code, schemas).env_before(line)
    lines = code.split("\n")
    rest_of_line = lines[line][character:] if line < len(lines) else ""
    if multiline is None:
        multiline = not rest_of_line.strip()
    inp = {"prefix": prefix, "suffix": suffix}
    context = {"tables": {k: dict(v) for k, v in schemas.items()}}
    prompt = prompts.build_prompt("code_completion", inp, context)
    stop = tuple(prompts.STOP["code_completion"]) + (() if multiline else ("\n",))
    t0 = time.monotonic()
    try:
        raw = generator.generate(prompt, n=n, max_new_tokens=max_new_tokens, stop=stop,
                                 deadline_s=deadline_s, cancel=cancel)
    except Exception:
        return []
    out: list[str] = []
    for text in raw:
        if cancel is not None and cancel.is_set():
            break
        text = prompts.parse_output("code_completion", text, inp, context)
        text = text.rstrip()
        if not multiline:
            text = text.split("\n")[0]
        # drop text the suffix already holds
        if rest_of_line.strip() and text.endswith(rest_of_line.strip()):
            text = text[: -len(rest_of_line.strip())]
        if not text.strip() or text in out:
            continue
        new_code = prefix + text + suffix
        if statement_checks(new_code, line, schemas, env):
            out.append(text)
        if deadline_s is not None and time.monotonic() - t0 > deadline_s * 2:
            break
    return out
