"""One structured error for every way a snippet can fail the gate, so editors can place it."""

from __future__ import annotations

import ast
from typing import Any

KINDS = (
    "syntax", "forbidden", "name", "attribute", "type", "ibis",
    "limit", "timeout", "execution", "mismatch",
)


class GateError(Exception):
    """Why the gate refused or failed a snippet; positions are 1-based lines, 0-based cols."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        line: int | None = None,
        col: int | None = None,
        end_line: int | None = None,
        end_col: int | None = None,
        suggestions: list[str] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown GateError kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.col = col
        self.end_line = end_line
        self.end_col = end_col
        self.suggestions = list(suggestions or [])

    def __reduce__(self) -> tuple:
        # crosses from a gate worker process as (class, args, state): data only
        return (type(self), (self.kind, self.message), dict(self.__dict__))

    @property
    def located(self) -> bool:
        return self.line is not None

    def locate(self, node: ast.AST | None, *, force: bool = False) -> GateError:
        """Attach the span of `node` unless a (more precise) span is already known."""
        if node is None or (self.located and not force):
            return self
        line = getattr(node, "lineno", None)
        if line is None:
            return self
        self.line = line
        self.col = getattr(node, "col_offset", None)
        self.end_line = getattr(node, "end_lineno", None)
        self.end_col = getattr(node, "end_col_offset", None)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "suggestions": list(self.suggestions),
        }

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.message}"

    def __repr__(self) -> str:
        return f"GateError({self.kind!r}, {self.message!r}, line={self.line}, col={self.col})"


def locate_attr(err: GateError, node: ast.AST, name: str) -> GateError:
    """Point at the attribute name itself (`t.amout` -> `amout`), not the whole chain."""
    err.locate(node)
    if isinstance(node, ast.Attribute) and err.end_line == err.line and err.end_col is not None:
        err.col = err.end_col - len(name)
    return err


class Located(Exception):
    """Carries a foreign exception plus the innermost node it came from."""

    def __init__(self, exc: BaseException, node: ast.AST) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.node = node
