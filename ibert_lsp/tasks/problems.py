"""The analysis's records — `Analysis`, the names it binds, the statements it checked, the
problems it found — and how gate errors are placed in the document, with the messages and rule
codes editors show (and pandas idioms Ibis spells differently).

Positions in `Problem` are LSP-style: 0-based lines, 0-based columns (characters).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.schema.types import Schemas


@dataclass
class Problem:
    """One mistake in an Ibis expression, placed in the document."""

    kind: str
    message: str
    line: int
    col: int
    end_line: int
    end_col: int
    suggestions: list[str] = field(default_factory=list)
    stmt_line: int = 0  # 0-based first line of the statement that holds it
    stmt_end_line: int = 0
    code: str = ""  # short rule code, e.g. "unknown-column", "pandas-filter"
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "code": self.code, "message": self.message,
            "line": self.line, "col": self.col, "end_line": self.end_line,
            "end_col": self.end_col, "suggestions": list(self.suggestions), "data": self.data,
        }


@dataclass
class Statement:
    node: ast.stmt
    target: str | None
    value: ast.expr
    snippet: str  # "(" + source of value + ")"
    line: int  # 1-based like ast
    col: int
    end_line: int
    end_col: int


@dataclass
class Binding:
    """What a name holds after a line: an exact Ibis value, only its type, or nothing known."""

    end_line: int  # 1-based line after which it holds
    name: str
    value: Any = None  # an Ibis expression (or schema) built exactly
    type: type | None = None  # its class when only the type is known (columns unknown)
    scope: tuple[int, int] | None = None  # 1-based lines of the function it is local to


@dataclass
class Analysis:
    code: str
    schemas: Schemas
    tree: ast.Module | None
    env: dict[str, Any]  # module name -> Ibis value, after the last statement
    problems: list[Problem]
    statements: list[Statement]  # statements evaluated through the gate
    blanked_lines: list[int]  # 1-based lines blanked or repaired to make the document parse
    types: dict[str, type] = field(default_factory=dict)  # module names known by type only
    bindings: list[Binding] = field(default_factory=list)
    seen: int = 0  # statements that compute a value (assignments, expressions, returns)
    modeled_lines: list[int] = field(default_factory=list)  # 0-based first lines of statements
    # whose result the analysis knows: an exact value, or its Ibis type

    def env_before(self, line0: int) -> dict[str, Any]:
        """Names bound to exact Ibis values by statements that end before 0-based `line0`."""
        return {n: b.value for n, b in self._visible(line0).items() if b.value is not None}

    def types_before(self, line0: int) -> dict[str, type]:
        """Names whose class is known before 0-based `line0` (exact values included)."""
        return {n: (b.type if b.value is None else type(b.value))
                for n, b in self._visible(line0).items() if b.value is not None or b.type}

    def _visible(self, line0: int) -> dict[str, Binding]:
        out: dict[str, Binding] = {}
        for b in self.bindings:
            if b.end_line - 1 >= line0:
                continue
            if b.scope is not None and not (b.scope[0] - 1 <= line0 <= b.scope[1] - 1):
                continue
            out[b.name] = b
        return out




def char_col(lines: list[str], line0: int, byte_col: int) -> int:
    """UTF-8 byte column (what ast gives) -> character column on 0-based `line0`."""
    if not (0 <= line0 < len(lines)):
        return byte_col
    text = lines[line0]
    if text.isascii():
        return min(byte_col, len(text))
    return len(text.encode()[:byte_col].decode(errors="ignore"))


def _map_pos(stmt: Statement, line: int | None, col: int | None) -> tuple[int, int] | None:
    """Snippet position (1-based line, 0-based col, snippet = '(' + value + ')') -> document."""
    if line is None:
        return None
    col = col or 0
    if line == 1:
        return stmt.line - 1, stmt.col + max(col - 1, 0)
    return stmt.line - 1 + line - 1, col


_DID_YOU_MEAN = re.compile(r"did you mean", re.IGNORECASE)

# pandas spellings people carry over, and the Ibis method that does the job
PANDAS_METHODS = {
    "groupby": "group_by", "sort_values": "order_by", "astype": "cast", "query": "filter",
    "assign": "mutate", "drop_duplicates": "distinct", "dropna": "drop_null",
    "fillna": "fill_null", "isna": "isnull", "notna": "notnull", "nunique": "nunique",
    "to_frame": "as_table", "rename_axis": "rename", "agg": "agg", "aggregate": "aggregate",
    "sort_index": "order_by", "reset_index": "select", "apply": "mutate",
}
_MISSING_NAME = re.compile(r"(?:no (?:column|attribute)|has no attribute) '([^']+)'")


def problem_from_gate(stmt: Statement, err: Any, lines: list[str]) -> Problem:
    start = _map_pos(stmt, getattr(err, "line", None), getattr(err, "col", None))
    end = _map_pos(stmt, getattr(err, "end_line", None), getattr(err, "end_col", None))
    if start is None:
        start = (stmt.line - 1, stmt.col)
        end = (stmt.end_line - 1, stmt.end_col)
    if end is None or end < start:
        end = (start[0], start[1] + 1)
    # The gate places errors on snippet positions; clamp to the statement.
    start = max(start, (stmt.line - 1, stmt.col))
    if end > (stmt.end_line - 1, stmt.end_col):
        end = (stmt.end_line - 1, stmt.end_col)
        if end <= start:
            start = (stmt.line - 1, stmt.col)
    start = (start[0], char_col(lines, start[0], start[1]))
    end = (end[0], char_col(lines, end[0], end[1]))
    message = str(getattr(err, "message", err)).strip().split("\n")[0][:300]
    suggestions = list(getattr(err, "suggestions", []) or [])
    if suggestions and not _DID_YOU_MEAN.search(message):
        message += " — did you mean " + " or ".join(repr(s) for s in suggestions[:3]) + "?"
    kind = getattr(err, "kind", "ibis")
    missing = _MISSING_NAME.search(message)
    data: dict[str, Any] = {}
    if missing:
        data["name"] = missing.group(1)
        ibis_name = PANDAS_METHODS.get(missing.group(1))
        if kind == "attribute" and ibis_name and ibis_name != missing.group(1):
            message = (f"`.{missing.group(1)}` is pandas; Ibis spells it `.{ibis_name}` "
                       f"— did you mean '{ibis_name}'?")
            return Problem(
                kind="pandas", message=message, line=start[0], col=start[1], end_line=end[0],
                end_col=end[1], suggestions=[ibis_name], stmt_line=stmt.line - 1,
                stmt_end_line=stmt.end_line - 1, code="pandas-method", data=data,
            )
    code = {"attribute": "unknown-attribute", "name": "unknown-name", "type": "type-mismatch"}.get(
        kind, "ibis-error"
    )
    if kind == "attribute" and suggestions:
        code = "unknown-column"
    return Problem(
        kind=kind, message=message, line=start[0], col=start[1], end_line=end[0],
        end_col=end[1], suggestions=suggestions, stmt_line=stmt.line - 1,
        stmt_end_line=stmt.end_line - 1, code=code, data=data,
    )


def pandas_lint(stmt: Statement, tables: dict[str, Any], lines: list[str]) -> list[Problem]:
    """Pandas idioms that Ibis accepts (deprecated) or rejects: `t[t.x > 1]`."""
    import ibis.expr.types as ir

    out = []
    for node in ast.walk(stmt.value):
        if not isinstance(node, ast.Subscript):
            continue
        sl = node.slice
        if isinstance(sl, (ast.Compare, ast.BoolOp, ast.UnaryOp)) or (
            isinstance(sl, ast.BinOp) and isinstance(sl.op, (ast.BitAnd, ast.BitOr))
        ):
            base = node.value
            table = tables.get(base.id) if isinstance(base, ast.Name) else None
            if isinstance(table, ir.Table):
                # `stmt.value` belongs to the document's tree: positions are the document's
                line0 = node.lineno - 1
                col = char_col(lines, line0, node.col_offset)
                eline0 = node.end_lineno - 1
                ecol = char_col(lines, eline0, node.end_col_offset)
                out.append(Problem(
                    kind="pandas", code="pandas-filter",
                    message=f"pandas-style boolean indexing `{base.id}[...]`; in Ibis use "
                            f"`{base.id}.filter(...)`",
                    line=line0, col=col, end_line=eline0, end_col=ecol,
                    stmt_line=stmt.line - 1, stmt_end_line=stmt.end_line - 1,
                ))
    return out
