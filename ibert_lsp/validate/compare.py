"""Result comparison that ignores what does not matter (row order unless ordered, NULL
spellings, float noise, int/float/decimal spelling) and nothing else."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any

RTOL = 1e-6
ATOL = 1e-9
_NULL = ("\x00null",)


def norm(v: Any) -> Any:
    """One spelling per value: NULL/NaN/NaT -> None, numbers -> float, nested -> tuples."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, decimal.Decimal)):
        return float(v)
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (list, tuple)):
        return tuple(norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), norm(x)) for k, x in v.items()))
    months = getattr(v, "months", None)
    if months is not None and hasattr(v, "nanoseconds"):  # pyarrow MonthDayNano
        return months * 30 * 86400.0 + v.days * 86400.0 + v.nanoseconds / 1e9
    try:
        import pandas as pd

        if v is pd.NA or v is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return v


def sort_key(row: tuple) -> tuple:
    """Total order over normalized rows; floats rounded so near-equal values sort together."""
    out = []
    for v in row:
        if v is None:
            out.append((0, ""))
        elif isinstance(v, bool):
            out.append((1, int(v)))
        elif isinstance(v, float):
            out.append((2, float(f"{v:.6g}") if math.isfinite(v) else v))
        elif isinstance(v, str):
            out.append((3, v))
        else:
            out.append((4, repr(v)))
    return tuple(out)


def values_equal(a: Any, b: Any, rtol: float = RTOL) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=rtol, abs_tol=ATOL)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(values_equal(x, y, rtol) for x, y in zip(a, b))
    return a == b


def rows_equal(a: tuple, b: tuple, rtol: float = RTOL) -> bool:
    return len(a) == len(b) and all(values_equal(x, y, rtol) for x, y in zip(a, b))


def rows_of(table: Any) -> list[tuple]:
    """Normalized rows of a pyarrow table (positional; names are compared separately)."""
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [tuple(norm(c[i]) for c in cols) for i in range(table.num_rows)]


def _show(row: tuple) -> str:
    text = repr(tuple(None if v is None else v for v in row))
    return text if len(text) < 160 else text[:157] + "..."


def compare_rows(a: list[tuple], b: list[tuple], *, ordered: bool = False,
                 keys_a: list[tuple] | None = None, keys_b: list[tuple] | None = None,
                 limited: bool = False, rtol: float = RTOL) -> str | None:
    """None when `a` and `b` agree, else a one-line reason.

    Unordered: same multiset. Ordered without keys: same sequence. Ordered with `keys_a` (the
    sort key of each row of `a`): rows tied on the key may come in any order, i.e. every run of
    equal keys must hold the same multiset in both; `keys_b`, when known, must match
    position by position. With `limited`, the last tie run may differ (LIMIT cuts through it)."""
    if len(a) != len(b):
        return f"row counts differ: {len(a)} vs {len(b)}"
    if not a:
        return None
    if len(a[0]) != len(b[0]):
        return f"column counts differ: {len(a[0])} vs {len(b[0])}"
    if not ordered:
        return _multiset_diff(a, b, rtol)
    if keys_a is None:
        for i, (ra, rb) in enumerate(zip(a, b)):
            if not rows_equal(ra, rb, rtol):
                return f"row {i} differs (ordered): {_show(ra)} vs {_show(rb)}"
        return None
    if keys_b is not None:
        for i, (ka, kb) in enumerate(zip(keys_a, keys_b)):
            if not rows_equal(ka, kb, rtol):
                return f"order differs at row {i}: sort key {_show(ka)} vs {_show(kb)}"
    runs = tie_runs(keys_a, rtol)
    if limited:
        runs = runs[:-1]
    for start, end in runs:
        diff = _multiset_diff(a[start:end], b[start:end], rtol)
        if diff is not None:
            whole = _multiset_diff(a, b, rtol) if not limited else diff
            if whole is None:
                return f"order differs in rows {start}..{end - 1}: {diff}"
            return whole
    return None


def tie_runs(keys: list[tuple], rtol: float = RTOL) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive equal sort keys."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or not rows_equal(keys[i], keys[start], rtol):
            runs.append((start, i))
            start = i
    return runs


def _multiset_diff(a: list[tuple], b: list[tuple], rtol: float) -> str | None:
    sa, sb = sorted(a, key=sort_key), sorted(b, key=sort_key)
    for ra, rb in zip(sa, sb):
        if not rows_equal(ra, rb, rtol):
            return f"different rows: {_show(ra)} vs {_show(rb)}"
    return None


def compare_frames(a: Any, b: Any, ordered: bool = False, rtol: float = RTOL) -> str | None:
    """Compare two results (pyarrow tables or pandas frames) by position; None when equal."""
    return compare_rows(_to_rows(a), _to_rows(b), ordered=ordered, rtol=rtol)


def _to_rows(x: Any) -> list[tuple]:
    if hasattr(x, "num_columns"):
        return rows_of(x)
    if hasattr(x, "itertuples"):  # pandas
        return [tuple(norm(v) for v in row) for row in x.itertuples(index=False, name=None)]
    return [tuple(norm(v) for v in row) for row in x]
