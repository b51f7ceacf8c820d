"""Variations of validated pairs that keep their meaning, and new combinations.

Every function here maps one validated pair to a *candidate* pair (or None); the pipeline sends
each candidate through the gate (`gate.check_pair`) before it is kept.

- dialect: the SQL rewritten by sqlglot for another dialect (the gate transpiles it back)
- spelling: the same SQL pretty-printed, or with lower-case keywords
- style: Ibis column references switched between `_.col` and `table.col`
- compose: the query wrapped in a top-k over its own output (`ORDER BY ... LIMIT k`)
  or filtered on one of its numeric output columns (filter + window/join/... combinations)
"""

from __future__ import annotations

import ast
import random
import re

from datagen import gate
from ibert_lsp.tasks.codebuild import colref, is_name

DIALECTS = ("postgres", "sqlite", "mysql", "bigquery", "snowflake", "trino")
SQL_KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET", "AS", "AND",
    "OR", "NOT", "IN", "IS", "NULL", "JOIN", "LEFT", "RIGHT", "FULL", "OUTER", "INNER", "ON",
    "UNION", "ALL", "INTERSECT", "EXCEPT", "DISTINCT", "CASE", "WHEN", "THEN", "ELSE", "END",
    "WITH", "BETWEEN", "LIKE", "DESC", "ASC", "OVER", "PARTITION BY", "ROWS", "EXISTS",
)
_KW_RE = re.compile(r"\b(" + "|".join(k.replace(" ", r"\s+") for k in SQL_KEYWORDS) + r")\b")


def _outside_quotes(sql: str, fn) -> str:
    parts = re.split(r"('(?:[^']|'')*')", sql)
    return "".join(p if i % 2 else fn(p) for i, p in enumerate(parts))


def dialect_variant(pair: dict, rng: random.Random) -> dict | None:
    import sqlglot

    dialect = rng.choice(DIALECTS)
    try:
        sql = sqlglot.transpile(pair["sql"], read="duckdb", write=dialect)[0]
    except Exception:  # noqa: BLE001
        return None
    if sql == pair["sql"] and dialect == "duckdb":
        return None
    return {**pair, "sql": sql, "dialect": dialect, "variant": f"dialect:{dialect}"}


def spelling_variant(pair: dict, rng: random.Random) -> dict | None:
    import sqlglot

    kind = rng.choice(("pretty", "lower"))
    if kind == "pretty":
        try:
            sql = sqlglot.transpile(pair["sql"], read="duckdb", write="duckdb", pretty=True)[0]
        except Exception:  # noqa: BLE001
            return None
    else:
        sql = _outside_quotes(pair["sql"], lambda s: _KW_RE.sub(lambda m: m.group(0).lower(), s))
    if sql == pair["sql"]:
        return None
    return {**pair, "sql": sql, "variant": f"spelling:{kind}"}


def _col(name: str) -> str:
    """`_.name`, or `_["count"]` where the name is also a Table method."""
    import ibis

    return colref("_", name, attribute_ok=not hasattr(ibis.Table, name))


def style_variant(pair: dict, rng: random.Random) -> dict | None:
    tables = list(pair["schemas"])
    if len(tables) != 1 or "\n" in pair["ibis"]:
        return None
    t = tables[0]
    if not is_name(t):  # the table name is pasted into code below
        return None
    code = pair["ibis"]
    if "_." in code:
        new = re.sub(r"(?<![\w.])_\.", f"{t}.", code)
    else:
        new = re.sub(rf"(?<![\w.]){re.escape(t)}\.(?=[a-z_]\w*\b(?!\())", "_.", code)
        # the leading `t.` of the chain must stay a table
        if new.startswith("_."):
            new = t + new[1:]
    if new == code:
        return None
    return {**pair, "ibis": new, "style": "table" if "_." in code else "deferred",
            "variant": "style"}


def _last_expr_split(code: str) -> tuple[str, str] | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return None
    head = "\n".join(ast.unparse(s) for s in tree.body[:-1])
    return head, ast.unparse(tree.body[-1].value)


def compose_variant(pair: dict, rng: random.Random) -> dict | None:
    """Runs in a worker: needs the output schema (through the gate)."""
    try:
        out = gate.output_schema(pair["ibis"], pair["schemas"])
    except Exception:  # noqa: BLE001
        return None
    if not out:
        return None
    split = _last_expr_split(pair["ibis"])
    if split is None:
        return None
    head, last = split
    cols = list(out)
    numeric = [c for c, t in out.items() if re.match(r"!?(int|float|decimal|uint)", t)]
    # names go bare into SQL and through `colref` into Ibis: plain lower-case names only
    if not all(is_name(c) and re.fullmatch(r"[a-z][a-z0-9_]*", c) for c in cols):
        return None
    prefix = (head + "\n") if head else ""
    inner_sql = pair["sql"].rstrip().rstrip(";")
    if re.search(r"\b(ORDER\s+BY|LIMIT)\b", inner_sql, re.I) and rng.random() < 0.7:
        return None
    if numeric and rng.random() < 0.5:
        c = rng.choice(numeric)
        k = rng.choice((3, 5, 10))
        others = [x for x in cols if x != c]
        order_sql = ", ".join([f"{c} DESC"] + others)
        order_py = ", ".join([f"{_col(c)}.desc()"] + [_col(x) for x in others])
        sql = f"SELECT * FROM ({inner_sql}) AS q ORDER BY {order_sql} LIMIT {k}"
        ibis_code = f"{prefix}({last}).order_by([{order_py}]).limit({k})"
        kind, feats = "topk", ["order_by", "limit", "subquery"]
    elif numeric:
        c = rng.choice(numeric)
        sql = f"SELECT * FROM ({inner_sql}) AS q WHERE {c} > 0"
        ibis_code = f"{prefix}({last}).filter({_col(c)} > 0)"
        kind, feats = "filter", ["where", "subquery"]
    else:
        c = rng.choice(cols)
        sql = f"SELECT * FROM ({inner_sql}) AS q WHERE {c} IS NOT NULL"
        ibis_code = f"{prefix}({last}).filter({_col(c)}.notnull())"
        kind, feats = "notnull", ["where", "null", "subquery"]
    return {**pair, "sql": sql, "ibis": ibis_code, "variant": f"compose:{kind}",
            "features": sorted(set(pair.get("features", [])) | set(feats) | {"composed"}),
            "difficulty": "hard"}


VARIANTS = {
    "dialect": dialect_variant,
    "spelling": spelling_variant,
    "style": style_variant,
    "compose": compose_variant,
}
