"""Helpers the feature modules share: positions in client units, document text, ranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsprotocol import types


def lines_of(doc) -> list[str]:
    return doc.source.split("\n")


@dataclass(frozen=True)
class At:
    """A request at a position of a Python document: the text as the request found it (pygls
    changes documents in place, so what runs after an await reads this, not `doc.source`)."""

    doc: Any
    source: str
    lines: list[str]
    line: int
    character: int


def python_at(ls: Any, uri: str, position: types.Position, feature: str) -> At | None:
    """`At` for a request on a Python document when `feature` is on, else None."""
    if not ls.settings.enabled(feature):
        return None
    doc = ls.document(uri)
    if not ls.is_python(doc):
        return None
    source = doc.source
    lines = source.split("\n")
    line, character = to_server(doc, position, lines)
    return At(doc, source, lines, line, character)


def to_server(doc, pos: types.Position, lines: list[str] | None = None) -> tuple[int, int]:
    """Client position (UTF-16 units by default) -> (line, character) in code points, clamped."""
    lines = lines if lines is not None else lines_of(doc)
    if not lines:
        return 0, 0
    line = min(max(pos.line, 0), len(lines) - 1)
    try:
        if pos.character >= doc.position_codec.client_num_units(lines[line]):
            return line, len(lines[line])
        sp = doc.position_codec.position_from_client_units(
            lines, types.Position(line=line, character=max(pos.character, 0)))
        ch = sp.character
    except Exception:
        ch = pos.character
    return line, min(max(ch, 0), len(lines[line]))


def to_client(doc, line: int, character: int, lines: list[str] | None = None) -> types.Position:
    lines = lines if lines is not None else lines_of(doc)
    if not lines:
        return types.Position(line=0, character=0)
    line = min(max(line, 0), len(lines) - 1)
    character = min(max(character, 0), len(lines[line]))
    try:
        from pygls.workspace.position_codec import ServerTextPosition

        return doc.position_codec.position_to_client_units(
            lines, ServerTextPosition(line, character))
    except Exception:
        return types.Position(line=line, character=character)


def client_range(doc, line: int, col: int, end_line: int, end_col: int,
                 lines: list[str] | None = None) -> types.Range:
    lines = lines if lines is not None else lines_of(doc)
    return types.Range(start=to_client(doc, line, col, lines),
                       end=to_client(doc, end_line, end_col, lines))


def text_in(doc, rng: types.Range, lines: list[str] | None = None) -> str:
    lines = lines if lines is not None else lines_of(doc)
    a = to_server(doc, rng.start, lines)
    b = to_server(doc, rng.end, lines)
    if b < a:
        a, b = b, a
    if a[0] == b[0]:
        return lines[a[0]][a[1]:b[1]]
    return "\n".join([lines[a[0]][a[1]:]] + lines[a[0] + 1:b[0]] + [lines[b[0]][:b[1]]])
