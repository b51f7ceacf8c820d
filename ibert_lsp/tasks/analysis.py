"""Model a Python document's Ibis code, statement by statement, and check what can be checked.

Real code gets tables from connections, files, memtables and parameters; the analysis follows
each name in order and per scope (module, function bodies), binds what it can build exactly
(schemas from settings, `ibis.table(...)` declarations, literal memtables, databases and data
files inside the workspace), types what it can only type (a table whose columns are unknown
still has every Table method), and leaves the rest *unknown*. A statement is evaluated through
the gate only when every name it reads is known; a problem is reported only then — what ibert
cannot model stays silent. Shared by diagnostics, quick fixes, completion, hover and the CLI;
runs in a gate worker process when isolation is on.
"""

from __future__ import annotations

import ast
import json
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.problems import (  # noqa: F401 - the analysis' public names
    PANDAS_METHODS,
    Problem,
    Statement,
    char_col,
    pandas_lint,
    problem_from_gate,
)
from ibert_lsp.tasks.table_sources import TableSource, connection_of, strip_pandas, table_of
from ibert_lsp.tasks.typeflow import node_type
from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.isolation import isolated

# Gate error kinds that describe a real mistake in the user's code (the others mean "we cannot
# check this statement", e.g. it calls `.execute()`, which the gate never runs).
REPORTED_KINDS = ("attribute", "type", "ibis")

# Names the gate binds itself (unless the document rebinds them).
GATE_NAMES = frozenset({"ibis", "_", "s", "selectors"})
TABLE_ANNOTATIONS = frozenset({"Table", "ir.Table", "ibis.Table", "ibis.expr.types.Table",
                               "ibis.expr.types.relations.Table", "ibis.ir.Table"})

MAX_STATEMENTS = 400  # statements checked per document (huge documents: the first ones)
MAX_SNIPPET_CHARS = 4000


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
    blanked_lines: list[int]  # 1-based lines dropped to make the document parse
    types: dict[str, type] = field(default_factory=dict)  # module names known by type only
    bindings: list[Binding] = field(default_factory=list)
    seen: int = 0  # statements that compute a value (assignments, expressions, returns)

    @property
    def modeled(self) -> int:
        return len(self.statements)

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
    """Any value the gate lets through (a SQL string, a schema, a grouped table), memoised."""
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
        expr = gate_eval(snippet, schemas, env, any_value=True)
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


