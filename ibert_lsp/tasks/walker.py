"""The statement walker behind `analysis.analyze`: names per scope and in order, each bound to
an exact Ibis value, only a type, or nothing known; statements checked through the gate only
when every name they read is known."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.problems import (
    Analysis,
    Binding,
    Statement,
    pandas_lint,
    problem_from_gate,
)
from ibert_lsp.tasks.snippets import _cached_eval, _free_names, _segment, base_tables
from ibert_lsp.tasks.table_sources import TableSource, connection_of, strip_pandas, table_of
from ibert_lsp.tasks.typeflow import callee_known, node_type
from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError

# Gate error kinds that describe a real mistake in the user's code (the others mean "we cannot
# check this statement", e.g. it calls `.execute()`, which the gate never runs).
REPORTED_KINDS = ("attribute", "type", "ibis")

# Names the gate binds itself (unless the document rebinds them).
GATE_NAMES = frozenset({"ibis", "_", "s", "selectors"})
TABLE_ANNOTATIONS = frozenset({"Table", "ir.Table", "ibis.Table", "ibis.expr.types.Table",
                               "ibis.expr.types.relations.Table", "ibis.ir.Table"})

# Table methods no other dataframe library has (pandas, polars, Spark): a parameter the
# function calls one of these on is an Ibis table, whose columns are unknown (Kedro, Dagster
# and Hamilton nodes rarely annotate their inputs)
IBIS_ONLY_TABLE_METHODS = frozenset({
    "mutate", "order_by", "relocate", "execute", "asof_join", "anti_join", "semi_join",
    "inner_join", "left_join", "outer_join", "cross_join", "to_pyarrow_batches"})

MAX_STATEMENTS = 400  # statements checked per document (huge documents: the first ones)
MAX_SNIPPET_CHARS = 4000


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
    """The annotation as written, a string annotation (`"ir.Table"`) unquoted."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip()
    try:
        return ast.unparse(node) if node is not None else ""
    except Exception:  # noqa: BLE001
        return ""


