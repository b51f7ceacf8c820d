"""Parsing half-typed Python: the one tolerant parser every layer uses.

A document being edited rarely parses. Blanking the line the parser names (not dropping the
tail line by line, which is quadratic on a 1,000-line notebook) keeps what is above and below
the typo, and bounds the work to `max_tries` parses. A bracket left open by a statement being
typed (`q = (` ... `.join(x)` ... `.`) is closed at the statement's end instead: blanking would
lose every line of the chain.
"""

from __future__ import annotations

import ast
import functools
import warnings


def parse_tolerant(code: str, max_tries: int = 25) -> tuple[ast.Module | None, list[int]]:
    """Parse `code`, blanking lines that do not parse (half-typed code), up to `max_tries`.

    The list says which 1-based lines were blanked or belong to a statement whose brackets
    were closed: their code is not what the user wrote, so nothing is reported on them."""
    lines = code.split("\n")
    blanked: list[int] = []
    repaired: list[int] = []

    def touched() -> list[int]:
        return blanked + [n for n in repaired if n not in blanked]

    for _ in range(max_tries):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse("\n".join(lines)), touched()
        except SyntaxError as exc:
            closed = _close_brackets(lines, exc)
            if closed:
                repaired.extend(n for n in closed if n not in repaired)
                continue
            ln = exc.lineno or 0
            if not (1 <= ln <= len(lines)) or ln in blanked:
                # blank the last non-empty line before the end as a last resort
                cand = [i + 1 for i, s in enumerate(lines) if s.strip() and i + 1 not in blanked]
                if not cand:
                    return None, touched()
                ln = cand[-1]
            lines[ln - 1] = ""
            blanked.append(ln)
        except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting
            return None, touched()
    return None, touched()


@functools.lru_cache(maxsize=2)
def parse_shared(code: str) -> tuple[ast.Module | None, tuple[int, ...]]:
    """`parse_tolerant`, once per text, for readers of one version's tree (the code actions
    an editor asks for at every cursor move): callers must not change the tree."""
    tree, touched = parse_tolerant(code)
    return tree, tuple(touched)


CLOSER = {"(": ")", "[": "]", "{": "}"}


def _close_brackets(lines: list[str], exc: SyntaxError) -> list[int]:
    """For "'(' was never closed": append the missing closers to the last line of that
    statement (the lines up to the next one indented as little as it). Lines keep their
    numbers. The statement's 1-based lines, or [] when there is nothing to close."""
    if "was never closed" not in str(exc.msg) or not (1 <= (exc.lineno or 0) <= len(lines)):
        return []
    first = exc.lineno - 1
    indent = len(lines[first]) - len(lines[first].lstrip())
    last = first
    for j in range(first + 1, len(lines)):
        text = lines[j]
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        if text.strip():
            last = j
    open_ = open_brackets("\n".join(lines[first:last + 1]))
    if not open_:
        return []
    code, comment = split_comment(lines[last])
    lines[last] = code.rstrip() + "".join(CLOSER[b] for b, _ in reversed(open_)) + (
        "  " + comment if comment else "")
    return list(range(first + 1, last + 2))


def open_brackets(text: str) -> list[tuple[str, int]]:
    """The brackets still open at the end of `text`, outermost first, with their indexes
    (strings and comments skipped; an unterminated string ends the scan)."""
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl == -1 else nl
            continue
        if c in "\"'":
            q = c * 3 if text[i:i + 3] == c * 3 else c
            j = i + len(q)
            while j < n and text[j:j + len(q)] != q and not (len(q) == 1 and text[j] == "\n"):
                j += 2 if text[j] == "\\" else 1
            i = j + len(q)
            continue
        if c in CLOSER:
            stack.append((c, i))
        elif stack and c == CLOSER[stack[-1][0]]:
            stack.pop()  # a stray or mismatched closer closes nothing
        i += 1
    return stack


def split_comment(line: str) -> tuple[str, str]:
    """`line` as (code, comment), the comment starting at a `#` outside strings."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote and line[i - 1] != "\\":
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            return line[:i], line[i:]
    return line, ""
