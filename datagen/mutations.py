"""Break valid Ibis code the way people break it (error_resolution examples).

Each mutation takes valid code (and its schemas) and returns broken code or None when it does not
apply. The gate decides afterwards whether the result really fails, and gives the message.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable

# wrong method names people write, most of them pandas/SQL/other-dataframe habits
METHOD_MISTAKES: dict[str, list[str]] = {
    "group_by": ["groupby", "group", "groupBy"],
    "order_by": ["sort_values", "orderby", "sort_by", "sort"],
    "filter": ["where", "filer", "query"],
    "select": ["selct", "columns", "project"],
    "mutate": ["assign", "with_column", "withColumn"],
    "agg": ["aggregte", "summarize", "agregate"],
    "aggregate": ["aggregte", "summarise"],
    "mean": ["avg", "average"],
    "nunique": ["count_distinct", "n_unique", "distinct_count"],
    "fill_null": ["fillnull", "fill_na"],
    "isnull": ["is_null", "isna"],
    "notnull": ["is_not_null", "notna"],
    "distinct": ["drop_duplicates", "unique"],
    "limit": ["take", "top"],
    "cast": ["astype", "to_type"],
    "startswith": ["starts_with"],
    "length": ["len", "str_len"],
    "isin": ["is_in", "in_"],
    "notin": ["not_in"],
    "join": ["merge"],
    "left_join": ["leftjoin"],
    "lag": ["shift", "prev"],
    "lead": ["next_value"],
    "sum": ["total"],
    "truncate": ["trunc", "date_trunc"],
    "upper": ["toupper", "uppercase"],
    "lower": ["tolower", "lowercase"],
    "year": ["get_year"],
    "ifelse": ["if_else", "where_else"],
    "between": ["in_range"],
    "union": ["concat", "append"],
    "difference": ["except_", "minus"],
    "round": ["rnd"],
    "replace": ["sub"],
    "over": ["window"],
}
KWARG_MISTAKES: dict[str, list[str]] = {
    "how": ["kind", "join_type", "type"],
    "group_by": ["partition_by", "partition"],
    "order_by": ["sort_by", "orderby"],
    "distinct": ["unique", "dedupe"],
    "else_": ["default", "otherwise", "else"],
    "offset": ["skip", "start"],
    "rows": ["frame", "rows_between"],
    "where": ["condition", "filter"],
}


def _offsets(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _pos(code: str, starts: list[int], line: int, col: int) -> int:
    # ast columns are UTF-8 byte offsets; our generated code is ASCII, mined code may not be
    text = code[starts[line - 1]: starts[line] if line < len(starts) else len(code)]
    return starts[line - 1] + len(text.encode("utf-8")[:col].decode("utf-8", "ignore"))


def _replace_span(code: str, node: ast.AST, new: str, *, attr_only: bool = False) -> str:
    starts = _offsets(code)
    a = _pos(code, starts, node.lineno, node.col_offset)
    b = _pos(code, starts, node.end_lineno, node.end_col_offset)
    return code[:a] + new + code[b:]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "swap", "double", "drop"))
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "swap" and word[i] != word[i + 1 if i + 1 < len(word) else i - 1]:
        j = i + 1 if i + 1 < len(word) else i - 1
        a, b = sorted((i, j))
        return word[:a] + word[b] + word[a] + word[b + 1:]
    return word[:i] + word[i] + word[i:]


def _columns(schemas: dict) -> set[str]:
    return {c for s in schemas.values() for c in s}


def _attr_nodes(tree: ast.AST) -> list[ast.Attribute]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]


def _replace_attr(code: str, node: ast.Attribute, new_attr: str) -> str | None:
    """Rename the attribute part of `value.attr` (position: after the value's end)."""
    starts = _offsets(code)
    end = _pos(code, starts, node.end_lineno, node.end_col_offset)
    start = end - len(node.attr)
    if code[start:end] != node.attr:
        return None
    return code[:start] + new_attr + code[end:]


def typo_column(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    cols = _columns(schemas)
    cands: list[tuple[str, ast.AST]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr in cols:
            cands.append(("attr", n))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in cols:
            cands.append(("str", n))
    if not cands:
        return None
    kind, node = rng.choice(cands)
    name = node.attr if kind == "attr" else node.value
    bad = _typo(name, rng)
    if bad == name or bad in cols:
        return None
    if kind == "attr":
        return _replace_attr(code, node, bad)
    starts = _offsets(code)
    a = _pos(code, starts, node.lineno, node.col_offset)
    b = _pos(code, starts, node.end_lineno, node.end_col_offset)
    quote = code[a]
    return code[:a] + quote + bad + quote + code[b:]


def wrong_method(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    cands = [n for n in _attr_nodes(tree) if n.attr in METHOD_MISTAKES]
    if not cands:
        return None
    node = rng.choice(cands)
    return _replace_attr(code, node, rng.choice(METHOD_MISTAKES[node.attr]))


def typo_method(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    cols = _columns(schemas)
    cands = [n for n in _attr_nodes(tree) if n.attr not in cols and len(n.attr) >= 4
             and not (isinstance(n.value, ast.Name) and n.value.id == "ibis")]
    if not cands:
        return None
    node = rng.choice(cands)
    bad = _typo(node.attr, rng)
    return None if bad == node.attr else _replace_attr(code, node, bad)


def wrong_kwarg(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    cands = [kw for n in ast.walk(tree) if isinstance(n, ast.Call) for kw in n.keywords
             if kw.arg in KWARG_MISTAKES]
    if not cands:
        return None
    kw = rng.choice(cands)
    starts = _offsets(code)
    a = _pos(code, starts, kw.lineno, kw.col_offset)
    if not code.startswith(kw.arg, a):
        return None
    return code[:a] + rng.choice(KWARG_MISTAKES[kw.arg]) + code[a + len(kw.arg):]


def literal_type(code: str, schemas: dict, rng: random.Random) -> str | None:
    """A number compared with a column written as a string, or a string written bare."""
    tree = ast.parse(code)
    cands = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Compare) and len(n.comparators) == 1:
            right = n.comparators[0]
            if isinstance(right, ast.Constant) and not isinstance(right.value, bool):
                if isinstance(right.value, (int, float)):
                    cands.append((right, f"'{right.value}'"))
                elif isinstance(right.value, str) and re.fullmatch(r"[A-Za-z_]\w*", right.value):
                    cands.append((right, "0"))
    if not cands:
        return None
    node, new = rng.choice(cands)
    return _replace_span(code, node, new)


def missing_paren(code: str, schemas: dict, rng: random.Random) -> str | None:
    idx = [i for i, ch in enumerate(code) if ch == ")"]
    if not idx:
        return None
    i = idx[-1] if rng.random() < 0.6 else rng.choice(idx)
    return code[:i] + code[i + 1:]


def assign_for_compare(code: str, schemas: dict, rng: random.Random) -> str | None:
    spots = [m.start() for m in re.finditer(r" == ", code)]
    if not spots:
        return None
    i = rng.choice(spots)
    return code[:i] + " = " + code[i + 4:]


def python_bool_ops(code: str, schemas: dict, rng: random.Random) -> str | None:
    spots = [(m.start(), m.group(0)) for m in re.finditer(r"\) [&|] \(", code)]
    if not spots:
        return None
    i, s = rng.choice(spots)
    word = " and " if "&" in s else " or "
    return code[:i + 1] + word + code[i + 4:]


def unquoted_column(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    cols = _columns(schemas)
    cands = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and isinstance(n.value, str) and n.value in cols]
    if not cands:
        return None
    node = rng.choice(cands)
    return _replace_span(code, node, node.value)


def wrong_table_name(code: str, schemas: dict, rng: random.Random) -> str | None:
    tree = ast.parse(code)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in schemas]
    if not names:
        return None
    node = rng.choice(names)
    bad = node.id[:-1] if node.id.endswith("s") else node.id + "s"
    if bad in schemas:
        return None
    return _replace_span(code, node, bad)


def parent_table_after_filter(code: str, schemas: dict, rng: random.Random) -> str | None:
    """`t.filter(...).agg(n=_.count())` -> `t.count()`: Ibis' classic IntegrityError."""
    if "_.count()" not in code or not re.search(r"\.(filter|join|inner_join|left_join)\(", code):
        return None
    tables = [t for t in schemas if re.search(rf"\b{re.escape(t)}\b", code)]
    if not tables:
        return None
    return code.replace("_.count()", f"{tables[0]}.count()", 1)


def method_not_called(code: str, schemas: dict, rng: random.Random) -> str | None:
    spots = [m for m in re.finditer(r"\.(sum|mean|max|min|count|nunique)\(\)", code)]
    if not spots:
        return None
    m = rng.choice(spots)
    return code[:m.end() - 2] + code[m.end():]


MUTATIONS: dict[str, Callable[[str, dict, random.Random], str | None]] = {
    "typo_column": typo_column,
    "wrong_method": wrong_method,
    "typo_method": typo_method,
    "wrong_kwarg": wrong_kwarg,
    "literal_type": literal_type,
    "missing_paren": missing_paren,
    "assign_for_compare": assign_for_compare,
    "python_bool_ops": python_bool_ops,
    "unquoted_column": unquoted_column,
    "wrong_table_name": wrong_table_name,
    "parent_table_after_filter": parent_table_after_filter,
    "method_not_called": method_not_called,
}


def mutate(code: str, schemas: dict, rng: random.Random, kinds: list[str] | None = None
           ) -> list[tuple[str, str]]:
    """All (kind, broken_code) that apply, in random order; broken != code."""
    out = []
    names = list(kinds or MUTATIONS)
    rng.shuffle(names)
    for kind in names:
        try:
            broken = MUTATIONS[kind](code, schemas, rng)
        except (SyntaxError, ValueError, IndexError):
            broken = None
        if broken and broken != code:
            out.append((kind, broken))
    return out


_ADDR = re.compile(r" at 0x[0-9a-fA-F]+")


def clean_message(msg: str) -> str:
    """Error text without memory addresses, one line, bounded."""
    msg = _ADDR.sub("", msg).strip().splitlines()[0] if msg.strip() else msg
    return msg[:300]
