"""Deterministic synthetic rows for any schema, shaped so queries select something: values hit
the literals a query mentions (and their neighbours, so `>` vs `>=` differ), join keys overlap
between tables, NULLs and duplicate rows appear."""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import hashlib
import random
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ibert_lsp.schema.types import Schemas

NULL_RATE = 0.08
LITERAL_RATE = 0.35
DUPLICATE_RATE = 0.08
KEY_POOL = 8          # join keys are drawn from 1..KEY_POOL
WORDS = ["alpha", "beta", "gamma", "delta", "Alpha", "b c", "", "x%y", "epsilon", "zeta"]
BASE_DATE = dt.date(2021, 1, 1)
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


class SynthError(ValueError):
    """A column type the generator cannot fill (e.g. geospatial)."""


# --- literals ------------------------------------------------------------------------------------

def literals_from_sql(sql: str, dialect: str = "duckdb") -> list[Any]:
    """Numbers and strings a SQL query compares against (LIKE patterns also without wildcards)."""
    from sqlglot import exp

    from ibert_lsp.validate.sqlutil import parse

    try:
        trees = parse(sql, dialect)
    except Exception:  # noqa: BLE001 - unparsable SQL just yields no hints
        return []
    out: list[Any] = []
    for tree in trees:
        if tree is None:
            continue
        for lit in tree.find_all(exp.Literal):
            if lit.is_string:
                out.extend(_string_variants(lit.this))
            else:
                out.append(parse_number(lit.this))
            parent = lit.parent
            if isinstance(parent, exp.Neg) and not lit.is_string:
                out.append(-parse_number(lit.this))
    return [v for v in out if v is not None]


def literals_from_code(code: str) -> list[Any]:
    """Constants an Ibis snippet uses (AST only, nothing is run)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    out: list[Any] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and not isinstance(node.value, (bytes, complex)) \
                and node.value is not None and node.value is not Ellipsis:
            if isinstance(node.value, str):
                out.extend(_string_variants(node.value))
            else:
                out.append(node.value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
                and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)):
            out.append(-node.operand.value)
    return out


def parse_number(text: str) -> int | float | None:
    """A SQL or Python number literal's value (int when it is one), None when it is not."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _string_variants(s: str) -> list[str]:
    if len(s) > 200:
        return []
    out = [s]
    core = s.strip("%_")
    if core != s and core:
        out += [core, "pre" + core + "post", core + "z"]
    return out


# --- values --------------------------------------------------------------------------------------

def is_key_column(name: str, shared: set[str]) -> bool:
    low = name.lower()
    return (low == "id" or low.endswith(("_id", "key", "_sk")) or name.endswith(("Id", "ID"))
            or low in shared)


