"""Types without schemas: follow Ibis's own return annotations through a chain of calls.

When a table's columns are unknown (a parameter, a connection to a database ibert cannot read,
a file outside the workspace), the *type* of what the code builds from it is still known:
`t.filter(...)` is a Table, `t.group_by(...)` a GroupedTable, `col.sum()` a NumericScalar.
Completion and hover use that to offer methods and signatures where no column can be checked.
Pure: source text and a name → class map in, a class or None out; nothing is evaluated.
"""

from __future__ import annotations

import ast
import functools
import inspect
from typing import Any


@functools.lru_cache(maxsize=1)
def _namespace() -> dict[str, type]:
    """Names an Ibis annotation may use ('Table', 'ir.Table', 'sch.Schema', ...)."""
    import ibis.expr.datatypes as dt
    import ibis.expr.schema as sch
    import ibis.expr.types as ir
    from ibis.expr.types.groupby import GroupedTable

    out: dict[str, type] = {n: v for n, v in vars(ir).items() if isinstance(v, type)}
    out.update({"GroupedTable": GroupedTable, "Schema": sch.Schema, "DataType": dt.DataType})
    return out


@functools.lru_cache(maxsize=4096)
def return_type(cls: type, name: str) -> type | None:
    """The class `cls.name(...)` returns, read from its annotation; None when unknown."""
    member = getattr(cls, name, None)
    if member is None or name.startswith("_"):
        return None
    static = inspect.getattr_static(cls, name, None)
    fn = static.fget if isinstance(static, property) else member if callable(member) else None
    if fn is None:
        return None
    try:
        ann = inspect.signature(fn).return_annotation
    except (TypeError, ValueError):
        return None
    return _resolve(ann, cls)


def _resolve(ann: Any, owner: type) -> type | None:
    if ann is inspect.Signature.empty or ann is None:
        return None
    if isinstance(ann, type):
        return ann
    text = str(ann).strip().strip("'\"")
    if text in ("Self", "typing.Self"):
        return owner
    if "|" in text or "[" in text:  # unions and generics: not one type
        return None
    short = text.rsplit(".", 1)[-1]
    return _namespace().get(short)


@functools.lru_cache(maxsize=512)
def ibis_function_type(name: str) -> type | None:
    """What `ibis.<name>(...)` returns (`memtable` → Table, `to_sql` → SQLString, ...)."""
    import ibis

    fn = getattr(ibis, name, None)
    if name.startswith("_") or not callable(fn) or isinstance(fn, type):
        return None
    try:
        ann = inspect.signature(fn).return_annotation
    except (TypeError, ValueError):
        return None
    text = str(ann).strip("'\"")
    if text in ("SQLString", "ibis.expr.sql.SQLString"):
        from ibis.expr.sql import SQLString

        return SQLString
    if text in ("BaseBackend", "ibis.backends.BaseBackend"):
        from ibis.backends import BaseBackend

        return BaseBackend
    return _resolve(ann, object)


def callee_known(node: ast.AST, types: dict[str, type]) -> bool:
    """True when `node` calls a method ibert can name: its receiver's type is known and has it
    (`con.list_tables()`, `t.to_parquet(...)`), or an `ibis.` function."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    func = node.func
    if isinstance(func.value, ast.Name) and func.value.id == "ibis" and "ibis" not in types:
        import ibis

        return callable(getattr(ibis, func.attr, None))
    owner = node_type(func.value, types)
    return owner is not None and not func.attr.startswith("_") and hasattr(owner, func.attr)


def dotted_name(node: ast.AST) -> str | None:
    """`ibis.duckdb.connect` for that chain of attributes on a name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def type_of(source: str, types: dict[str, type]) -> type | None:
    """The class the expression `source` evaluates to, from the classes of its names."""
    try:  # in parentheses: a chain written over several lines (`t.f(...)\n    .g(...)`)
        node = ast.parse("(" + source.strip() + "\n)", mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    return node_type(node, types)


def node_type(node: ast.AST, types: dict[str, type]) -> type | None:
    """Walk a chain of attribute reads, calls and subscripts from a typed name."""
    import ibis.expr.types as ir

    if isinstance(node, ast.Name):
        return types.get(node.id)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):  # a function of the document annotated `-> ir.Table`
            return types.get(func.id + "()")
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "ibis" \
                    and "ibis" not in types:
                return ibis_function_type(func.attr)
            if func.attr == "fetch" and (dotted_name(func.value) or "").startswith("ibis.examples.") \
                    and "ibis" not in types:
                return ir.Table  # ibis.examples.<name>.fetch()
            owner = node_type(func.value, types)
            return return_type(owner, func.attr) if owner is not None else None
        return None
    if isinstance(node, ast.Attribute):
        owner = node_type(node.value, types)
        if owner is None:
            return None
        member = inspect.getattr_static(owner, node.attr, None)
        if isinstance(member, property):
            return return_type(owner, node.attr)
        if member is None and issubclass(owner, ir.Table):
            return ir.Column  # `t.some_column` on a table whose columns are unknown
        return None
    if isinstance(node, ast.Subscript):
        owner = node_type(node.value, types)
        if owner is not None and issubclass(owner, ir.Table):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return ir.Column
            return owner  # t[["a", "b"]], t[mask]: still a table
        return None
    return None
