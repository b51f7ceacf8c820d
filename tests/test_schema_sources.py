"""Schema sources: JSON, inline strings, Python declarations (by AST), DuckDB files."""

from __future__ import annotations

import duckdb
import pytest

from ibert_lsp.schema.infer import infer_schemas
from ibert_lsp.schema.sources import (
    from_duckdb,
    from_python_source,
    load_schema_arg,
    parse_inline,
    parse_json,
)
from ibert_lsp.schema.types import SchemaError, normalize_type


def test_json_string_and_file(tmp_path):
    text = '{"events": {"user_id": "int", "amount": "double", "ts": "timestamp"}}'
    assert parse_json(text) == {
        "events": {"user_id": "int64", "amount": "float64", "ts": "timestamp"}
    }
    f = tmp_path / "s.json"
    f.write_text(text)
    assert load_schema_arg(str(f)) == parse_json(text)


def test_json_errors_are_clear(tmp_path):
    with pytest.raises(SchemaError, match="malformed"):
        parse_json('{"t": {"a": "int"')
    with pytest.raises(SchemaError, match="not found"):
        parse_json(str(tmp_path / "missing.json"))
    bad = tmp_path / "bin.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SchemaError, match="UTF-8"):
        parse_json(str(bad))


def test_unknown_type_lists_valid_ones():
    with pytest.raises(SchemaError) as err:
        normalize_type("intt", where="t.a")
    msg = str(err.value)
    assert "unknown type 'intt' (t.a)" in msg and "int64" in msg and "string" in msg


def test_inline_form_with_decimal():
    assert parse_inline("id: int, price: decimal(12, 2), name: varchar(20)", "items") == {
        "items": {"id": "int64", "price": "decimal(12, 2)", "name": "string"}
    }
    with pytest.raises(SchemaError, match="name: type"):
        parse_inline("id int", "items")
    with pytest.raises(SchemaError, match="needs --table-name"):
        load_schema_arg("id: int")


def test_python_declarations_are_read_without_running_code(tmp_path):
    marker = tmp_path / "ran"
    source = f"""
import ibis
open({str(marker)!r}, "w").write("x")
orders = ibis.table({{"id": "int64", "amount": "float64"}}, name="orders")
users = ibis.table(ibis.schema([("uid", "int32"), ("name", "string")]), name="users")
dynamic = ibis.table(make_schema(), name="dynamic")
"""
    assert from_python_source(source) == {
        "orders": {"id": "int64", "amount": "float64"},
        "users": {"uid": "int32", "name": "string"},
    }
    assert not marker.exists()


def test_python_declarations_in_half_typed_document():
    source = 'import ibis\nt = ibis.table({"a": "int"}, name="t")\nt.filter(t.a >\n'
    assert from_python_source(source) == {"t": {"a": "int64"}}


def test_duckdb_file_read_only(tmp_path):
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (id INTEGER, price DECIMAL(10,2), sold TIMESTAMP, ok BOOLEAN)")
    con.close()
    schemas = from_duckdb(path)
    assert schemas == {
        "sales": {"id": "int32", "price": "decimal(10, 2)", "sold": "timestamp", "ok": "boolean"}
    }
    assert load_schema_arg(str(path)) == schemas
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(SchemaError, match="cannot open"):
        from_duckdb(junk)


def test_infer_types_from_usage():
    code = (
        "orders.filter((orders.amount > 10.5) & orders.status.isin(['paid']))"
        ".group_by('region').agg(n=orders.count(), first=orders.created.min(),"
        " y=orders.created.year().max())"
    )
    assert infer_schemas(code, ["orders"]) == {
        "orders": {
            "region": "string", "amount": "float64", "status": "string", "created": "timestamp",
        }
    }
    with pytest.raises(SchemaError, match="uses none"):
        infer_schemas("orders.count()", ["orders"])
