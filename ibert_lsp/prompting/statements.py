"""Where a logical Python statement starts and ends, for code that need not parse (the user is
typing): bracket depth over the text, strings, comments and backslash continuations skipped.

Completion prompts hold the statement at the cursor only (the model is trained on single
statements; earlier ones would push the cursor's context out of a small model's window), and
completion/hover evaluate the statement that holds a position.
"""

from __future__ import annotations

import re

# At most this much text is scanned, so a huge document costs no more than a small one.
MAX_SCAN_CHARS = 4000
_TOKEN = re.compile(r"'''|\"\"\"|'|\"|#|[()\[\]{}\n]")


def _line_string_end(text: str, i: int, quote: str) -> int:
    """Index of the quote closing a one-line string that starts at i; an unclosed one ends
    at its line's end (-1: at the end of the text)."""
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i
        if c == "\n":
            return i - 1
        i += 1
    return -1


def scan(text: str, depth: int = 0, *, stop_at_statement_end: bool = False) -> tuple[int, int]:
    """Bracket depth over Python text, skipping strings and comments.

    Returns (depth at the end, offset just after the last top-level newline); with
    `stop_at_statement_end`, (depth, offset of the first newline at depth <= 0), the text's
    length when there is none."""
    last_break, i, n = 0, 0, len(text)
    while i < n:
        m = _TOKEN.search(text, i)
        if m is None:
            break
        tok, i = m.group(), m.end()
        if tok in ("'''", '"""'):
            end = text.find(tok, i)
            i = n if end < 0 else end + 3
        elif tok in ("'", '"'):
            end = _line_string_end(text, i, tok)
            i = n if end < 0 else end + 1
        elif tok == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif tok in "([{":
            depth += 1
        elif tok in ")]}":
            depth -= 1
        elif depth <= 0 and not text[: m.start()].endswith("\\"):  # a newline
            if stop_at_statement_end:
                return depth, m.start()
            depth, last_break = 0, i
    return depth, (n if stop_at_statement_end else last_break)


def cursor_statement(prefix: str, suffix: str) -> tuple[str, str]:
    """(prefix, suffix) cut to the logical statement the cursor is in."""
    tail = prefix[-MAX_SCAN_CHARS:]
    depth, start = scan(tail)
    _, end = scan(suffix[:MAX_SCAN_CHARS], depth, stop_at_statement_end=True)
    return tail[start:], suffix[:end]


def statement_start(lines: list[str], line: int, max_lines: int = 60) -> int:
    """First line (0-based) of the logical statement holding `line` (looking back at most
    `max_lines` lines)."""
    lo = max(0, line - max_lines)
    if line <= lo:
        return line
    text = "\n".join(lines[lo:line]) + "\n"
    _, start = scan(text[-MAX_SCAN_CHARS:])
    cut = max(0, len(text) - MAX_SCAN_CHARS)
    return lo + text[: cut + start].count("\n")
