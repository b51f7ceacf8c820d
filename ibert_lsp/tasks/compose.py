"""Q&A's deterministic answer: Ibis code composed from a question that names its columns
("average fare per city" → `t.group_by("city").agg(mean_fare=_.fare.mean())`), written through
the quoting layer (`codebuild`)."""

from __future__ import annotations

import re
from typing import Any

from ibert_lsp.schema.types import Schemas

_AGGS: list[tuple[str, tuple[str, ...]]] = [
    ("mean", ("average", "averages", "mean", "avg")),
    ("sum", ("total", "totals", "sum", "summed")),
    ("max", ("maximum", "max", "highest", "largest", "biggest", "longest", "most")),
    ("min", ("minimum", "min", "lowest", "smallest", "cheapest", "shortest", "least")),
    ("median", ("median",)),
]
_CMP = [
    (">=", ("at least", ">=")), ("<=", ("at most", "<=")),
    (">", ("greater than", "more than", "larger than", "bigger than", "higher than", "over",
           "above", "exceeds", "exceeding", "more expensive than", "longer than", ">")),
    ("<", ("less than", "smaller than", "lower than", "under", "below", "cheaper than",
           "shorter than", "<")),
    ("==", ("equal to", "equals", "==", "=")),
]
_NUMERIC = re.compile(r"!?(u?int|float|decimal)")
# comparisons that say which column they are about without naming it
_HINTS = {"cheaper": ("price", "cost", "amount", "fare"),
          "expensive": ("price", "cost", "amount", "fare"),
          "longer": ("length", "distance", "duration"), "shorter": ("length", "distance",
                                                                   "duration")}


def _stem(word: str) -> str:
    for suf, rep in (("ies", "y"), ("ses", "s"), ("s", "")):
        if word.endswith(suf) and len(word) > len(suf) + 2:
            return word[: -len(suf)] + rep
    return word


def _column_for(word: str, cols: dict[str, str]) -> str | None:
    """The column a word of the question names: exact, singular, or a part of a snake_case name."""
    word = word.lower()
    plain = {c.lower(): c for c in cols if c.isidentifier()}
    for w in (word, _stem(word)):
        if w in plain:
            return plain[w]
    for w in (word, _stem(word)):
        parts = [c for lc, c in plain.items() if w in lc.split("_")]
        if len(parts) == 1:
            return parts[0]
    return None


def compose(question: str, schemas: Schemas) -> tuple[str, list[str]] | None:
    """Ibis code for a question that names its columns ("average fare per city", "trips with a
    fare over 20 sorted by distance"), built through the quoting layer, and the Ibis API names
    it uses; None when the question names no column and no aggregation."""
    from ibert_lsp.tasks.codebuild import is_name

    q = question.lower()
    words = re.findall(r"[a-z_][a-z0-9_]*", q)
    if not schemas:
        return None
    scored = []
    for name, cols in schemas.items():
        hits = sum(1 for w in words if _column_for(w, cols))
        named = name.lower() in words or _stem(name.lower()) in {_stem(w) for w in words}
        scored.append((named, hits, name))
    scored.sort(key=lambda x: (not x[0], -x[1]))
    named, hits, t = scored[0]
    cols = schemas[t]
    if not is_name(t) or (not hits and not named):
        return None
    group = _grouping(q, cols)
    agg, agg_col = _aggregation(q, cols, group)
    counting = bool(re.search(r"\b(count|how many|number of)\b", q))
    cond = _condition(q, question, cols)
    order, desc, top, group = _ordering(q, cols, group, agg, counting)
    if not (agg or counting or cond or order or group):
        return None
    return _compose_code(t, cond, group, agg, agg_col, counting, order, desc, top)


def _grouping(q: str, cols: dict[str, str]) -> str | None:
    """The grouping key: "per city", "by driver", "for each city" (not "sort by", "order by")."""
    group = None
    for m in re.finditer(r"\b(per|by|each|every)\s+([a-z_][a-z0-9_]*)", q):
        if re.search(r"(sort|order|sorted|ordered|rank|ranked)\s+$", q[: m.start()]):
            continue
        c = _column_for(m.group(2), cols)
        if c and not re.match(r"!?(float|decimal)", cols[c]):  # group by keys, not measures
            group = c
            break
    return group


def _aggregation(q: str, cols: dict[str, str],
                 group: str | None) -> tuple[str | None, str | None]:
    """The aggregation and its column: the first numeric column named after the word."""
    agg = None
    agg_col = None
    for fn, keys in _AGGS:
        m = re.search(r"\b(" + "|".join(keys) + r")\b", q)
        if m:
            agg = fn
            after = re.findall(r"[a-z_][a-z0-9_]*", q[m.end():])
            numeric = [c for c in cols if c != group and _NUMERIC.match(cols[c])]
            # a column named whole ("amount") before one named by a part ("order" of order_id)
            agg_col = next((c for w in after for c in numeric
                            if w in (c.lower(), _stem(c.lower()))), None) or next(
                (c for c in (_column_for(w, cols) for w in after) if c in numeric), None)
            break
    if agg and agg_col is None:
        agg = None
    return agg, agg_col