def _rng(seed: int, *parts: str) -> random.Random:
    digest = hashlib.sha256("\x00".join([str(seed), *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _int_range(t: str) -> tuple[int, int]:
    bits = int(re.sub(r"\D", "", t) or 64)
    if t.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _as_date(v: Any) -> dt.date | None:
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def _as_datetime(v: Any) -> dt.datetime | None:
    if isinstance(v, str):
        try:
            return dt.datetime.fromisoformat(v.replace("Z", ""))
        except ValueError:
            d = _as_date(v)
            return dt.datetime(d.year, d.month, d.day) if d else None
    return None


@dataclass(frozen=True)
class Shape:
    """How one seed spreads values. Seeds cycle through three shapes so that some seed has
    few distinct values (HAVING COUNT(*) > k holds), some has keys that only partly overlap
    between tables (NOT IN / EXCEPT / anti joins keep rows), and some has wide ranges."""

    key_lo: int = 1
    key_hi: int = KEY_POOL
    key_null_rate: float = NULL_RATE / 2
    null_rate: float = NULL_RATE
    n_words: int = len(WORDS)
    suffix_rate: float = 0.3
    int_lo: int = -5
    int_hi: int = 120
    days: int = 1200  # dates and timestamps fall within this many days of 2021-01-01
    duplicate_rate: float = DUPLICATE_RATE
    unique_first_key: bool = False  # the table's first key column acts as a primary key


def shape_for(seed: int, position: int) -> Shape:
    """The shape of the `position`-th table (in schema order) for `seed`."""
    variant = seed % 3
    if variant == 0:  # narrow: few distinct values, keys overlap fully
        return Shape(n_words=3, suffix_rate=0.0, int_lo=0, int_hi=10, days=6)
    if variant == 1:  # shifted key ranges: any two tables share some keys, not all; no NULLs
        lo = 1 + 3 * (position % 3)    # (so outer-join NULLs are not hidden among data NULLs)
        return Shape(key_lo=lo, key_hi=lo + KEY_POOL - 1, key_null_rate=0.0, null_rate=0.0,
                     duplicate_rate=0.0, unique_first_key=True)
    return Shape(key_hi=3 * KEY_POOL, suffix_rate=0.6, int_lo=-50, int_hi=1000)  # wide


class _Column:
    """Draws values of one column type, mixing in the query's literals."""

    def __init__(self, typ: str, key: bool, literals: list[Any], rng: random.Random,
                 shape: Shape | None = None) -> None:
        self.t = typ.lstrip("!").lower()
        self.key = key
        self.rng = rng
        self.shape = shape or Shape()
        self.pool = self._literal_pool(literals)

    def _literal_pool(self, lits: list[Any]) -> list[Any]:
        t = self.t
        if t.startswith("interval"):
            return []
        nums = [v for v in lits if isinstance(v, (int, float)) and not isinstance(v, bool)]
        strs = [v for v in lits if isinstance(v, str)]
        if t.startswith(("int", "uint")):
            lo, hi = _int_range(t)
            cand = {int(n) + d for n in nums if abs(n) < 2**62 for d in (-1, 0, 1)}
            return sorted(v for v in cand if lo <= v <= hi)
        if t.startswith(("float", "decimal")):
            cand = [float(n) + d for n in nums if abs(n) < 1e15 for d in (-0.5, 0.0, 0.5)]
            return cand
        if t == "string":
            return strs
        if t == "date":
            return [d + dt.timedelta(days=k) for d in filter(None, map(_as_date, strs))
                    for k in (-1, 0, 1)]
        if t.startswith("timestamp"):
            return [d + dt.timedelta(seconds=k) for d in filter(None, map(_as_datetime, strs))
                    for k in (-1, 0, 1)]
        return []

    def draw(self) -> Any:
        r = self.rng
        if r.random() < (self.shape.key_null_rate if self.key else self.shape.null_rate):
            return None
        if self.pool and r.random() < LITERAL_RATE:
            return self._fit(r.choice(self.pool))
        return self._fresh()

    def _fit(self, v: Any) -> Any:
        """Literal values shaped to the column: decimals quantized, out-of-range ones redrawn."""
        if self.t.startswith("decimal"):
            m = _DECIMAL.match(self.t)
            prec, scale = (int(m.group(1)), int(m.group(2))) if m else (18, 3)
            limit = 10 ** (prec - scale) - 1
            if abs(v) > limit:
                return self._fresh() if v is not None and abs(v) < 1e300 else None
            return decimal.Decimal(str(v)).quantize(decimal.Decimal(1).scaleb(-scale))
        return v

    def _fresh(self) -> Any:
        r, t, sh = self.rng, self.t, self.shape
        if t.startswith("interval"):
            return dt.timedelta(seconds=r.randint(0, 10 * 86400))
        if t.startswith(("int", "uint")):
            lo, hi = _int_range(t)
            v = r.randint(sh.key_lo, sh.key_hi) if self.key else r.randint(sh.int_lo, sh.int_hi)
            return max(lo, min(hi, v))
        if t.startswith("float"):
            if self.key:
                return float(r.randint(sh.key_lo, sh.key_hi))
            return round(r.uniform(-10, 500), 2)
        if t.startswith("decimal"):
            m = _DECIMAL.match(t)
            top = 10 ** (int(m.group(1)) - int(m.group(2))) - 1 if m else 500
            return self._fit(round(r.uniform(-min(10, top), min(500, top)), 2))
        if t in ("string", "str"):
            if self.key:
                return f"k{r.randint(sh.key_lo, sh.key_hi)}"
            w = r.choice(WORDS[: sh.n_words])
            return f"{w}{r.randint(0, 9)}" if r.random() < sh.suffix_rate else w
        if t == "boolean":
            return r.random() < 0.5
        if t == "date":
            return BASE_DATE + dt.timedelta(days=r.randint(0, sh.days))
        if t.startswith("timestamp"):
            return dt.datetime(2021, 1, 1) + dt.timedelta(seconds=r.randint(0, sh.days * 86400))
        if t == "time":
            return dt.time(r.randint(0, 23), r.randint(0, 59), r.randint(0, 59))
        if t == "binary":
            return bytes(r.randint(0, 255) for _ in range(r.randint(0, 6)))
        if t == "uuid":
            return str(uuid.UUID(int=r.randint(sh.key_lo, sh.key_hi) if self.key
                                 else r.getrandbits(128)))
        if t == "json":
            return f'{{"k": {r.randint(0, 9)}, "s": "{r.choice(WORDS[:4])}"}}'
        if t == "null":
            return None
        if t in ("inet",):
            return f"10.0.{r.randint(0, 3)}.{r.randint(1, 254)}"
        if t == "macaddr":
            return ":".join(f"{r.randint(0, 255):02x}" for _ in range(6))
        return self._nested(t)

    def _nested(self, t: str) -> Any:
        """array / struct / map values, built from the element types' own generators."""
        import ibis.expr.datatypes as dtypes

        r = self.rng
        try:
            d = dtypes.dtype(t)
        except Exception:  # noqa: BLE001
            d = None
        if d is not None and d.is_array():
            inner = _Column(str(d.value_type), False, [], r)
            return [inner._fresh() for _ in range(r.randint(0, 3))]
        if d is not None and d.is_struct():
            return {name: _Column(str(ft), False, [], r).draw() for name, ft in d.items()}
        if d is not None and d.is_map():
            keys = _Column(str(d.key_type), False, [], r)
            vals = _Column(str(d.value_type), False, [], r)
            return list({keys._fresh(): vals.draw() for _ in range(r.randint(0, 3))}.items())
        raise SynthError(f"cannot make synthetic values of type {t}")


def synth_rows(schemas: Schemas, literals: list[Any], seed: int, n_rows: int = 40
               ) -> dict[str, dict[str, list[Any]]]:
    """Column lists per table; the pure-Python core of synth_tables."""
    counts: dict[str, int] = {}
    for cols in schemas.values():
        for c in cols:
            counts[c.lower()] = counts.get(c.lower(), 0) + 1
    shared = {c for c, n in counts.items() if n > 1}
    # strings naming columns (`select('id')`) are not values the query compares against
    literals = [v for v in literals if not (isinstance(v, str) and v.lower() in counts)]
    out: dict[str, dict[str, list[Any]]] = {}
    for position, (table, cols) in enumerate(schemas.items()):
        shape = shape_for(seed, position)
        gens = {c: _Column(t, is_key_column(c, shared), literals, _rng(seed, table, c), shape)
                for c, t in cols.items()}
        row_rng = _rng(seed, table, "\x00rows")
        rows: list[dict[str, Any]] = []
        for _ in range(n_rows):
            if rows and row_rng.random() < shape.duplicate_rate:
                rows.append(dict(row_rng.choice(rows)))
            else:
                rows.append({c: g.draw() for c, g in gens.items()})
        out[table] = {c: [row[c] for row in rows] for c in cols}
        if shape.unique_first_key:
            _make_primary_key(out[table], cols, shared, shape, row_rng)
    return out


def _make_primary_key(data: dict[str, list[Any]], cols: dict[str, str], shared: set[str],
                      shape: Shape, rng: random.Random) -> None:
    """Distinct values in the first integer/string key column: dimension tables look like
    dimension tables, so IN / NOT IN / anti joins select different rows per key."""
    for c, t in cols.items():
        low_t = t.lstrip("!").lower()
        if not is_key_column(c, shared) or not low_t.startswith(("int", "uint", "string")):
            continue
        n = len(data[c])
        values = list(range(shape.key_lo, shape.key_lo + n))
        rng.shuffle(values)
        hi = _int_range(low_t)[1] if low_t != "string" else 2**63
        if shape.key_lo + n - 1 > hi:
            return
        data[c] = [f"k{v}" for v in values] if low_t == "string" else values
        return


@lru_cache(maxsize=512)
def arrow_type(typ: str):
    """The pyarrow type used to ship a column into DuckDB before it is cast to its SQL type."""
    import ibis.expr.datatypes as dtypes
    import pyarrow as pa

    d = dtypes.dtype(typ)
    if d.is_decimal():
        return pa.decimal128(d.precision or 18, d.scale if d.scale is not None else 3)
    if d.is_interval():
        return pa.duration("s")
    if d.is_uuid() or d.is_json() or d.is_inet() or d.is_macaddr():
        return pa.string()
    if d.is_float16():  # DuckDB reads no half floats; the view casts to FLOAT anyway
        return pa.float32()
    return d.to_pyarrow()


def synth_tables(schemas: Schemas, literals: list[Any], seed: int, n_rows: int = 40) -> dict:
    """pyarrow tables per schema entry, deterministic for (schemas, literals, seed)."""
    import pyarrow as pa

    data = synth_rows(schemas, literals, seed, n_rows)
    return {
        table: pa.table({c: pa.array(vals, type=arrow_type(schemas[table][c]))
                         for c, vals in cols.items()})
        for table, cols in data.items()
    }
