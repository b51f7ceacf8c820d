"""Scalar SQL functions (string, math, date/time) -> Ibis methods, one function each."""

from __future__ import annotations

from sqlglot import exp

from .code import V, binop, func, lit, method
from .context import Scope
from .errors import Unsupported
from .expressions import expr_v, handles, str_arg, translate

# --- strings --------------------------------------------------------------------------------


def _unary(name: str, feature: str):
    def fn(node: exp.Func, scope: Scope) -> V:
        scope.ctx.feature(feature)
        return method(expr_v(node.this, scope), name)

    return fn


for _node, _name in {
    exp.Upper: "upper", exp.Lower: "lower", exp.Length: "length", exp.Initcap: "capitalize",
    exp.Reverse: "reverse",
}.items():
    handles(_node)(_unary(_name, "string"))

for _node, _name in {
    exp.Abs: "abs", exp.Ceil: "ceil", exp.Floor: "floor", exp.Sqrt: "sqrt", exp.Ln: "ln",
    exp.Exp: "exp", exp.Sign: "sign",
}.items():
    handles(_node)(_unary(_name, "math"))


@handles(exp.Trim)
def trim(node: exp.Trim, scope: Scope) -> V:
    if node.expression is not None:
        raise Unsupported("TRIM with characters is not supported")
    position = (node.args.get("position") or "BOTH").upper()
    name = {"BOTH": "strip", "LEADING": "lstrip", "TRAILING": "rstrip"}[position]
    scope.ctx.feature("string")
    return method(expr_v(node.this, scope), name)


@handles(exp.Substring)
def substring(node: exp.Substring, scope: Scope) -> V:
    """SQL positions are 1-based, Ibis' substr is 0-based."""
    scope.ctx.feature("string")
    start = translate(node.args["start"], scope)
    if not (start.literal and isinstance(start.value, int) and start.value >= 1):
        raise Unsupported("SUBSTRING with a non-constant or non-positive start")
    length = node.args.get("length")
    args = [lit(start.value - 1)]
    if length is not None:
        args.append(translate(length, scope))
    return method(expr_v(node.this, scope), "substr", *args)


@handles(exp.StrPosition)
def strpos(node: exp.StrPosition, scope: Scope) -> V:
    scope.ctx.feature("string")
    if node.args.get("position"):
        raise Unsupported("STRPOS with a start position is not supported")
    found = method(expr_v(node.this, scope), "find", translate(node.args["substr"], scope))
    return binop(found, "+", lit(1))


@handles(exp.Left, exp.Right)
def left_right(node: exp.Func, scope: Scope) -> V:
    scope.ctx.feature("string")
    name = "left" if isinstance(node, exp.Left) else "right"
    return method(expr_v(node.this, scope), name, translate(node.expression, scope))


@handles(exp.Replace)
def replace(node: exp.Replace, scope: Scope) -> V:
    scope.ctx.feature("string")
    return method(expr_v(node.this, scope), "replace", translate(node.expression, scope),
                  translate(node.args["replacement"], scope))


@handles(exp.Concat)
def concat(node: exp.Concat, scope: Scope) -> V:
    """DuckDB's CONCAT skips NULLs, unlike ||: each argument is coalesced to ''."""
    scope.ctx.feature("string")
    parts = [translate(e, scope) for e in node.expressions]
    nullable = [p if p.literal else method(p, "fill_null", lit("")) for p in parts]
    first = nullable[0] if not nullable[0].literal else func("literal", nullable[0])
    return method(first, "concat", *nullable[1:])


@handles(exp.StartsWith)
def starts_with(node: exp.StartsWith, scope: Scope) -> V:
    scope.ctx.feature("string")
    return method(expr_v(node.this, scope), "startswith", translate(node.expression, scope))


@handles(exp.RegexpReplace)
def regexp_replace(node: exp.RegexpReplace, scope: Scope) -> V:
    if node.args.get("modifiers") or node.args.get("position") or node.args.get("occurrence"):
        raise Unsupported("REGEXP_REPLACE with options is not supported")
    scope.ctx.feature("string")
    return method(expr_v(node.this, scope), "re_replace", translate(node.expression, scope),
                  translate(node.args["replacement"], scope))


# --- math -----------------------------------------------------------------------------------


@handles(exp.Round)
def round_(node: exp.Round, scope: Scope) -> V:
    scope.ctx.feature("math")
    digits = node.args.get("decimals")
    v = expr_v(node.this, scope)
    return method(v, "round", translate(digits, scope)) if digits is not None else method(v, "round")


@handles(exp.Log)
def log(node: exp.Log, scope: Scope) -> V:
    """DuckDB's one-argument LOG is base 10."""
    scope.ctx.feature("math")
    if node.expression is None:
        return method(expr_v(node.this, scope), "log10")
    return method(expr_v(node.expression, scope), "log", translate(node.this, scope))


