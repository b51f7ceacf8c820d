"""Validated pairs and snippets -> records of the six tasks, and the per-record gate check.

Generation here is pure text work plus gate calls made in worker processes (`build_*` functions
take one item and return a list of records); `check_record` is the single definition of "this
record is valid", used both when generating and by `validate-multitask`.
"""

from __future__ import annotations

import ast
import io
import random
import re
import tokenize
from functools import lru_cache
from typing import Any

from datagen import gate
from datagen.mutations import clean_message, mutate
from datagen.records import make_record, record_problems, schemas_of

DIALECTS = ("postgres", "sqlite", "mysql", "bigquery", "snowflake", "trino")
# `t.drop("a", "b")` compiles to `* EXCLUDE (a, b)` / `* EXCEPT (a, b)` with the names in set
# order, which depends on PYTHONHASHSEED: not a stable target for a text-exact check.
_UNSTABLE_SQL = re.compile(r"\b(EXCLUDE|EXCEPT)\s*\([^()]*,")


def _meta(item: dict) -> dict:
    return dict(template=item["template"], source=item.get("source", "synthetic"),
                features=item.get("features", []), difficulty=item.get("difficulty", "medium"),
                family=item.get("family", item["template"]))


def _extra(item: dict, **kw: Any) -> dict:
    out = {k: item[k] for k in ("domain", "variant", "provenance") if item.get(k)}
    out.update(kw)
    return out


# ------------------------------------------------------------------------------------------
# sql_to_ibis / ibis_to_sql
# ------------------------------------------------------------------------------------------
def sql_to_ibis_record(pair: dict) -> dict:
    return make_record("sql_to_ibis", {"sql": pair["sql"]}, {"ibis": pair["ibis"]},
                       tables=pair["schemas"], dialect=pair.get("dialect", "duckdb"),
                       extra_meta=_extra(pair), **_meta(pair))


def build_ibis_to_sql(item: dict) -> list[dict]:
    """Target SQL made by Ibis's compiler (through the gate) for each requested dialect."""
    out = []
    for dialect in item["dialects"]:
        try:
            sql = gate.compile_code(item["ibis"], item["schemas"], dialect)
        except Exception:  # noqa: BLE001 - a dialect the compiler cannot target for this expr
            continue
        if _UNSTABLE_SQL.search(sql):
            continue  # Ibis orders these column lists by a set: the text changes per process
        out.append(make_record("ibis_to_sql", {"ibis": item["ibis"], "dialect": dialect},
                               {"sql": sql}, tables=item["schemas"], dialect=dialect,
                               extra_meta=_extra(item), **_meta(item)))
    return out


