"""Completion after an operator: the right-hand operand, a column that fits the left one.

`trips.mutate(fare_per_km=trips.fare /` has no identifier, member or argument to complete, so the
member/argument engine (tasks.completion) offers nothing. The left operand is evaluated through
the gate; the candidates are the other columns of its table whose type fits the operator
(numbers for arithmetic, the same kind for comparisons, booleans for `&`/`|`), the ones whose
name shares a word with the name being defined (`fare_per_km` -> `distance_km`) first.
"""

from __future__ import annotations

import re
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.codebuild import colref, is_name

_OP = re.compile(r"(==|!=|>=|<=|\*\*|//|[-+*/%<>&|])\s*$")
_TARGET = re.compile(r"([A-Za-z_]\w*)\s*=(?!=)[^=]*$")


def _family(dtype: str) -> str:
    d = dtype.lstrip("!").lower()
    if re.match(r"(u?int|float|decimal)", d):
        return "number"
    if d.startswith(("timestamp", "date", "time")):
        return "time"
    if d.startswith("bool"):
        return "bool"
    return d


def operand_candidates(code: str, line: int, character: int, schemas: Schemas,
                       env: dict[str, Any] | None = None) -> list:
    """Column candidates (tasks.completion.Candidate) for the operand after an operator at the
    cursor, best first; [] when the cursor is not right after a binary operator."""
    import ibis.expr.types as ir

    from ibert_lsp.prompting.statements import statement_start
    from ibert_lsp.tasks.completion import Candidate, evaluate_receiver
    from ibert_lsp.tasks.cursor import receiver_before

    lines = code.split("\n")
    if line >= len(lines):
        return []
    cur = lines[line][:character]
    m = _OP.search(cur)
    if not m or cur.rstrip().endswith(("->", "**=", "==>")):
        return []
    op = m.group(1)
    first = statement_start(lines, line)
    text = "\n".join(lines[first:line] + [cur[: m.start()]]).rstrip()
    left = receiver_before(text, len(text))
    if not left:
        return []
    env = env or {}
    value = evaluate_receiver(left, schemas, env)
    if not isinstance(value, ir.Value):
        return []
    root = re.match(r"[A-Za-z_]\w*", left)
    if root is None or not is_name(root.group(0)):
        return []
    table = evaluate_receiver(root.group(0), schemas, env)
    if not isinstance(table, ir.Table):
        return []
    want = _family(str(value.type()))
    if op in "+-*/%//**":
        ok = {"number"} if want == "number" else ({"time"} if want == "time" else {want})
    elif op in "&|":
        ok = {"bool"}
    else:
        ok = {want}
    left_col = left.rsplit(".", 1)[-1]
    target = _TARGET.search(text)
    words = set(target.group(1).lower().split("_")) if target else set()
    out = []
    for i, (col, dtype) in enumerate(table.schema().items()):
        if col == left_col or _family(str(dtype)) not in ok:
            continue
        shared = len(words & set(col.lower().split("_")) - {left_col.lower()})
        as_attr = not hasattr(type(table), col)
        ref = colref(root.group(0), col, attribute_ok=as_attr)
        text = ref if cur[-1:].isspace() else " " + ref  # `fare /` + ` trips.distance_km`
        out.append((-shared, i, Candidate(ref, text, "column", str(dtype),
                                          f"column `{col}`: {dtype}", "schema", 0, character)))
    out.sort(key=lambda x: x[:2])
    return [c for _, _, c in out]
