"""What the cursor is on: the text before it scanned backwards (receiver, open call, string)
without parsing, since the line being typed rarely parses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.prompting.statements import statement_start
from ibert_lsp.pysource import open_brackets

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
# what may stand before a receiver that starts a statement: nothing, `return`, or the
# opening of a parenthesised chain (`x = (` then, on the next line, `t.`)
_ASSIGNS = re.compile(r"[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*(:[^=]*)?=")
_LEADS = re.compile(r"(return)?|(return\s*|[A-Za-z_][\w.]*\s*=\s*)?\((\s*#[^\n]*)?\s*")


@dataclass
class Context:
    """What the cursor is on."""

    kind: str  # member | argument | identifier | string_argument | none
    prefix: str  # identifier typed so far
    receiver: str | None = None  # source text before the '.'
    callee: str | None = None  # for arguments: `events.select`
    quote: str | None = None
    offset: int = 0
    replace_start: int = 0  # character on the line
    leads: bool = False  # member: the receiver starts its statement (`t.` alone, `return t.`)
    assigns: bool = False  # member: the receiver starts an assigned value (`x = t.`)
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- scanning the text before cursor



def _skip_string_back(text: str, i: int) -> int:
    """`text[i]` is a closing quote: index before the matching opening quote (or -1)."""
    q = text[i]
    j = i - 1
    while j >= 0:
        if text[j] == q and (j == 0 or text[j - 1] != "\\"):
            j -= 1
            # string prefixes f/r/b
            while j >= 0 and text[j] in "rbfRBFuU":
                j -= 1
            return j
        j -= 1
    return -1


def receiver_before(text: str, end: int) -> str | None:
    """The primary expression ending at `text[end-1]` (a dotted chain with calls/subscripts)."""
    i = end - 1
    after_dot = True  # whitespace is allowed before a '.' continuation
    start = end
    while i >= 0:
        ch = text[i]
        if ch in ")]}":
            depth = 0
            while i >= 0:
                c = text[i]
                if c in "\"'":
                    i = _skip_string_back(text, i)
                    continue
                if c in ")]}":
                    depth += 1
                elif c in "([{":
                    depth -= 1
                    if depth == 0:
                        break
                i -= 1
            if i < 0:
                return None
            start = i
            i -= 1
            after_dot = False
            continue
        if ch in "\"'":
            j = _skip_string_back(text, i)
            start = j + 1
            i = j
            after_dot = False
            continue
        if ch.isalnum() or ch == "_":
            j = i
            while j >= 0 and (text[j].isalnum() or text[j] == "_"):
                j -= 1
            start = j + 1
            i = j
            after_dot = False
            continue
        if ch == ".":
            start = i
            i -= 1
            after_dot = True
            continue
        if ch in " \t\n\\" and after_dot:
            # allow `x\n    .method` only inside brackets: caller passes bracketed text
            i -= 1
            continue
        break
    rec = text[start:end].strip()
    if not rec or rec.startswith("."):
        return None
    return rec


def open_parens(text: str) -> list[int]:
    """Indexes of the '(' still open at the end of `text`, outermost first."""
    return [i for c, i in open_brackets(text) if c == "("]


def _innermost_open_paren(text: str) -> int | None:
    """Index of the innermost unclosed '(' in `text` (strings and comments skipped)."""
    parens = open_parens(text)
    return parens[-1] if parens else None


def enclosing_callees(text: str) -> list[str]:
    """The calls the cursor (end of `text`) is inside, innermost first, as written before
    their '(' (`t.group_by("a").agg`); one scan of the text."""
    return [receiver_before(text, p) or "" for p in reversed(open_parens(text))]


def innermost_callee(text: str) -> str:
    """The name of the method whose call the cursor (end of `text`) is directly inside."""
    callees = enclosing_callees(text)
    return callees[0].rpartition(".")[2] if callees else ""


def context_at(code: str, line: int, character: int) -> Context:
    lines = code.split("\n")
    if line >= len(lines):
        return Context("none", "")
    cur = lines[line]
    character = min(character, len(cur))
    first = statement_start(lines, line)
    stmt_text = "\n".join(lines[first:line] + [cur[:character]])
    m = _IDENT.search(cur[:character])
    prefix = m.group(0) if m else ""
    before = stmt_text[: len(stmt_text) - len(prefix)]
    rstart = character - len(prefix)
    # Inside a string literal that is an argument: column names
    qm = re.search(r"([\"'])([A-Za-z0-9_]*)$", cur[:character])
    if qm and cur[:character].count(qm.group(1)) % 2 == 1:
        head = stmt_text[: len(stmt_text) - len(qm.group(0))]
        p = _innermost_open_paren(head)
        if p is not None and head[p + 1:].strip() == "" or (p is not None and head.rstrip().endswith((",", "("))):
            callee = receiver_before(head, p) if p is not None else None
            if callee:
                return Context("string_argument", qm.group(2), callee=callee, quote=qm.group(1),
                               replace_start=character - len(qm.group(2)))
        if head.rstrip().endswith("["):
            rec = receiver_before(head.rstrip(), len(head.rstrip()) - 1)
            if rec:
                return Context("string_argument", qm.group(2), callee=rec + ".__getitem__",
                               quote=qm.group(1), replace_start=character - len(qm.group(2)))
        return Context("none", "")
    stripped = before.rstrip(" \t")
    if stripped.endswith(".") and not stripped.endswith(".."):
        dot = len(stripped) - 1
        inside = _innermost_open_paren(stripped[:dot]) is not None or first != line
        text = stripped[:dot]
        if not inside:
            text = text.split("\n")[-1]
        rec = receiver_before(text, len(text))
        if rec and not re.fullmatch(r"\d+", rec):
            lead = text[: len(text.rstrip()) - len(rec)].strip()
            return Context("member", prefix, receiver=rec, replace_start=rstart,
                           leads=bool(_LEADS.fullmatch(lead)),
                           assigns=bool(_ASSIGNS.fullmatch(lead)))
        return Context("none", prefix)
    p = _innermost_open_paren(before)
    if p is not None:
        callee = receiver_before(before, p)
        tail = before[p + 1:]
        if callee and (tail.strip() == "" or tail.rstrip().endswith(",")) or (
            callee and re.search(r"[(,=]\s*$", before)
        ):
            return Context("argument", prefix, callee=callee, replace_start=rstart)
    return Context("identifier", prefix, replace_start=rstart)