def _ibis_only_receivers(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function's body calls an Ibis-only Table method on, directly or at the end
    of a chain that starts with them (`x.mutate(...)`, `x.join(y, ...).order_by(...)`)."""
    out = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr in IBIS_ONLY_TABLE_METHODS:
            root = n.func.value
            while isinstance(root, (ast.Call, ast.Attribute, ast.Subscript)):
                root = root.func if isinstance(root, ast.Call) else root.value
            if isinstance(root, ast.Name):
                out.add(root.id)
    return out


_IBIS_PREFIXES = ("ir", "ibis", "ibis.expr.types", "ibis.ir", "ibis.types")


def annotation_type(node: ast.AST | None) -> type | None:
    """The Ibis expression class an annotation names (`ir.Table`, `"ibis.Table"`,
    `ir.StringValue`, `ir.Table | None`, `Optional[ir.Table]`), else None. A bare name counts
    only for `Table`: `Column` or `Value` alone may well be another library's."""
    import ibis
    import ibis.expr.types as ir

    text = _annotation_text(node)
    text = re.sub(r"^(typing\.)?Optional\[(.*)\]$", r"\2", text).strip()
    text = re.sub(r"\s*\|\s*None$|^None\s*\|\s*", "", text).strip()
    if text in TABLE_ANNOTATIONS:
        return ir.Table
    prefix, _, name = text.rpartition(".")
    if prefix not in _IBIS_PREFIXES:
        return None
    cls = getattr(ir, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, ibis.Expr) else None


def _is_marimo_cell(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`@app.cell` (or `@app.cell(hide_code=True)`): a marimo cell, whose parameters are the
    names other cells return."""
    from ibert_lsp.tasks.typeflow import dotted_name

    return any(dotted_name(d.func if isinstance(d, ast.Call) else d) in ("app.cell",)
               for d in fn.decorator_list)


def _cell_returns(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The names a marimo cell returns (`return (t, con)`, `return t,`, `return t`)."""
    last = fn.body[-1] if fn.body else None
    if not isinstance(last, ast.Return) or last.value is None:
        return []
    items = last.value.elts if isinstance(last.value, ast.Tuple) else [last.value]
    return [e.id for e in items if isinstance(e, ast.Name)]


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
        # functions of the document annotated `-> ir.Table`: a call to one is a Table
        self.returns: dict[str, type] = dict(parent.returns) if parent else {}
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
        self.current: int | None = None  # 0-based first line of the statement being modeled
        # marimo notebooks: what each cell returns, by name (its parameters in later cells)
        self.cell_exports: dict[str, tuple[Any, type | None]] = {}

    # bindings -----------------------------------------------------------------------------
    def bind(self, scope: Scope, name: str, line: int, *, value: Any = None,
             typ: type | None = None) -> None:
        scope.values.pop(name, None)
        scope.types.pop(name, None)
        scope.returns.pop(name, None)
        scope.opaque.discard(name)
        scope.connections.pop(name, None)
        if value is not None:
            scope.values[name] = value
        elif typ is not None:
            scope.types[name] = typ
        else:
            scope.opaque.add(name)
        self.an.bindings.append(Binding(line, name, value, typ, scope.lines))
        if (value is not None or typ is not None) and self.current is not None:
            self.an.modeled_lines.append(self.current)

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
            self.current = None
            if st.lineno in self.an.blanked_lines:
                # a statement being typed, repaired to parse (brackets closed): not written
                # yet, so it binds nothing; the names keep what they held (function bodies
                # still see its calls: `typeflow`, parameters used as tables)
                continue
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
        used_as_table = _ibis_only_receivers(st)
        cell = _is_marimo_cell(st)
        for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if p is None:
                continue
            if cell and p.arg in GATE_NAMES:  # marimo passes the `import ibis` of another cell
                for d in (inner.values, inner.types, inner.connections):
                    d.pop(p.arg, None)
                inner.opaque.discard(p.arg)
                continue
            if cell and p.arg in self.cell_exports:  # what another cell returned under it
                value, typ = self.cell_exports[p.arg]
                self.bind(inner, p.arg, st.lineno, value=value, typ=typ)
                continue
            typ = annotation_type(p.annotation) or (
                ir.Table if p.annotation is None and p.arg in used_as_table else None)
            self.bind(inner, p.arg, st.lineno, typ=typ)
        self.walk(st.body, inner, end)
        if cell:
            for name in _cell_returns(st):
                self.cell_exports[name] = (inner.values.get(name), inner.types.get(name))
            if st.name == "_":  # marimo's anonymous cells do not shadow the deferred `_`
                return
        self.forget(scope, [st.name], st.end_lineno or st.lineno)
        returns = annotation_type(st.returns)
        if returns is not None:
            scope.returns[st.name] = returns

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
        parsed = self.assignment(st, scope)
        if parsed is None:
            return
        target, others, value = parsed
        line = st.end_lineno or st.lineno
        if value is None or isinstance(value, ast.Constant):
            if target:
                self.forget(scope, [target], line)
            return
        self.count += 1
        self.an.seen += 1
        self.current = st.lineno - 1
        self.forget(scope, others, line)
        original = value
        value = strip_pandas(value, scope.pandas)
        if self.bind_source(value, target, line, scope):
            return
        spliced = None if value is not original else self.splice_sources(value, scope)
        stmt_lines, sources = spliced or (self.lines, {})
        free = _free_names(value) if not sources else _snippet_names(stmt_lines, value)
        if free is None or not all(self.known(n, scope) or n in sources for n in free):
            known_types = {**scope.types, **{n: type(v) for n, v in scope.values.items()},
                           **{f"{n}()": t for n, t in scope.returns.items()}}
            typ = node_type(value, known_types)
            if target:
                self.bind(scope, target, line, typ=typ)
            elif typ is not None or callee_known(value, known_types):
                self.an.modeled_lines.append(st.lineno - 1)  # `t.head()`: what it is, is known
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
        if self.check:
            self.check_statement(st, stmt, scope, target, line, value, free, sources, rewritten)

    def assignment(self, st: ast.stmt, scope: Scope
                   ) -> tuple[str | None, list[str], ast.expr | None] | None:
        """(the name assigned, other names assigned, the value), or None when there is nothing
        to evaluate (a bare annotation binds its type here)."""
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
                    typ = annotation_type(st.annotation)
                    if typ is not None:
                        self.bind(scope, target, st.end_lineno or st.lineno, typ=typ)
                    return None
        elif isinstance(st, ast.AugAssign):
            if not isinstance(st.target, ast.Name):
                return None
            target = st.target.id
            value = ast.copy_location(ast.BinOp(ast.Name(target, ast.Load()), st.op, st.value), st)
            ast.fix_missing_locations(value)
        else:
            value = st.value  # type: ignore[attr-defined]
        return target, others, value

    def bind_source(self, value: ast.expr, target: str | None, line: int, scope: Scope) -> bool:
        """A connection or a table source (database, file, memtable, settings): bound without
        the gate. True when `value` was one."""
        con = connection_of(value, self.root)
        if con is not None:
            if target:  # a connection: typed as its backend (completion, hover), never called
                from ibert_lsp.tasks.namespaces import backend_class

                self.bind(scope, target, line, typ=backend_class(con.backend))
                scope.connections[target] = con
            return True
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
            return True
        return False

    def check_statement(self, st: ast.stmt, stmt: Statement, scope: Scope, target: str | None,
                        line: int, value: ast.expr, free: set[str], sources: dict,
                        rewritten: bool) -> None:
        """Evaluate the statement through the gate: bind its value, or its type and the problem
        the gate reports."""
        import ibis

        env = {**{n: scope.values[n] for n in free if n in scope.values}, **sources}
        try:
            result = _cached_eval(stmt.snippet, self.free_tables, env, free, self.schema_key)
        except GateError as err:
            if err.kind in REPORTED_KINDS and err.line is not None and not rewritten:
                self.an.problems.append(problem_from_gate(stmt, err, self.lines))
            known_types = {**scope.types, **{n: type(v) for n, v in scope.values.items()}}
            typ = node_type(value, known_types)
            if target:
                self.bind(scope, target, line, typ=typ)
            elif err.kind in ("forbidden", "limit") and (
                    typ is not None or callee_known(value, known_types)):
                self.an.modeled_lines.append(st.lineno - 1)  # `t.execute()`: known, not run
            return
        except Exception:  # noqa: BLE001 - a gate bug must not hide the other statements
            if target:
                self.forget(scope, [target], line)
            return
        tables = {**base_tables(self.free_tables), **scope.values}
        self.an.problems.extend(pandas_lint(stmt, tables, self.lines))
        if not target:
            self.an.modeled_lines.append(st.lineno - 1)
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
