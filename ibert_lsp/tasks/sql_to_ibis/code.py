"""Dual values: every translated piece carries its Python text *and* the Ibis value it denotes.

Building both at once means each step is type-checked by Ibis while the text is written, so a
construct that Ibis rejects is known at once (the translator abstains), and the schema of every
intermediate relation is exact. The gate later re-evaluates the text independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis

from ibert_lsp.tasks.codebuild import colref, is_name, kwargs_text, pystr

from .errors import Unsupported

# Python operator precedence, low to high (only the levels we emit).
CMP, OR, AND, ADD, MUL, UNARY, POW, ATOM = 5, 6, 8, 10, 11, 12, 13, 14


@dataclass(frozen=True)
class V:
    """A translated scalar/column: Python source text, the Ibis value, its precedence."""

    text: str
    value: Any
    prec: int = ATOM
    literal: bool = False  # a plain Python literal (not yet an Ibis expression)


def lit(value: Any) -> V:
    """A Python literal (int, float, str, bool, None)."""
    text = pystr(value) if isinstance(value, str) else repr(value)
    return V(text, value, ATOM if not (isinstance(value, (int, float)) and value < 0) else UNARY, True)


def as_expr(v: V) -> V:
    """Make sure the value is an Ibis expression (wrap bare literals in ibis.literal)."""
    if v.literal:
        if v.value is None:
            return V("ibis.null()", ibis.null())
        return V(f"ibis.literal({v.text})", ibis.literal(v.value))
    return v


def wrap(v: V, prec: int) -> str:
    """Text of v, parenthesized when it binds looser than prec."""
    return f"({v.text})" if v.prec < prec else v.text


def arg_text(a: Any) -> str:
    """Text of a call argument: V, list of V, or a plain Python constant."""
    if isinstance(a, V):
        return a.text
    if isinstance(a, (list, tuple)):
        inner = ", ".join(arg_text(x) for x in a)
        return f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
    if isinstance(a, str):
        return pystr(a)
    return repr(a)


def arg_value(a: Any) -> Any:
    """Ibis value of a call argument."""
    if isinstance(a, V):
        return a.value
    if isinstance(a, list):
        return [arg_value(x) for x in a]
    if isinstance(a, tuple):
        return tuple(arg_value(x) for x in a)
    return a


def call_text(args: tuple, kwargs: dict) -> str:
    """Argument list text; keyword names go through the quoting layer (`**{"x y": v}`)."""
    parts = [arg_text(a) for a in args]
    parts += kwargs_text((k, arg_text(v)) for k, v in kwargs.items())
    return ", ".join(parts)


def method(obj: V, name: str, *args: Any, **kwargs: Any) -> V:
    """obj.name(args...) on both sides (the method name is ours, never input: checked)."""
    if not is_name(name):
        raise Unsupported(f"not a method name: {name!r}")
    obj = as_expr(obj)
    value = getattr(obj.value, name)(*[arg_value(a) for a in args],
                                     **{k: arg_value(v) for k, v in kwargs.items()})
    return V(f"{wrap(obj, ATOM)}.{name}({call_text(args, kwargs)})", value)


def func(path: str, *args: Any, **kwargs: Any) -> V:
    """ibis.<path>(args...): a top-level Ibis function."""
    target: Any = ibis
    if not all(is_name(part) for part in path.split(".")):
        raise Unsupported(f"not an Ibis function: {path!r}")
    for part in path.split("."):
        target = getattr(target, part)
    value = target(*[arg_value(a) for a in args], **{k: arg_value(v) for k, v in kwargs.items()})
    return V(f"ibis.{path}({call_text(args, kwargs)})", value)


def attr(obj: V, name: str) -> V:
    """obj.name, or obj["name"] when the name is not a usable attribute."""
    value = obj.value[name]
    return V(colref(wrap(obj, ATOM), name, attribute_ok=not hasattr(type(obj.value), name)), value)


def is_ident(name: str) -> bool:
    """A name that may be written bare (see codebuild.is_name: ASCII, no keyword, no `_`)."""
    return is_name(name)


_BINOPS = {
    "+": (ADD, lambda a, b: a + b), "-": (ADD, lambda a, b: a - b),
    "*": (MUL, lambda a, b: a * b), "/": (MUL, lambda a, b: a / b),
    "//": (MUL, lambda a, b: a // b), "%": (MUL, lambda a, b: a % b),
    "**": (POW, lambda a, b: a**b),
    "&": (AND, lambda a, b: a & b), "|": (OR, lambda a, b: a | b),
    "==": (CMP, lambda a, b: a == b), "!=": (CMP, lambda a, b: a != b),
    "<": (CMP, lambda a, b: a < b), "<=": (CMP, lambda a, b: a <= b),
    ">": (CMP, lambda a, b: a > b), ">=": (CMP, lambda a, b: a >= b),
}


def binop(a: V, op: str, b: V) -> V:
    """a <op> b with minimal parentheses; comparisons are never chained."""
    prec, fn = _BINOPS[op]
    if a.literal and b.literal:
        a = as_expr(a)
    if a.literal and b.value is None or (b.literal and b.value is None):
        a, b = as_expr(a), as_expr(b)
    if a.literal and not isinstance(b.value, ibis.Expr):
        a = as_expr(a)
    left = f"({a.text})" if a.prec < prec or (prec == CMP and a.prec == CMP) or (prec == POW and a.prec == POW) else a.text
    right = f"({b.text})" if b.prec <= prec and not (prec in (ADD, MUL, AND, OR) and b.prec > prec) else b.text
    if op in ("-", "/", "//", "%") and b.prec == prec:
        right = f"({b.text})"
    return V(f"{left} {op} {right}", fn(a.value, b.value), prec)


def invert(a: V) -> V:
    """~a (boolean NOT)."""
    a = as_expr(a)
    return V(f"~{wrap(a, UNARY)}", ~a.value, UNARY)


def negate(a: V) -> V:
    """-a."""
    if a.literal:
        return lit(-a.value)
    return V(f"-{wrap(a, UNARY)}", -a.value, UNARY)
