"""What the interpreter may hold: value categories by type, the `ibis`/`selectors` namespaces
it hands out instead of modules, and small type helpers shared by the gate's checks."""

from __future__ import annotations

import ast
import datetime as _dt
import decimal
import operator
import types
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ibert_lsp.validate import capabilities as caps
from ibert_lsp.validate import policy

# --- value categories: what a value of each type may be -----------------------------------------
ATOM, CONTAINER, VIEW, IBIS, NAMESPACE, FUNCTION, FORBIDDEN = range(7)
_ATOMS = (type(None), bool, int, float, str, bytes, _dt.date, _dt.time, _dt.datetime,
          _dt.timedelta, decimal.Decimal)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_FUNCTIONS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)
_SAFE_CALLABLES = frozenset(id(f) for f in policy.SAFE_BUILTINS.values())
_CATEGORY: dict[type, int] = {}


def category(cls: type) -> int:
    """What kind of value instances of `cls` are (cached per class: one dict lookup)."""
    cat = _CATEGORY.get(cls)
    if cat is None:
        if cls in _ATOMS:
            cat = ATOM
        elif cls in _CONTAINERS:
            cat = CONTAINER
        elif cls in _VIEWS:
            cat = VIEW
        elif cls is Namespace or cls is IndexSelector:
            cat = NAMESPACE
        elif cls in _FUNCTIONS:
            cat = FUNCTION
        elif caps.members_of(cls) is not None:
            cat = IBIS
        elif issubclass(cls, str) and cls.__module__.startswith("ibis."):  # SQLString
            cat = ATOM
        else:
            cat = FORBIDDEN
        _CATEGORY[cls] = cat
    return cat


_PY_TYPES_AS_DTYPES = {int: "int64", float: "float64", str: "string", bool: "boolean"}


def _as_dtype(value: Any) -> Any:
    """`int`/`float`/`str`/`bool` given to an Ibis call mean the dtypes Ibis maps them to."""
    if type(value) is type and value in _PY_TYPES_AS_DTYPES:
        import ibis

        return ibis.dtype(_PY_TYPES_AS_DTYPES[value])
    return value


class Namespace:
    """Stands in for a module (`ibis`, `ibis.selectors`): exposes only allow-listed members,
    so the interpreter's globals hold no module at all."""

    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        self.name = name
        self.members = members

    def __repr__(self) -> str:
        return f"<namespace {self.name}>"


class IndexSelector:
    """`s.index[...]` without the real `Indexable`, which iterates forever when listed."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        import ibis.selectors as sel

        return sel.index[key]

    def __iter__(self) -> Any:
        raise TypeError("s.index can only be subscripted")

    def __repr__(self) -> str:
        return "s.index"


@lru_cache(maxsize=1)
def namespaces() -> tuple[Namespace, Namespace, frozenset[int]]:
    """(`ibis`, `ibis.selectors`, ids of the functions they hand out), built once."""
    import ibis
    import ibis.selectors as sel

    s_members = {n: getattr(sel, n) for n in sorted(policy.SELECTORS_ALLOWED) if hasattr(sel, n)}
    s_members["index"] = IndexSelector()
    s_ns = Namespace("ibis.selectors", s_members)
    i_members = {n: getattr(ibis, n) for n in sorted(policy.IBIS_ALLOWED)
                 if hasattr(ibis, n) and n != "selectors"}
    i_members["selectors"] = s_ns
    i_ns = Namespace("ibis", i_members)
    funcs = frozenset(id(v) for ns in (s_members, i_members) for v in ns.values()
                      if isinstance(v, types.FunctionType))
    return i_ns, s_ns, funcs


def _callee_name(func: Any) -> str:
    if type(func) is _deferred_type():
        return getattr(getattr(func, "_resolver", None), "name", "") or ""
    inner = getattr(func, "__func__", func)
    return getattr(inner, "__name__", "") or ""


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls is types.ModuleType:
        return f"the module {value.__name__}"
    if cls is Namespace:
        return f"the namespace {value.name}"
    if cls in (types.FunctionType, types.MethodType, types.BuiltinFunctionType):
        return f"the function {getattr(value, '__name__', '?')}"
    if cls is type:
        return f"the class {value.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" \
        else cls.__qualname__


@lru_cache(maxsize=1)
def _expr_type() -> type:
    import ibis

    return ibis.Expr


@lru_cache(maxsize=1)
def _table_type() -> type:
    import ibis

    return ibis.Table


@lru_cache(maxsize=1)
def _deferred_type() -> type:
    from ibis.common.deferred import Deferred

    return Deferred




def _py_methods(cls: type) -> frozenset[str] | None:
    """Allowed methods for plain Python values, subclasses included (ibis' SQLString is a str)."""
    for base in cls.__mro__:
        if base in policy.PY_METHODS:
            return policy.PY_METHODS[base]
    return None


def _is_expr(value: Any) -> bool:
    import ibis

    return isinstance(value, ibis.Expr)


# The Python operators the interpreter implements (each operand is checked first).
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}
_UNOPS: dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_,
    ast.Invert: operator.invert,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
