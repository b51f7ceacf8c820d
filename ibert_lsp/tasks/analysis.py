"""Find the Ibis expressions in a Python document and check each through the gate.

Shared by diagnostics, quick fixes, completion (the type of the receiver before a `.`) and the
CLI. Pure: text and schemas in, `Analysis` out; nothing here runs user code except through
`ibert_lsp.validate.safe_eval.evaluate`.

Positions in `Problem` are LSP-style: 0-based lines, 0-based columns (characters).
"""

from __future__ import annotations

import ast
import builtins
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.validate.isolation import isolated

# Gate error kinds that describe a real mistake in the user's code (the others mean "we cannot
# check this statement", e.g. it calls `.execute()`, which the gate never runs).
REPORTED_KINDS = ("name", "attribute", "type", "ibis", "pandas")

# Names always available to checked snippets besides the tables.
GATE_NAMES = {"ibis", "_"}
_BUILTINS = set(dir(builtins))

MAX_STATEMENTS = 400  # statements checked per document (huge documents: the first ones)
MAX_SNIPPET_CHARS = 4000


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
class Analysis:
    code: str
    schemas: Schemas
    tree: ast.Module | None
    env: dict[str, Any]  # variable -> ibis expression, after the last checked statement
    problems: list[Problem]
    statements: list[Statement]
    blanked_lines: list[int]  # 1-based lines dropped to make the document parse

    _history: list[tuple[int, str, Any]] = field(default_factory=list)  # (end_line1, name, expr)

    def env_before(self, line0: int) -> dict[str, Any]:
        """Variables bound by statements that end before 0-based `line0` (for completion)."""
        return _env_before(self, line0)


def _env_before(analysis: Analysis, line0: int) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for end_line1, name, expr in analysis._history:
        if end_line1 - 1 < line0:
            if expr is None:
                env.pop(name, None)
            else:
                env[name] = expr
    return env


_TABLES_CACHE: dict[str, dict[str, Any]] = {}


def base_tables(schemas: Schemas) -> dict[str, Any]:
    """Unbound ibis tables for `schemas` (cached by content)."""
    import json

    from ibert_lsp.schema.types import to_ibis_tables

    key = json.dumps(schemas, sort_keys=True)
    tables = _TABLES_CACHE.get(key)
    if tables is None:
        if len(_TABLES_CACHE) > 32:
            _TABLES_CACHE.clear()
        tables = _TABLES_CACHE[key] = to_ibis_tables(schemas) if schemas else {}
    return tables


