"""Ibis→SQL: Ibis's own compiler is the engine and the gate, so no model is needed."""

from __future__ import annotations

import ast
import builtins
import functools
from dataclasses import dataclass, field

from ibert_lsp.errors import IbertError
from ibert_lsp.schema.infer import describe, infer_schemas
from ibert_lsp.schema.sources import from_python_source
from ibert_lsp.schema.types import Schemas
from ibert_lsp.validate.isolation import isolated

RESERVED = {"ibis", "_"}


@functools.lru_cache(maxsize=1)
def dialects() -> tuple[str, ...]:
    """Dialects Ibis can compile to here (each backend's compiler that imports)."""
    import ibis

    probe = ibis.table({"a": "int64"}, name="t")
    names = (
        "duckdb", "postgres", "snowflake", "bigquery", "mysql", "sqlite", "trino", "clickhouse",
        "mssql", "oracle", "datafusion", "exasol", "druid", "impala", "flink", "pyspark",
        "databricks", "risingwave", "athena", "materialize",
    )
    ok = []
    for name in names:
        try:
            ibis.to_sql(probe, dialect=name)
        except Exception:
            continue
        ok.append(name)
    return tuple(ok)


@dataclass
class SqlResult:
    sql: str
    dialect: str
    schemas: Schemas
    inferred: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The SQL, with a leading comment when some schemas were guessed from the code."""
        if not self.inferred:
            return self.sql
        guessed = {t: self.schemas[t] for t in self.inferred}
        return f"-- inferred schema: {describe(guessed)}\n{self.sql}"


def free_names(code: str) -> list[str]:
    """Names the code reads but never assigns: the tables it expects to be given."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    assigned = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    params = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    imported = {  # `import ibis.selectors as s` binds `s`: a module, never a table
        a.asname or a.name.split(".")[0] for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names
    }
    assigned |= imported
    seen: list[str] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            if n.id.startswith("_") or hasattr(builtins, n.id):
                continue  # never a table: left for the gate to refuse
            if n.id not in assigned | params | RESERVED and n.id not in seen:
                seen.append(n.id)
    return seen


def resolve_schemas(
    code: str, schemas: Schemas | None = None, table_names: list[str] | None = None
) -> tuple[Schemas, list[str]]:
    """Schemas for every table the code needs: given, declared in the code, or inferred."""
    known: dict[str, dict[str, str]] = dict(schemas or {})
    declared = from_python_source(code)
    needed = [n for n in free_names(code) if n not in declared]
    missing = [n for n in needed if n not in known]
    for name in table_names or []:
        if name not in known and name not in missing and name not in declared:
            missing.append(name)
    inferred: list[str] = []
    if missing:
        if schemas and not table_names:
            raise IbertError(
                f"unknown table {missing[0]!r}; the schema has: {', '.join(sorted(known))}"
            )
        known.update(infer_schemas(code, missing))
        inferred = missing
    return known, inferred


LABELS = {
    "syntax": "syntax error", "forbidden": "refused", "name": "unknown name",
    "attribute": "unknown column or method", "type": "type error", "ibis": "Ibis error",
    "limit": "too large", "timeout": "timed out",
}


def describe_gate_error(exc) -> str:
    """One line for a GateError: what kind, where (1-based column), and the message."""
    where = f" at line {exc.line}" if exc.line else ""
    if exc.line and exc.col is not None:  # parser-limit errors carry a line but no column
        where += f", column {exc.col + 1}"
    return f"{LABELS.get(exc.kind, exc.kind)}{where}: {exc.message}"


@isolated
def to_sql(
    code: str,
    schemas: Schemas | None = None,
    dialect: str = "duckdb",
    *,
    table_names: list[str] | None = None,
    pretty: bool = True,
) -> SqlResult:
    """Compile the value of `code` (its last expression) to SQL in `dialect`, through the gate."""
    from ibert_lsp.validate.errors import GateError
    from ibert_lsp.validate.safe_eval import compile_sql, evaluate

    resolved, inferred = resolve_schemas(code, schemas, table_names)
    try:
        expr = evaluate(code, resolved)
        sql = compile_sql(expr, dialect=dialect, pretty=pretty)
    except GateError as exc:
        if "dialect" in exc.message and dialect not in dialects():
            raise IbertError(
                f"unknown dialect {dialect!r}; Ibis compiles to: {', '.join(dialects())}"
            ) from None
        raise IbertError(describe_gate_error(exc)) from None
    return SqlResult(sql=sql, dialect=dialect, schemas=resolved, inferred=inferred)
