"""Order completion items the way real code uses them: after a column, the methods real Ibis
code calls most on that kind of value (`desc`, `sum`, `mean` before `bit_and`), counted over the
mined corpus and the Ibis docs by `ibert datagen method-frequency` into
`ibert_lsp/data/method_frequency.json` (shipped with the package)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

FREQUENCY_FILE = Path(__file__).resolve().parent.parent / "data" / "method_frequency.json"


@functools.lru_cache(maxsize=1)
def _counts() -> dict[str, dict[str, int]]:
    try:
        data = json.loads(FREQUENCY_FILE.read_text())
        return {k: {m: int(n) for m, n in v.items()} for k, v in data["counts"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no table: alphabetical order, as Ibis lists its members


def receiver_kinds(cls: type) -> tuple[str, ...]:
    """The frequency table's keys that describe values of `cls` (most specific first)."""
    import ibis.expr.types as ir
    from ibis.common.deferred import Deferred
    from ibis.expr.types.groupby import GroupedTable

    from ibis.backends import BaseBackend

    if issubclass(cls, BaseBackend):
        return ("backend",)
    if issubclass(cls, ir.Table):
        return ("table",)
    if issubclass(cls, GroupedTable):
        return ("grouped",)
    if issubclass(cls, Deferred):
        return ("deferred", "column")
    if issubclass(cls, ir.Value):
        family = ("numeric" if issubclass(cls, ir.NumericValue) else
                  "string" if issubclass(cls, ir.StringValue) else
                  "temporal" if issubclass(cls, (ir.TimestampValue, ir.DateValue, ir.TimeValue,
                                                 ir.IntervalValue)) else
                  "boolean" if issubclass(cls, ir.BooleanValue) else None)
        return ((family,) if family else ()) + ("column", "deferred")
    return ()


def score(name: str, kinds: tuple[str, ...]) -> int:
    """How often real code calls `name` on values of these kinds (specific kinds weigh more)."""
    counts = _counts()
    return sum(counts.get(k, {}).get(name, 0) * (len(kinds) - i) for i, k in enumerate(kinds))


def by_use(names: list[str], cls: type | None = None, *, kinds: tuple[str, ...] = ()) -> list[str]:
    """`names` with the ones real code calls on `cls` (or uses in the table's `kinds`) first,
    most used first, then the rest in their given order."""
    kinds = kinds or (receiver_kinds(cls) if cls is not None else ())
    scored = [(score(n, kinds), i, n) for i, n in enumerate(names)]
    used = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
    rest = [s for s in scored if s[0] <= 0]
    return [n for _, _, n in used + rest]
