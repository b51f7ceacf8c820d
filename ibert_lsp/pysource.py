"""Parsing half-typed Python: the one tolerant parser every layer uses.

A document being edited rarely parses. Blanking the line the parser names (not dropping the
tail line by line, which is quadratic on a 1,000-line notebook) keeps what is above and below
the typo, and bounds the work to `max_tries` parses.
"""

from __future__ import annotations

import ast
import warnings


def parse_tolerant(code: str, max_tries: int = 25) -> tuple[ast.Module | None, list[int]]:
    """Parse `code`, blanking lines that do not parse (half-typed code), up to `max_tries`."""
    lines = code.split("\n")
    blanked: list[int] = []
    for _ in range(max_tries):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse("\n".join(lines)), blanked
        except SyntaxError as exc:
            ln = exc.lineno or 0
            if not (1 <= ln <= len(lines)) or ln in blanked:
                # blank the last non-empty line before the end as a last resort
                cand = [i + 1 for i, s in enumerate(lines) if s.strip() and i + 1 not in blanked]
                if not cand:
                    return None, blanked
                ln = cand[-1]
            lines[ln - 1] = ""
            blanked.append(ln)
        except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting
            return None, blanked
    return None, blanked
