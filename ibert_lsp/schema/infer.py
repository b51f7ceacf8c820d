"""Guess a table's schema from code that uses it, so `to-sql` works on a bare snippet.

Columns are the attributes, subscripts and string arguments the code uses on the table; a
column's type comes from what it meets (a literal it is compared with, a string or temporal
method called on it). What cannot be told stays `string`, and the caller states the guess.
"""

from __future__ import annotations

import ast
import functools

from ibert_lsp.schema.types import Schemas, SchemaError

STRING_METHODS = {
    "contains", "startswith", "endswith", "upper", "lower", "strip", "lstrip", "rstrip",
    "like", "ilike", "re_search", "re_extract", "re_replace", "replace", "length", "substr",
    "left", "right", "split", "capitalize", "lpad", "rpad", "find", "concat", "reverse",
}
TEMPORAL_METHODS = {
    "year", "month", "day", "hour", "minute", "second", "quarter", "week_of_year",
    "day_of_year", "truncate", "date", "epoch_seconds", "strftime", "delta", "time",
    "millisecond", "microsecond",
}
NUMERIC_METHODS = {
    "sum", "mean", "std", "var", "round", "abs", "ceil", "floor", "log", "log10", "ln", "exp",
    "sqrt", "clip", "cumsum", "cummean", "median", "quantile", "approx_median", "sign", "bucket",
    "histogram", "corr", "cov",
}
BOOL_METHODS = {"ifelse", "all", "any", "notall", "notany", "negate"}
STRING_ARG_METHODS = {
    "select", "group_by", "order_by", "distinct", "drop", "relocate", "dropna", "fill_null",
    "asc", "desc", "unpack", "pivot_longer", "cast",
}
RANK = {"string": 0, "boolean": 1, "timestamp": 2, "int64": 3, "float64": 4}


@functools.lru_cache(maxsize=1)
def _table_members() -> frozenset[str]:
    import ibis.expr.types as ir

    return frozenset(n for n in dir(ir.Table) if not n.startswith("_"))


class _Inference:
    """Columns noted per table while walking the code; a stronger type replaces a weaker one
    (`RANK`), a string guess yields to any evidence."""

    def __init__(self, table_names: list[str]) -> None:
        self.names = set(table_names)
        self.members = _table_members()
        self.cols: dict[str, dict[str, str]] = {t: {} for t in table_names}
        self.default_table = table_names[0] if len(table_names) == 1 else None

    def note(self, table: str | None, col: str, typ: str | None = None) -> None:
        if table is None or table not in self.cols or not col.isidentifier():
            return
        cur = self.cols[table].get(col)
        if cur is None or (typ and (cur == "string" or RANK.get(typ, 0) > RANK.get(cur, 0))):
            self.cols[table][col] = typ or cur or "string"

    def column_ref(self, node: ast.AST) -> tuple[str | None, str] | None:
        """(table, column) if node reads a column of a known table or of `_`."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = node.value.id
            if base in self.names and node.attr not in self.members:
                return base, node.attr
            if base == "_":
                return self.default_table, node.attr
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            base = node.value.id
            if base in self.names:
                return base, node.slice.value
            if base == "_":
                return self.default_table, node.slice.value
        return None

    def visit(self, node: ast.AST) -> None:
        ref = self.column_ref(node)
        if ref:
            self.note(*ref)
        if isinstance(node, ast.Compare):
            self.compare(node)
        elif isinstance(node, ast.BinOp):
            self.binop(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            self.method_call(node, node.func.attr)

    def compare(self, node: ast.Compare) -> None:
        """`t.fare > 20`: the column has the literal's type."""
        sides = [node.left, *node.comparators]
        lit = next((_literal_type(s) for s in sides if _literal_type(s)), None)
        for s in sides:
            r = self.column_ref(s)
            if r and lit:
                self.note(*r, lit)

    def binop(self, node: ast.BinOp) -> None:
        """Arithmetic with a number makes a number; `+` with a string, a string."""
        for side, other in ((node.left, node.right), (node.right, node.left)):
            r = self.column_ref(side)
            lit = _literal_type(other)
            if r and lit in {"int64", "float64"}:
                self.note(*r, lit)
            elif r and lit == "string" and isinstance(node.op, ast.Add):
                self.note(*r, "string")

    def method_call(self, node: ast.Call, method: str) -> None:
        """A column's method says its type; string arguments of table methods name columns;
        join keys are integer columns of both sides; a filter's bare column is boolean."""
        note, column_ref, names = self.note, self.column_ref, self.names
        r = column_ref(node.func.value)
        if r:
            if method in STRING_METHODS:
                note(*r, "string")
            elif method in TEMPORAL_METHODS:
                note(*r, "timestamp")
            elif method in NUMERIC_METHODS:
                note(*r, "float64")
            elif method in BOOL_METHODS:
                note(*r, "boolean")
            elif method in {"isin", "notin"} and node.args:
                arg = node.args[0]
                if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
                    note(*r, _literal_type(arg.elts[0]))
            elif method == "between" and node.args:
                note(*r, _literal_type(node.args[0]))
        if method in STRING_ARG_METHODS:
            table = _chain_root(node.func.value, names)
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    note(table, arg.value)
        if method == "join" and len(node.args) >= 2:
            left = _chain_root(node.func.value, names)
            right = _chain_root(node.args[0], names)
            key = node.args[1]
            keys = key.elts if isinstance(key, (ast.List, ast.Tuple)) else [key]
            for k in keys:
                if isinstance(k, ast.Constant) and isinstance(k.value, str):
                    note(left, k.value, "int64")
                    note(right, k.value, "int64")
        if method == "filter":
            for arg in node.args:
                r2 = column_ref(arg)
                if r2:
                    note(*r2, "boolean")


def infer_schemas(code: str, table_names: list[str]) -> Schemas:
    """Columns and guessed types for each named table, from how `code` uses it."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise SchemaError(f"cannot infer a schema: the code does not parse (line {exc.lineno})") from None
    inference = _Inference(table_names)
    for node in ast.walk(tree):
        inference.visit(node)
    cols = inference.cols
    empty = [t for t, c in cols.items() if not c]
    if empty:
        raise SchemaError(
            f"cannot infer columns for table {empty[0]!r}: the code uses none; pass --schema"
        )
    return cols


def _chain_root(node: ast.AST, names: set[str]) -> str | None:
    """The table a method chain starts from: `t.filter(...).select(...)` -> "t"."""
    while True:
        if isinstance(node, ast.Name):
            return node.id if node.id in names else None
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        else:
            return None


def _literal_type(node: ast.AST) -> str | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if not isinstance(node, ast.Constant):
        return None
    v = node.value
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    return None


def describe(schemas: Schemas) -> str:
    """One line per table, for the SQL comment that states an inferred schema."""
    return "; ".join(
        f"{t}({', '.join(f'{c} {ty}' for c, ty in cols.items())})" for t, cols in schemas.items()
    )
