"""`ibert from-sql`: prints only verified Ibis; exit 2 and a reason otherwise."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from ibert_lsp.commands import from_sql

SCHEMA = json.dumps({"orders": {"id": "int64", "status": "string", "amount": "float64"}})


def run(argv: list[str], stdin: str, monkeypatch, capsys) -> tuple[int, str, str]:
    from ibert_lsp.errors import IbertError

    parser = argparse.ArgumentParser()
    from_sql.register(parser.add_subparsers(dest="command"))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    args = parser.parse_args(["from-sql", *argv])
    try:
        code = args.func(args)
    except IbertError as exc:
        print(f"ibert: error: {exc.message}", file=__import__("sys").stderr)
        code = exc.exit_code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_prints_verified_ibis(monkeypatch, capsys) -> None:
    code, out, err = run(["--schema", SCHEMA], "select status, count(*) as n from orders "
                         "where amount > 10 group by status", monkeypatch, capsys)
    assert code == 0 and err == ""
    assert out.strip() == 'orders.filter(orders.amount > 10).group_by("status").agg(n=_.count())'


def test_json_output(monkeypatch, capsys) -> None:
    code, out, _ = run(["--schema", SCHEMA, "--json"], "select distinct status from orders",
                       monkeypatch, capsys)
    data = json.loads(out)
    assert code == 0 and data["verified"] is True
    assert set(data) >= {"ibis", "verified", "checks", "features"}
    assert "distinct" in data["features"] and data["checks"]["seeds"]


def test_unverified_exits_2(monkeypatch, capsys) -> None:
    code, out, err = run(["--schema", SCHEMA], "select id from orders qualify row_number() over (order by id) = 1",
                         monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("no verified translation: ")


def test_dialect_option(monkeypatch, capsys) -> None:
    code, out, _ = run(["--schema", SCHEMA, "--dialect", "postgres"],
                       "select id::text as s from orders", monkeypatch, capsys)
    assert code == 0 and ".cast(" in out


def test_unknown_dialect_is_user_error(monkeypatch, capsys) -> None:
    code, _, err = run(["--schema", SCHEMA, "--dialect", "nosuch"], "select id from orders",
                       monkeypatch, capsys)
    assert code == 2 and "unknown SQL dialect" in err


def test_file_argument(tmp_path, monkeypatch, capsys) -> None:
    f = tmp_path / "q.sql"
    f.write_text("select id from orders order by id limit 2")
    code, out, _ = run([str(f), "--schema", SCHEMA], "", monkeypatch, capsys)
    assert code == 0 and ".limit(2)" in out


@pytest.mark.parametrize("schema", ["{not json", "/no/such/file.json"])
def test_bad_schema_is_user_error(schema, monkeypatch, capsys) -> None:
    code, _, err = run(["--schema", schema], "select id from orders", monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize("sql,needle", [
    ("SELEC id FROM orders", "does not parse as duckdb at line 1, col"),
    ("SELECT amount FROM orders WHERE (status = 'a'", "Expecting )"),
    ("SELECT * FROM nope", "unknown table nope; the schema has: orders"),
    ("SELECT nope FROM orders", "Column 'nope' could not be resolved"),
])
def test_bad_sql_names_what_and_where(sql, needle, monkeypatch, capsys) -> None:
    code, out, err = run(["--schema", SCHEMA], sql, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("no verified translation: ") and needle in err
    assert "Traceback" not in err


def test_sqlite_dialect_quirks_through_the_cli(monkeypatch, capsys) -> None:
    code, out, err = run(["--schema", SCHEMA, "--dialect", "sqlite"],
                         'select status from orders where status <> "void" and amount = \'250\' '
                         "group by status order by count(*) desc limit 2", monkeypatch, capsys)
    assert code == 0 and err == "", err
    assert 'orders.status != "void"' in out and "orders.amount == 250" in out
    assert ".order_by(_.agg0.desc())" in out


def test_sqlite_only_query_names_the_column(monkeypatch, capsys) -> None:
    code, out, err = run(["--schema", SCHEMA, "--dialect", "sqlite"],
                         "select status, amount from orders group by status", monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.startswith("no verified translation: column 'amount' is neither grouped nor aggregated")
    assert "\n" not in err.strip()