@handles(exp.Greatest, exp.Least)
def greatest_least(node: exp.Func, scope: Scope) -> V:
    scope.ctx.feature("math")
    args = [translate(node.this, scope)] + [translate(e, scope) for e in node.expressions]
    return func("greatest" if isinstance(node, exp.Greatest) else "least", *args)


# --- dates and times ------------------------------------------------------------------------

_PARTS = {
    "YEAR": "year", "MONTH": "month", "DAY": "day", "QUARTER": "quarter", "HOUR": "hour",
    "MINUTE": "minute", "SECOND": "second", "DOY": "day_of_year", "DAYOFYEAR": "day_of_year",
    "WEEK": "week_of_year", "MILLISECOND": "millisecond", "EPOCH": "epoch_seconds",
}


def extract_part(part: str, v: V, scope: Scope) -> V:
    """EXTRACT(part FROM v); DuckDB's DOW counts from Sunday = 0, Ibis' from Monday = 0."""
    scope.ctx.feature("date")
    part = part.upper()
    if part in ("DOW", "DAYOFWEEK"):
        idx = method(V(f"{v.text}.day_of_week", v.value.day_of_week), "index")
        return binop(binop(idx, "+", lit(1)), "%", lit(7))
    if part == "ISODOW":
        idx = method(V(f"{v.text}.day_of_week", v.value.day_of_week), "index")
        return binop(idx, "+", lit(1))
    if part not in _PARTS:
        raise Unsupported(f"EXTRACT({part}) is not supported")
    return method(v, _PARTS[part])


@handles(exp.Extract)
def extract(node: exp.Extract, scope: Scope) -> V:
    return extract_part(str_arg(node.this, "EXTRACT part"), expr_v(node.expression, scope), scope)


for _node, _part in {
    exp.Year: "YEAR", exp.Month: "MONTH", exp.Day: "DAY", exp.Quarter: "QUARTER",
    exp.DayOfWeek: "DOW", exp.DayOfYear: "DOY", exp.WeekOfYear: "WEEK", exp.DayOfWeekIso: "ISODOW",
}.items():
    handles(_node)(lambda node, scope, _p=_part: extract_part(_p, expr_v(node.this, scope), scope))

_TRUNC = {"YEAR": "Y", "QUARTER": "Q", "MONTH": "M", "WEEK": "W", "DAY": "D", "HOUR": "h",
          "MINUTE": "m", "SECOND": "s"}


@handles(exp.DateTrunc, exp.TimestampTrunc)
def date_trunc(node: exp.Func, scope: Scope) -> V:
    scope.ctx.feature("date")
    unit = str_arg(node.args.get("unit"), "DATE_TRUNC unit").upper()
    if unit not in _TRUNC:
        raise Unsupported(f"DATE_TRUNC({unit}) is not supported")
    return method(expr_v(node.this, scope), "truncate", _TRUNC[unit])


_DIFF = {"YEAR": "year", "QUARTER": "quarter", "MONTH": "month", "WEEK": "week", "DAY": "day",
         "HOUR": "hour", "MINUTE": "minute", "SECOND": "second"}


@handles(exp.DateDiff)
def date_diff(node: exp.DateDiff, scope: Scope) -> V:
    """DATE_DIFF(unit, start, end) = end.delta(start, unit)."""
    scope.ctx.feature("date")
    unit = str_arg(node.args.get("unit") or exp.Var(this="DAY"), "DATE_DIFF unit").upper()
    if unit not in _DIFF:
        raise Unsupported(f"DATE_DIFF({unit}) is not supported")
    return method(expr_v(node.this, scope), "delta", expr_v(node.expression, scope), unit=_DIFF[unit])


@handles(exp.CurrentDate)
def current_date(node: exp.CurrentDate, scope: Scope) -> V:
    scope.ctx.feature("date")
    return func("today")


@handles(exp.TimeToStr)
def strftime(node: exp.TimeToStr, scope: Scope) -> V:
    scope.ctx.feature("date")
    return method(expr_v(node.this, scope), "strftime", translate(node.args["format"], scope))


@handles(exp.DateAdd, exp.DateSub)
def date_add(node: exp.Func, scope: Scope) -> V:
    """DATE_ADD(d, n [unit]) -> d + ibis.interval(days=n)."""
    from .expressions import _UNITS

    scope.ctx.feature("interval")
    unit = str_arg(node.args.get("unit") or exp.Var(this="DAY"), "DATE_ADD unit").upper()
    n = translate(node.expression, scope)
    if unit not in _UNITS or not (n.literal and isinstance(n.value, int)):
        raise Unsupported("DATE_ADD needs a constant integer amount and a known unit")
    kw, mult = _UNITS[unit]
    step = func("interval", **{kw: lit(n.value * mult)})
    return binop(expr_v(node.this, scope), "-" if isinstance(node, exp.DateSub) else "+", step)