# ------------------------------------------------------------------------------------------
# code completion
# ------------------------------------------------------------------------------------------
def _line_starts(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _span(code: str, node: ast.AST, starts: list[int]) -> tuple[int, int]:
    return (starts[node.lineno - 1] + node.col_offset,
            starts[node.end_lineno - 1] + node.end_col_offset)


def completion_splits(code: str, rng: random.Random, n: int = 3) -> list[tuple[str, str, str, str]]:
    """Up to n (kind, prefix, completion, suffix) splits at token, argument and chain boundaries."""
    if not code.isascii():
        return []
    try:
        tree = ast.parse(code)
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (SyntaxError, tokenize.TokenError):
        return []
    starts = _line_starts(code)
    spans: dict[str, list[tuple[int, int]]] = {"argument": [], "method": [], "token": [],
                                                "line_end": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *node.keywords]:
                if isinstance(arg, ast.keyword) and arg.arg is None:
                    continue
                a, b = _span(code, arg, starts)
                if b - a >= 2:
                    spans["argument"].append((a, b))
            if isinstance(node.func, ast.Attribute):
                _, call_end = _span(code, node, starts)
                _, value_end = _span(code, node.func.value, starts)
                if call_end - value_end > 2 and code[value_end] == ".":
                    spans["method"].append((value_end, call_end))
    for tok in toks:
        if tok.type == tokenize.NAME and len(tok.string) > 1 and tok.string not in ("ibis", "_"):
            a = starts[tok.start[0] - 1] + tok.start[1]
            spans["token"].append((a, a + len(tok.string)))
        elif tok.type == tokenize.OP and tok.string in (".", "(", ","):
            a = starts[tok.end[0] - 1] + tok.end[1]
            line_end = code.find("\n", a)
            line_end = len(code) if line_end < 0 else line_end
            if line_end - a >= 3:
                spans["line_end"].append((a, line_end))
    kinds = [k for k in spans if spans[k]]
    rng.shuffle(kinds)
    out = []
    seen = set()
    for kind in (kinds * n)[: n * 2]:
        a, b = rng.choice(spans[kind])
        if (a, b) in seen or b - a > 160:
            continue
        seen.add((a, b))
        out.append((kind, code[:a], code[a:b], code[b:]))
        if len(out) >= n:
            break
    return out


def build_completion(item: dict) -> list[dict]:
    rng = random.Random(item["seed"])
    ok, _ = gate.check_code(item["ibis"], item["schemas"])
    if not ok:
        return []
    out = []
    for kind, prefix, middle, suffix in completion_splits(item["ibis"], rng, item.get("n", 3)):
        out.append(make_record("code_completion", {"prefix": prefix, "suffix": suffix},
                               {"completion": middle}, tables=item["schemas"],
                               extra_meta=_extra(item, split=kind), **_meta(item)))
    return out


# ------------------------------------------------------------------------------------------
# error resolution
# ------------------------------------------------------------------------------------------
def build_errors(item: dict) -> list[dict]:
    rng = random.Random(item["seed"])
    code, schemas = item["ibis"], item["schemas"]
    if gate.expect_error(code, schemas) is not None:
        return []  # the "fixed" side must pass
    out = []
    for kind, broken in mutate(code, schemas, rng):
        msg = gate.expect_error(broken, schemas)
        if msg is None:
            continue  # the mutation happened to be valid Ibis: not an error example
        out.append(make_record("error_resolution", {"code": broken, "error": clean_message(msg)},
                               {"fixed": code}, tables=schemas,
                               extra_meta=_extra(item, mutation=kind), **_meta(item)))
        if len(out) >= item.get("n", 2):
            break
    return out


# ------------------------------------------------------------------------------------------
# the check
# ------------------------------------------------------------------------------------------
_CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@lru_cache(maxsize=4096)
def _code_ok(code: str, schemas_key: str) -> tuple[bool, str]:
    import json

    return gate.check_code(code, json.loads(schemas_key))


def _check_code_cached(code: str, schemas: dict) -> tuple[bool, str]:
    import json

    return _code_ok(code, json.dumps(schemas))


def check_record(rec: dict, pair_cache: dict | None = None) -> tuple[bool, str]:
    """(ok, reason): the record is well formed and its content passes the gate."""
    probs = record_problems(rec)
    if probs:
        return False, "; ".join(probs)
    task, inp, tgt = rec["task"], rec["input"], rec["target"]
    schemas = schemas_of(rec)
    if task == "sql_to_ibis":
        if pair_cache is not None:
            from datagen.records import stable_hash

            key = stable_hash(inp["sql"], tgt["ibis"], schemas, rec.get("dialect", "duckdb"))
            if key in pair_cache:
                v = pair_cache[key]
                return bool(v[0]), v[1]
        return gate.check_pair(inp["sql"], tgt["ibis"], schemas, rec.get("dialect", "duckdb"))
    if task == "ibis_to_sql":
        try:
            sql = gate.compile_code(inp["ibis"], schemas, inp["dialect"])
        except Exception as exc:  # noqa: BLE001
            return False, f"does not compile: {exc}"
        return (sql == tgt["sql"], "compiler output" if sql == tgt["sql"]
                else "target differs from the compiler's SQL")
    if task == "code_completion":
        full = inp["prefix"] + tgt["completion"] + inp["suffix"]
        return _check_code_cached(full, schemas)
    if task == "error_resolution":
        if inp["code"] == tgt["fixed"]:
            return False, "broken and fixed code are the same"
        if gate.expect_error(inp["code"], schemas) is None:
            return False, "the broken code passes the gate"
        return _check_code_cached(tgt["fixed"], schemas)
    if task == "qa":
        blocks = _CODE_BLOCK.findall(tgt["answer"])
        rest = re.sub(r"```sql\n.*?```", "", _CODE_BLOCK.sub("", tgt["answer"]), flags=re.S)
        if "```" in rest:
            return False, "unterminated or non-python code block"
        for block in blocks:
            ok, why = _check_code_cached(block.strip(), schemas)
            if not ok:
                return False, f"answer code fails the gate: {why}"
        return True, f"{len(blocks)} code block(s) pass"
    if task == "documentation":
        from datagen.docfuncs import check_documentation

        return check_documentation(inp["code"], tgt["docstring"], inp["style"], schemas)
    return False, f"unknown task {task}"


def check_record_item(rec: dict) -> tuple[bool, str]:
    """Worker entry point (module-level, picklable)."""
    return check_record(rec, _WORKER_PAIR_CACHE)


_WORKER_PAIR_CACHE: dict | None = None


def set_pair_cache(cache: dict | None) -> None:
    """Verdicts computed earlier in this run (inherited by forked workers)."""
    global _WORKER_PAIR_CACHE
    _WORKER_PAIR_CACHE = cache
