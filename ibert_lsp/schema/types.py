"""Schemas as plain data (table -> column -> Ibis type string) so every layer can share them."""

from __future__ import annotations

import re

from ibert_lsp.errors import IbertError

Schema = dict[str, str]
Schemas = dict[str, Schema]


class SchemaError(IbertError):
    """A schema the user gave cannot be read."""


# Friendly spellings users write (SQL, pandas, ibis short forms) -> canonical Ibis type strings.
ALIASES: dict[str, str] = {
    "int": "int64", "integer": "int64", "bigint": "int64", "long": "int64", "int8": "int8",
    "tinyint": "int8", "smallint": "int16", "int2": "int16", "int4": "int32", "int16": "int16",
    "int32": "int32", "int64": "int64", "hugeint": "int64",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "float": "float64", "double": "float64", "real": "float32", "float32": "float32",
    "float64": "float64", "float4": "float32", "float8": "float64",
    "decimal": "decimal", "numeric": "decimal",
    "str": "string", "string": "string", "text": "string", "varchar": "string", "char": "string",
    "bool": "boolean", "boolean": "boolean",
    "date": "date", "time": "time", "timestamp": "timestamp", "datetime": "timestamp",
    "timestamptz": "timestamp('UTC')", "interval": "interval",
    "binary": "binary", "bytes": "binary", "blob": "binary", "uuid": "uuid", "json": "json",
    "null": "null",
}
VALID_TYPES = sorted(set(ALIASES))

_PARAM = re.compile(r"^(decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_SIZED = re.compile(r"^(varchar|char)\s*\(\s*\d+\s*\)$")


def normalize_type(name: str, *, where: str = "") -> str:
    """Canonical Ibis type string for a user-written type, or a SchemaError listing valid names."""
    raw = name.strip()
    low = raw.lower()
    if low.startswith("!"):  # ibis' non-nullable marker
        return "!" + normalize_type(raw[1:], where=where)
    if low in ALIASES:
        return ALIASES[low]
    m = _PARAM.match(low)
    if m:
        return f"decimal({m.group(2)}, {m.group(3)})"
    if _SIZED.match(low):
        return "string"
    # Anything else Ibis itself understands (array<int64>, struct<...>, timestamp('UTC'), ...).
    try:
        import ibis.expr.datatypes as dt

        return str(dt.dtype(raw))
    except Exception:
        place = f" ({where})" if where else ""
        raise SchemaError(
            f"unknown type {raw!r}{place}; valid types: {', '.join(VALID_TYPES)}"
            " (or any Ibis type string such as decimal(12, 2), array<int64>)"
        ) from None


def normalize_schemas(schemas: dict) -> Schemas:
    """Validate and canonicalize a {table: {column: type}} mapping."""
    if not isinstance(schemas, dict) or not schemas:
        raise SchemaError("a schema must be a non-empty mapping {table: {column: type}}")
    out: Schemas = {}
    for table, cols in schemas.items():
        if not isinstance(table, str) or not table.isidentifier():
            raise SchemaError(f"table name {table!r} is not a valid identifier")
        if isinstance(cols, dict) and "schema" in cols and isinstance(cols["schema"], dict):
            cols = cols["schema"]  # the dataset record form {"t": {"schema": {...}}}
        if not isinstance(cols, dict) or not cols:
            raise SchemaError(f"table {table!r}: columns must be a non-empty mapping")
        out[table] = {
            str(c): normalize_type(str(t), where=f"{table}.{c}") for c, t in cols.items()
        }
    return out


def to_ibis_tables(schemas: Schemas) -> dict:
    """Unbound ibis tables, one per schema entry: what untrusted code gets bound to."""
    import ibis

    return {name: ibis.table(cols, name=name) for name, cols in schemas.items()}
