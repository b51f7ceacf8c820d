"""Python-side matching of names: regexes and `str.format` templates that Ibis applies in
Python (not in the database) are refused when they could run away."""

from __future__ import annotations

import ast
import re
import string
from typing import Any

from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError

_TEMPLATE_FIELDS = {"rename": ("name",), "lname": ("name",), "rname": ("name",),
                    "names": ("col", "fn")}


def check_python_side_patterns(name: str, args: list[Any], kwargs: dict[str, Any],
                               node: ast.AST) -> None:
    """Regexes and format templates that Ibis applies in Python to column names (not in
    DuckDB): refuse catastrophic-backtracking regexes and templates beyond `{name}`."""
    regexes: list[Any] = []
    if name == "matches":
        regexes += [*args[:1], kwargs.get("regex")]
    if "names_pattern" in kwargs:
        regexes.append(kwargs["names_pattern"])
    for regex in regexes:
        if isinstance(regex, str):
            why = regex_refusal(regex)
            if why:
                raise GateError("forbidden", f"regex {regex[:40]!r} {why}").locate(node)
        elif regex is not None and not isinstance(regex, str):
            raise GateError("type", "a regex here must be a string").locate(node)
    templates: list[tuple[Any, tuple[str, ...]]] = []
    if name == "rename":
        method = args[0] if args else kwargs.get("method")
        if isinstance(method, str) and method not in ("snake_case", "ALL_CAPS"):
            templates.append((method, _TEMPLATE_FIELDS["rename"]))
    for key in ("lname", "rname"):
        if key in kwargs:
            templates.append((kwargs[key], _TEMPLATE_FIELDS[key]))
    if name == "across":
        names = args[2] if len(args) > 2 else kwargs.get("names")
        if isinstance(names, str):
            templates.append((names, _TEMPLATE_FIELDS["names"]))
    for tmpl, fields in templates:
        if isinstance(tmpl, str):
            why = template_refusal(tmpl, fields)
            if why:
                raise GateError("forbidden", why).locate(node)


def template_refusal(tmpl: str, fields: tuple[str, ...]) -> str | None:
    """Why a `str.format` template is refused (attribute/index access, format specs and
    conversions can read objects or build huge strings), or None."""
    try:
        parts = list(string.Formatter().parse(tmpl))
    except ValueError as exc:
        return f"invalid name template {tmpl[:40]!r}: {exc}"
    for _, field, spec, conv in parts:
        if field is None:
            continue
        if field not in fields or spec or conv:
            allowed = ", ".join("{" + f + "}" for f in fields)
            return f"name templates may only use {allowed} (got {{{field}}}" \
                   f"{'!' + conv if conv else ''}{':' + spec if spec else ''})"
    return None


def regex_refusal(pattern: str) -> str | None:
    """Why a regex that Python (not RE2) will match is refused, or None: too long, a repeat
    inside a repeat (groups included, any depth), alternation inside a repeat, backreferences,
    or too many unbounded repeats."""
    import re._constants as c  # noqa: PLC0415 - the stdlib's own regex parser
    import re._parser as p

    if len(pattern) > policy.MAX_REGEX_LEN:
        return f"is longer than {policy.MAX_REGEX_LEN} characters"
    try:
        parsed = p.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None  # invalid: Ibis reports it
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
    unbounded = 0
    stack: list[tuple[Any, bool]] = [(parsed, False)]
    while stack:
        sub, in_repeat = stack.pop()
        for op, av in sub:
            if op in repeats:
                lo, hi, inner = av
                many = hi is c.MAXREPEAT or hi > 1
                if in_repeat:
                    return "nests a repeat inside a repeat (catastrophic backtracking)"
                if hi is c.MAXREPEAT:
                    unbounded += 1
                stack.append((inner, many))
            elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
                return "uses a backreference"
            elif op is c.BRANCH:
                if in_repeat:
                    return "repeats an alternation (catastrophic backtracking)"
                stack.extend((b, in_repeat) for b in av[1])
            elif op is c.SUBPATTERN:
                stack.append((av[3], in_repeat))
            elif op in (c.ASSERT, c.ASSERT_NOT):
                stack.append((av[1], in_repeat))
            elif op is c.ATOMIC_GROUP:
                stack.append((av, in_repeat))
    if unbounded > policy.MAX_REGEX_REPEATS:
        return f"has more than {policy.MAX_REGEX_REPEATS} unbounded repeats"
    return None