@isolated
def gate_eval(snippet: str, schemas: Schemas, env: dict[str, Any] | None = None, *,
              any_value: bool = False) -> Any:
    """Evaluate an untrusted snippet through the gate with the schema tables and `env` bound.

    `any_value=True` accepts any value the gate lets through (e.g. a `GroupedTable` half-way
    through `t.group_by(...).agg(...)`), not only finished Ibis expressions.
    """
    from ibert_lsp.validate import safe_eval

    tables = {**base_tables(schemas), **(env or {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if any_value:
            return safe_eval.run(snippet, schemas, tables=tables)[0]
        return safe_eval.evaluate(snippet, schemas, tables=tables)


# Re-analysing after each keystroke re-evaluates only the statements whose text or inputs
# changed: results are memoised by (snippet, schemas, identity of the expressions it reads).
_STMT_CACHE: OrderedDict[tuple, tuple] = OrderedDict()
_STMT_CACHE_SIZE = 4096
_STMT_LOCK = threading.Lock()


def _cached_eval(snippet: str, schemas: Schemas, env: dict[str, Any], free: set[str],
                 schema_key: str | None = None) -> Any:
    import json

    from ibert_lsp.validate.errors import GateError

    names = sorted(n for n in free if n in env)
    used = tuple((n, id(env[n])) for n in names)
    held = tuple(env[n] for n in names)  # keeps those ids unique while the entry lives
    key = (snippet, schema_key or json.dumps(schemas, sort_keys=True), used)
    with _STMT_LOCK:
        hit = _STMT_CACHE.get(key)
        if hit is not None:
            _STMT_CACHE.move_to_end(key)
    if hit is not None:
        kind, value, _ = hit
        if kind == "err":
            raise GateError(value.kind, value.message, line=value.line, col=value.col,
                            end_line=value.end_line, end_col=value.end_col,
                            suggestions=list(value.suggestions))
        return value
    try:
        expr = gate_eval(snippet, schemas, env)
    except GateError as err:
        with _STMT_LOCK:
            _STMT_CACHE[key] = ("err", err, held)
            while len(_STMT_CACHE) > _STMT_CACHE_SIZE:
                _STMT_CACHE.popitem(last=False)
        raise
    with _STMT_LOCK:
        _STMT_CACHE[key] = ("ok", expr, held)
        while len(_STMT_CACHE) > _STMT_CACHE_SIZE:
            _STMT_CACHE.popitem(last=False)
    return expr


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


def _free_names(node: ast.AST) -> set[str]:
    """Names loaded in `node` that are not bound by a lambda or comprehension inside it."""
    bound: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Lambda):
            for a in sub.args.args + sub.args.kwonlyargs + sub.args.posonlyargs:
                bound.add(a.arg)
        elif isinstance(sub, ast.comprehension):
            for t in ast.walk(sub.target):
                if isinstance(t, ast.Name):
                    bound.add(t.id)
    return {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    } - bound


def _table_ref(call: ast.expr, schemas: Schemas) -> str | None:
    """`con.table("events")` / `ibis.table(..., name="events")` -> "events" when known."""
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return None
    if call.func.attr != "table":
        return None
    for arg in list(call.args[:1]) + [k.value for k in call.keywords if k.arg == "name"]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value in schemas:
            return arg.value
    return None


def _is_ibis_table_decl(value: ast.expr) -> bool:
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "table"
        and isinstance(value.func.value, ast.Name)
        and value.func.value.id == "ibis"
    )


def _segment(lines: list[str], node: ast.AST) -> str | None:
    """Source of `node` (ast columns are UTF-8 byte offsets)."""
    try:
        ln, col = node.lineno, node.col_offset
        eln, ecol = node.end_lineno, node.end_col_offset
    except AttributeError:
        return None
    if ln == eln:
        return lines[ln - 1].encode()[col:ecol].decode(errors="replace")
    parts = [lines[ln - 1].encode()[col:].decode(errors="replace")] + lines[ln: eln - 1] + [
        lines[eln - 1].encode()[:ecol].decode(errors="replace")]
    return "\n".join(parts)


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


def _pandas_lint(stmt: Statement, env: dict[str, Any], lines: list[str],
                 schemas: Schemas | None = None) -> list[Problem]:
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
            table = env.get(base.id)
            if table is None and schemas and base.id in schemas:
                table = base_tables(schemas).get(base.id)
            if isinstance(base, ast.Name) and isinstance(table, ir.Table):
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


def statements(tree: ast.Module) -> list[ast.stmt]:
    """Module-level statements, plus those in `if`/`with`/`try` blocks and function bodies."""
    out: list[ast.stmt] = []

    def walk(body: list[ast.stmt]) -> None:
        for st in body:
            if len(out) >= MAX_STATEMENTS:
                return
            if isinstance(st, (ast.Assign, ast.AnnAssign, ast.Expr, ast.Return)):
                out.append(st)
            elif isinstance(st, (ast.If, ast.With, ast.For, ast.While)):
                walk(st.body)
                walk(getattr(st, "orelse", []))
            elif isinstance(st, ast.Try) or isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(st.body)

    walk(tree.body)
    return out


@isolated
def analyze(
    code: str, schemas: Schemas, *, check: bool = True, env: dict[str, Any] | None = None
) -> Analysis:
    """Check every Ibis statement of `code` against `schemas` (plus tables declared in `code`).

    Statements are evaluated in order; a variable bound to an Ibis expression is known to the
    statements after it. Statements that use a name we do not know, or that the gate will not
    run (I/O, `.execute()`), are skipped rather than reported.
    """
    from ibert_lsp.validate.errors import GateError

    lines = code.split("\n")
    tree, blanked = parse_tolerant(code)
    analysis = Analysis(code, dict(schemas), tree, {}, [], [], blanked)
    if tree is None:
        return analysis

    env = dict(env or {})
    history = analysis._history
    import json

    schema_key = json.dumps(schemas, sort_keys=True)
    for st in statements(tree):
        target: str | None = None
        if isinstance(st, ast.Assign):
            if len(st.targets) != 1 or not isinstance(st.targets[0], ast.Name):
                for t in st.targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and n.id in env:
                            env.pop(n.id)
                            history.append((st.end_lineno, n.id, None))
                continue
            target, value = st.targets[0].id, st.value
        elif isinstance(st, ast.AnnAssign):
            if not isinstance(st.target, ast.Name) or st.value is None:
                continue
            target, value = st.target.id, st.value
        elif isinstance(st, (ast.Expr, ast.Return)):
            if st.value is None:
                continue
            value = st.value
        else:
            continue
        # Table declarations / references: bind from the schema, nothing to check.
        ref = None
        if target and target in schemas and _is_ibis_table_decl(value):
            ref = target
        elif target:
            ref = _table_ref(value, schemas)
        if ref is not None:
            try:
                env[target] = base_tables(schemas)[ref]  # same object every run: cacheable
                history.append((st.end_lineno, target, env[target]))
            except Exception:
                pass
            continue
        free = _free_names(value)
        if not free & (set(env) | set(schemas)):
            if target in env:  # rebound to something that is not Ibis
                env.pop(target)
                history.append((st.end_lineno, target, None))
            continue
        unknown = free - set(env) - set(schemas) - GATE_NAMES
        if unknown:
            if target in env:
                env.pop(target)
                history.append((st.end_lineno, target, None))
            continue
        seg = _segment(lines, value)
        if seg is None or len(seg) > MAX_SNIPPET_CHARS:
            continue
        stmt = Statement(
            st, target, value, "(" + seg + ")", value.lineno, value.col_offset,
            value.end_lineno, value.end_col_offset,
        )
        analysis.statements.append(stmt)
        if not check:
            continue
        try:
            expr = _cached_eval(stmt.snippet, schemas, env, free, schema_key)
        except GateError as err:
            if err.kind in REPORTED_KINDS:
                analysis.problems.append(problem_from_gate(stmt, err, lines))
            if target in env:
                env.pop(target)
                history.append((st.end_lineno, target, None))
            continue
        except Exception as err:  # a gate bug must not hide the other statements
            analysis.problems.append(
                problem_from_gate(stmt, GateError("ibis", str(err)), lines))
            continue
        analysis.problems.extend(_pandas_lint(stmt, env, lines, schemas))
        if target:
            env[target] = expr
            history.append((st.end_lineno, target, expr))
    analysis.env = env
    from ibert_lsp.validate import isolation

    if isolation._IN_WORKER:  # the caller needs positions and values, not the module's tree
        analysis.tree = None
    return analysis
