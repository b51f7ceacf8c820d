"""Synthetic rows: deterministic, every type, NULLs, literals hit, join keys overlap."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ibert_lsp.validate.duck import Sandbox
from ibert_lsp.validate.synth import (
    literals_from_code,
    literals_from_sql,
    synth_rows,
    synth_tables,
)

ALL_TYPES = {
    "wide": {
        "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64", "u8": "uint8",
        "u16": "uint16", "u32": "uint32", "u64": "uint64", "f32": "float32", "f64": "float64",
        "dec": "decimal(12, 2)", "decd": "decimal", "s": "string", "b": "boolean", "d": "date",
        "ts": "timestamp", "tstz": "timestamp('UTC')", "tm": "time", "iv": "interval",
        "bin": "binary", "u": "uuid", "j": "json", "arr": "array<int64>",
    }
}
SHOP = {
    "orders": {"order_id": "int64", "customer_id": "int64", "amount": "float64",
               "status": "string", "day": "date"},
    "customers": {"customer_id": "int64", "name": "string", "region_key": "string"},
    "regions": {"region_key": "string", "label": "string"},
}


def test_deterministic_per_seed():
    a = synth_tables(SHOP, [1, "x"], seed=3)
    b = synth_tables(SHOP, [1, "x"], seed=3)
    c = synth_tables(SHOP, [1, "x"], seed=4)
    assert all(a[t].equals(b[t]) for t in SHOP)
    assert not all(a[t].equals(c[t]) for t in SHOP)


def test_every_type_loads_into_duckdb_with_exact_types():
    tables = synth_tables(ALL_TYPES, [], seed=0, n_rows=30)
    assert tables["wide"].num_rows == 30 and isinstance(tables["wide"], pa.Table)
    box = Sandbox()
    try:
        box.load(ALL_TYPES, tables)
        described = box.con.sql('DESCRIBE "wide"').fetchall()
        types = {row[0]: row[1] for row in described}
        assert types["i8"] == "TINYINT" and types["u64"] == "UBIGINT"
        assert types["dec"] == "DECIMAL(12,2)" and types["u"] == "UUID"
        assert types["tstz"] == "TIMESTAMP WITH TIME ZONE" and types["iv"] == "INTERVAL"
        assert box.con.sql('SELECT count(*) FROM "wide"').fetchall()[0][0] == 30
    finally:
        box.close()


def test_nulls_appear_but_not_everywhere():
    cols = synth_rows(ALL_TYPES, [], seed=0, n_rows=200)["wide"]
    for name, values in cols.items():
        nulls = sum(v is None for v in values)
        assert 0 < nulls < 60, (name, nulls)


def test_literals_are_hit_with_neighbours():
    lits = literals_from_sql("SELECT * FROM orders WHERE amount >= 250 AND status = 'shipped' "
                             "AND day > DATE '2022-03-04'")
    data = synth_rows(SHOP, lits, seed=0, n_rows=60)["orders"]
    assert "shipped" in data["status"]
    assert {249.5, 250.0, 250.5} & set(data["amount"])
    assert dt.date(2022, 3, 4) in data["day"] or dt.date(2022, 3, 5) in data["day"]


def test_filters_select_something_on_some_seed():
    sql = "SELECT * FROM orders WHERE status = 'zz_unusual' AND amount > 300"
    lits = literals_from_sql(sql)
    box = Sandbox()
    try:
        counts = []
        for seed in range(3):
            box.load(SHOP, synth_tables(SHOP, lits, seed))
            counts.append(box.run_sql(sql, 2.0).num_rows)
        assert max(counts) > 0
    finally:
        box.close()


def test_join_keys_overlap():
    for seed in range(3):
        data = synth_rows(SHOP, [], seed)
        o, c = set(data["orders"]["customer_id"]), set(data["customers"]["customer_id"])
        r1, r2 = set(data["customers"]["region_key"]), set(data["regions"]["region_key"])
        assert (o & c) - {None} and (r1 & r2) - {None}


def test_duplicate_rows_exist_for_distinct_checks():
    data = synth_rows({"t": {"a": "int64", "b": "string"}}, [], seed=0, n_rows=100)["t"]
    rows = list(zip(data["a"], data["b"]))
    assert len(set(rows)) < len(rows)


def test_literals_from_sql():
    lits = literals_from_sql("SELECT a FROM t WHERE x = -5 AND y LIKE 'ab%' AND z IN (1.5, 2)")
    assert -5 in lits and 1.5 in lits and 2 in lits
    assert "ab%" in lits and "ab" in lits
    assert literals_from_sql("this is not sql ((((") == [] or isinstance(
        literals_from_sql("this is not sql (((("), list)


def test_literals_from_code():
    lits = literals_from_code("t.filter((t.a > -3) & (t.s == 'x') & t.b.isin([7, 8.5]))")
    assert {-3, "x", 7, 8.5} <= set(lits)
    assert literals_from_code("t.filter(") == []


def test_column_name_strings_are_not_values():
    data = synth_rows(SHOP, ["status", "amount"], seed=0)["orders"]
    assert "status" not in data["status"]


def test_nested_and_rare_types_round_trip():
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    schemas = {"n": {"id": "int64", "s": "struct<a: int64, b: string>",
                     "m": "map<string, int64>", "arr": "array<struct<x: float64>>",
                     "ip": "inet", "h": "float16", "ts3": "timestamp(3)"}}
    v = check_sql_vs_ibis("SELECT * FROM n", "n", schemas)
    assert v.ok and v.checks["nonempty"], v.reason
    v = check_sql_vs_ibis("SELECT s.b AS v FROM n", "n.select(v=n.s.a.cast('string'))", schemas)
    assert not v.ok and v.checks["kind"] == "mismatch"


def test_unfillable_type_is_a_clean_verdict():
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    v = check_sql_vs_ibis("SELECT id FROM g", "g.select('id')", {"g": {"id": "int64", "geo": "geometry"}})
    assert not v.ok and v.checks["kind"] == "execution" and "geometry" in v.reason


def test_seed_shapes_vary_cardinality_overlap_and_keys():
    narrow = synth_rows(SHOP, [], seed=0, n_rows=60)
    shifted = synth_rows(SHOP, [], seed=1, n_rows=60)
    wide = synth_rows(SHOP, [], seed=2, n_rows=60)
    # narrow: few distinct strings, so HAVING COUNT(*) > k holds somewhere
    assert len(set(narrow["orders"]["status"]) - {None}) <= 3
    # shifted: no NULLs, a unique first key, and keys only partly shared between tables
    assert all(v is not None for col in shifted["orders"].values() for v in col)
    assert len(set(shifted["orders"]["order_id"])) == 60
    fk, pk = set(shifted["orders"]["customer_id"]), set(shifted["customers"]["customer_id"])
    assert fk & pk and fk - pk
    # wide: many distinct values
    assert len(set(wide["orders"]["status"])) > len(set(narrow["orders"]["status"]))