def _declared_tables(tree: ast.Module) -> set[str]:
    """Names the document itself declares with `ibis.table(...)`: bound where declared, in
    order, never from the schema scan (two declarations of one name are two tables)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "table" \
                and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == "ibis":
            out.add(node.targets[0].id)
    return out


def _annotation_text(node: ast.AST | None) -> str:
    try:
        return ast.unparse(node) if node is not None else ""
    except Exception:  # noqa: BLE001
        return ""


def _target_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


class Scope:
    """Names in one scope (the module, or a function body on top of the module's names)."""

    def __init__(self, parent: Scope | None = None, lines: tuple[int, int] | None = None):
        self.values: dict[str, Any] = dict(parent.values) if parent else {}
        self.types: dict[str, type] = dict(parent.types) if parent else {}
        self.opaque: set[str] = set(parent.opaque) if parent else set()
        self.connections: dict[str, Any] = dict(parent.connections) if parent else {}
        self.pandas: set[str] = set(parent.pandas) if parent else set()
        self.lines = lines


class _Walker:
    """Walks statements in order, per scope, binding names and checking what is known."""

    def __init__(self, analysis: Analysis, lines: list[str], free_tables: Schemas,
                 root: str | None, check: bool) -> None:
        self.an = analysis
        self.lines = lines
        self.free_tables = free_tables
        self.schema_key = json.dumps(free_tables, sort_keys=True)
        self.root = root
        self.check = check
        self.count = 0

    # bindings -----------------------------------------------------------------------------
    def bind(self, scope: Scope, name: str, line: int, *, value: Any = None,
             typ: type | None = None) -> None:
        scope.values.pop(name, None)
        scope.types.pop(name, None)
        scope.opaque.discard(name)
        scope.connections.pop(name, None)
        if value is not None:
            scope.values[name] = value
        elif typ is not None:
            scope.types[name] = typ
        else:
            scope.opaque.add(name)
        self.an.bindings.append(Binding(line, name, value, typ, scope.lines))

    def forget(self, scope: Scope, names: list[str], line: int) -> None:
        for name in names:
            self.bind(scope, name, line)

    def known(self, name: str, scope: Scope) -> bool:
        if name in scope.values:
            return True
        if name in scope.types or name in scope.opaque or name in scope.connections:
            return False
        return name in GATE_NAMES or name in self.free_tables or name in policy.SAFE_BUILTINS \
            or name in policy.SAFE_CONSTANTS

    # statements ---------------------------------------------------------------------------
    def walk(self, body: list[ast.stmt], scope: Scope, end: int | None = None) -> None:
        """`end`: the last line the enclosing block owns (a function's scope reaches to the
        line before its next sibling, so a half-typed last line still belongs to it)."""
        end = end or len(self.lines)
        for i, st in enumerate(body):
            if self.count >= MAX_STATEMENTS:
                return
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                until = body[i + 1].lineno - 1 if i + 1 < len(body) else end
                self.function(st, scope, max(until, st.end_lineno or st.lineno))
            elif isinstance(st, ast.ClassDef):
                self.forget(scope, [st.name], st.end_lineno or st.lineno)
            elif isinstance(st, (ast.If, ast.While)):
                self.walk(st.body, scope)
                self.walk(st.orelse, scope)
            elif isinstance(st, (ast.For, ast.AsyncFor)):
                self.forget(scope, _target_names(st.target), st.lineno)
                self.walk(st.body, scope)
                self.walk(st.orelse, scope)
            elif isinstance(st, (ast.With, ast.AsyncWith)):
                for item in st.items:
                    if item.optional_vars is not None:
                        self.forget(scope, _target_names(item.optional_vars), st.lineno)
                self.walk(st.body, scope)
            elif isinstance(st, ast.Try) or type(st).__name__ == "TryStar":
                self.walk(st.body, scope)
                for h in st.handlers:
                    if h.name:
                        self.forget(scope, [h.name], h.lineno)
                    self.walk(h.body, scope)
                self.walk(st.orelse, scope)
                self.walk(st.finalbody, scope)
            elif isinstance(st, (ast.Import, ast.ImportFrom)):
                self.imports(st, scope)
            elif isinstance(st, ast.Delete):
                for t in st.targets:
                    self.forget(scope, _target_names(t), st.lineno)
            elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)):
                self.statement(st, scope)

    def function(self, st: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope,
                 end: int) -> None:
        """Parameters are unknown unless annotated as a Table (then: a Table, columns unknown)."""
        import ibis.expr.types as ir

        inner = Scope(scope, (st.lineno, end))
        a = st.args
        for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if p is None:
                continue
            typed = _annotation_text(p.annotation) in TABLE_ANNOTATIONS
            self.bind(inner, p.arg, st.lineno, typ=ir.Table if typed else None)
        self.walk(st.body, inner, end)
        self.forget(scope, [st.name], st.end_lineno or st.lineno)

    def imports(self, st: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        line = st.end_lineno or st.lineno
        for alias in st.names:
            module = alias.name if isinstance(st, ast.Import) else f"{st.module}.{alias.name}"
            bound = alias.asname or alias.name.split(".")[0]
            restated = (module in ("ibis", "ibis.selectors") and bound in ("ibis", "s", "selectors")
                        and (bound != "ibis" or alias.asname in (None, "ibis"))) or (
                module in ("ibis._", "ibis.deferred") and bound == "_") or (
                module == "ibis.selectors" and bound in ("s", "selectors"))
            if module.split(".")[0] == "pandas" and module.count(".") == 0:
                scope.pandas.add(bound)
            if restated:  # the gate binds these names itself
                for d in (scope.values, scope.types, scope.connections):
                    d.pop(bound, None)
                scope.opaque.discard(bound)
            else:
                self.forget(scope, [bound], line)

    def statement(self, st: ast.stmt, scope: Scope) -> None:
        import ibis

        target: str | None = None
        others: list[str] = []
        value: ast.expr | None
        if isinstance(st, ast.Assign):
            value = st.value
            if len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                target = st.targets[0].id
            else:
                others = [n for t in st.targets for n in _target_names(t)]
        elif isinstance(st, ast.AnnAssign):
            value = st.value
            if isinstance(st.target, ast.Name):
                target = st.target.id
                if value is None:
                    if _annotation_text(st.annotation) in TABLE_ANNOTATIONS:
                        import ibis.expr.types as ir

                        self.bind(scope, target, st.end_lineno or st.lineno, typ=ir.Table)
                    return
        elif isinstance(st, ast.AugAssign):
            if not isinstance(st.target, ast.Name):
                return
            target = st.target.id
            value = ast.copy_location(ast.BinOp(ast.Name(target, ast.Load()), st.op, st.value), st)
            ast.fix_missing_locations(value)
        else:
            value = st.value  # type: ignore[attr-defined]
        line = st.end_lineno or st.lineno
        if value is None or isinstance(value, ast.Constant):
            if target:
                self.forget(scope, [target], line)
            return
        self.count += 1
        self.an.seen += 1
        self.forget(scope, others, line)
        original = value
        value = strip_pandas(value, scope.pandas)
        con = connection_of(value, self.root)
        if con is not None:
            if target:
                self.bind(scope, target, line)
                scope.connections[target] = con
            return
        src = table_of(value, scope.connections, self.root, self.free_tables)
        if src is None:
            src = _configured_table(value, self.free_tables)
        if src is not None:
            if target:
                if src.schema:
                    name = src.name if src.name != "?" else target
                    self.bind(scope, target, line, value=_exact_table(name, src.schema))
                else:
                    import ibis.expr.types as ir

                    self.bind(scope, target, line, typ=ir.Table)
            return
        spliced = None if value is not original else self.splice_sources(value, scope)
        stmt_lines, sources = spliced or (self.lines, {})
        free = _free_names(value) if not sources else _snippet_names(stmt_lines, value)
        if free is None or not all(self.known(n, scope) or n in sources for n in free):
            typ = node_type(value, {**scope.types, **{n: type(v) for n, v in
                                                      scope.values.items()}})
            if target:
                self.bind(scope, target, line, typ=typ)
            return
        rewritten = value is not original or isinstance(st, ast.AugAssign)
        seg = ast.unparse(value) if rewritten else _segment(stmt_lines, value)
        if seg is None or len(seg) > MAX_SNIPPET_CHARS:
            if target:
                self.forget(scope, [target], line)
            return
        stmt = Statement(st, target, value, "(" + seg + ")", value.lineno, value.col_offset,
                         value.end_lineno or value.lineno, value.end_col_offset or 0)
        self.an.statements.append(stmt)
        if not self.check:
            return
        env = {**{n: scope.values[n] for n in free if n in scope.values}, **sources}
        try:
            result = _cached_eval(stmt.snippet, self.free_tables, env, free, self.schema_key)
        except GateError as err:
            if err.kind in REPORTED_KINDS and err.line is not None and not rewritten:
                self.an.problems.append(problem_from_gate(stmt, err, self.lines))
            if target:
                typ = node_type(value, {**scope.types, **{n: type(v) for n, v in
                                                          scope.values.items()}})
                self.bind(scope, target, line, typ=typ)
            return
        except Exception:  # noqa: BLE001 - a gate bug must not hide the other statements
            if target:
                self.forget(scope, [target], line)
            return
        tables = {**base_tables(self.free_tables), **scope.values}
        self.an.problems.extend(pandas_lint(stmt, tables, self.lines))
        if target:
            if isinstance(result, (ibis.Expr, ibis.Schema)):
                self.bind(scope, target, line, value=result)
            else:
                self.bind(scope, target, line, typ=type(result))


    def splice_sources(self, value: ast.expr, scope: Scope) -> tuple[list[str], dict] | None:
        """`con.table("x").filter(...)`: the table-source parts of a chain replaced, in a copy
        of the lines, by names of the same length bound to the tables ibert read — so the rest
        is checked by the gate with every position where the document has it."""
        found = []
        for node in ast.walk(value):
            if node is value or not isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)) \
                    or node.lineno != node.end_lineno:
                continue
            src = table_of(node, scope.connections, self.root, self.free_tables) \
                or _configured_table(node, self.free_tables)
            if src is not None and src.schema:
                found.append((node, src))
        if not found:
            return None
        spans = [(n.lineno, n.col_offset, n.end_col_offset or 0) for n, _ in found]
        outer = [(n, s) for (n, s), (ln, a, b) in zip(found, spans)
                 if not any(ln == l2 and a2 <= a and b <= b2 and (a2, b2) != (a, b)
                            for l2, a2, b2 in spans)]
        lines = list(self.lines)
        env: dict[str, Any] = {}
        for k, (node, src) in enumerate(sorted(outer, key=lambda p: (p[0].lineno, p[0].col_offset),
                                                reverse=True)):
            raw = lines[node.lineno - 1].encode()
            width = (node.end_col_offset or 0) - node.col_offset
            name = (f"IBERT{k}" + "_" * width)[:width]
            table = _exact_table(src.name if src.name != "?" else "t", src.schema)
            if width < len(f"IBERT{k}") or table is None:
                return None
            lines[node.lineno - 1] = (raw[:node.col_offset] + name.encode()
                                      + raw[node.end_col_offset:]).decode(errors="replace")
            env[name] = table
        return lines, env