def _condition(q: str, question: str, cols: dict[str, str]) -> tuple[str, str, str] | None:
    """A filter: "<column> over 20", "fare greater than 10", or a quoted value beside a string
    column (city "Lima")."""
    from ibert_lsp.tasks.codebuild import pystr

    cond = None
    for op, keys in _CMP:
        m = re.search(r"\b([a-z_][a-z0-9_]*)\s+(?:is\s+|are\s+|of\s+)?(?:"
                      + "|".join(re.escape(k) for k in keys) + r")\s+(-?\d+(?:\.\d+)?)\b", q)
        if m:
            c = _column_for(m.group(1), cols)
            if c is None:
                before = re.findall(r"[a-z_][a-z0-9_]*", q[: m.start(2)])
                c = next((_column_for(w, cols) for w in reversed(before)
                          if _column_for(w, cols) and _NUMERIC.match(cols[_column_for(w, cols)])),
                         None)
            if c is None:  # "books cheaper than 15": the column the comparison is about
                hint = next((h for k, h in _HINTS.items() if k in m.group(0)), ())
                c = next((c for c in cols for h in hint
                          if h in c.lower() and _NUMERIC.match(cols[c])), None)
            if c and _NUMERIC.match(cols[c]):
                cond = (c, op, m.group(2))
                break
    # string equality from a quoted value next to a column name: city "Lima"
    if cond is None:
        m = re.search(r"([a-z_][a-z0-9_]*)\s+(?:is\s+|=\s*|==\s*|of\s+)?"
                      r"[\"'`]([^\"'`]{1,40})[\"'`]", question, re.IGNORECASE)
        if m:
            c = _column_for(m.group(1), cols)
            if c and cols[c].lstrip("!") == "string":
                cond = (c, "==", pystr(m.group(2)))
    return cond


def _ordering(q: str, cols: dict[str, str], group: str | None, agg: str | None,
              counting: bool) -> tuple[str | None, bool, Any, str | None]:
    """The order column, descending or not, a "top N" match, and the grouping a "top 5
    drivers by total fare" implies."""
    order = None
    m = re.search(r"\b(?:sort|order|sorted|ordered|rank|ranked)\w*\s+(?:\w+\s+){0,2}?by\s+"
                  r"((?:[a-z_][a-z0-9_]*\s*){1,3})", q)
    desc = bool(re.search(r"\b(desc|descending|highest|largest|biggest|top|most)\b", q))
    if m:
        order = next((c for c in (_column_for(w, cols) for w in m.group(1).split()) if c), None)
    top = re.search(r"\b(?:top|first)\s+(\d{1,4})\s*([a-z_][a-z0-9_]*)?", q)
    if top and top.group(2) and group is None and (agg or counting):
        c = _column_for(top.group(2), cols)  # "top 5 drivers by total fare": per driver
        if c and not re.match(r"!?(float|decimal)", cols[c]):
            group = c
            desc = True
    return order, desc, top, group


def _compose_code(t: str, cond: tuple | None, group: str | None, agg: str | None,
                  agg_col: str | None, counting: bool, order: str | None, desc: bool,
                  top: Any) -> tuple[str, list[str]] | None:
    """The method chain on table `t` and the API names it uses (None when it is just `t`)."""
    from ibert_lsp.tasks.codebuild import colref, kwarg, pystr

    api: list[str] = []
    expr = t
    if cond:
        c, op, lit = cond
        expr = f"{expr}.filter({colref(t, c)} {op} {lit})"
        api.append("filter")
    if group:
        expr += f".group_by({pystr(group)})"
        api.append("group_by")
        if agg:
            out = f"{agg}_{agg_col}"
            expr += f".agg({kwarg(out, colref('_', agg_col) + f'.{agg}()')})"
            api += ["agg", agg]
        else:
            out = "n"
            expr += ".agg(n=_.count())"
            api += ["agg", "count"]
        if desc or order:
            expr += f".order_by(ibis.desc({pystr(out)}))" if desc else f".order_by({pystr(out)})"
            api.append("order_by")
    elif agg and not (order or top):
        expr = f"{colref(expr, agg_col)}.{agg}()"
        api.append(agg)
    elif counting and not order:
        expr += ".count()"
        api.append("count")
    else:
        oc = order or agg_col
        if oc:
            expr += f".order_by(ibis.desc({pystr(oc)}))" if desc else f".order_by({pystr(oc)})"
            api += ["order_by"] + (["desc"] if desc else [])
    if top:
        expr += f".limit({int(top.group(1))})"
        api.append("limit")
    if expr == t:
        return None
    return expr, api