def _snippet_names(lines: list[str], value: ast.expr) -> set[str] | None:
    seg = _segment(lines, value)
    try:
        return _free_names(ast.parse("(" + seg + ")", mode="eval")) if seg else None
    except (SyntaxError, ValueError, RecursionError):
        return None


def _configured_table(value: ast.expr, schemas: Schemas) -> TableSource | None:
    """`<anything>.table("events")` where the settings describe `events` (e.g. the `database`
    setting's tables through a connection object ibert cannot follow)."""
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
            and value.func.attr == "table" and value.args:
        name = value.args[0]
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value in schemas:
            return TableSource(name.value, schemas[name.value])
    return None


def _exact_table(name: str, schema: dict[str, str]) -> Any:
    """A table whose schema ibert read itself (database, file, settings): built directly."""
    import ibis

    try:
        return ibis.table(schema, name=name)
    except Exception:  # noqa: BLE001 - a type Ibis does not know: the columns stay unknown
        return None


@isolated
def analyze(code: str, schemas: Schemas, *, check: bool = True,
            env: dict[str, Any] | None = None, root: str | None = None) -> Analysis:
    """Model every statement of `code` in order; check those whose names are all known.

    `schemas`: tables the settings describe (and the document's own declarations, which are
    bound where they are declared instead). `env`: names already bound (a fix checks one
    statement in the environment of its line). `root`: the workspace folder; databases and data
    files the code opens with literal paths inside it are read (read-only) for their schemas.
    """
    lines = code.split("\n")
    tree, blanked = parse_tolerant(code)
    analysis = Analysis(code, dict(schemas), tree, {}, [], [], blanked)
    if tree is None:
        return analysis
    declared = _declared_tables(tree)
    free_tables = {k: v for k, v in schemas.items() if k not in declared}
    walker = _Walker(analysis, lines, free_tables, root, check)
    scope = Scope()
    for name, value in (env or {}).items():
        walker.bind(scope, name, 0, value=value)
    walker.walk(tree.body, scope)
    analysis.env = dict(scope.values)
    analysis.types = dict(scope.types)
    from ibert_lsp.validate import isolation

    if isolation._IN_WORKER:  # the caller needs positions and values, not the module's tree
        analysis.tree = None
        for b in analysis.bindings:
            if b.value is not None and not _portable(b.value):
                b.value, b.type = None, type(b.value)
    return analysis


def _portable(value: Any) -> bool:
    import ibis

    return isinstance(value, (ibis.Expr, ibis.Schema))
