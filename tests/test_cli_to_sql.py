"""`ibert to-sql` end to end, as a user runs it: files, stdin, dialects, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def ibert(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ibert_lsp.cli", *args],
        input=stdin, capture_output=True, cwd=ROOT, timeout=120,
    )


def test_stdin_with_inferred_schema_states_it():
    r = ibert("to-sql", "--table-name", "users", stdin=b"users.filter(users.age > 18).select('name')")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("-- inferred schema: users(")
    assert "age int64" in out and "name string" in out
    assert '"t0"."age" > 18' in out


def test_file_with_declarations_runs_on_duckdb():
    r = ibert("to-sql", str(EXAMPLES / "revenue.py"))
    assert r.returncode == 0, r.stderr
    sql = r.stdout.decode()
    con = duckdb.connect()
    con.execute("CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, status VARCHAR,"
                " amount DOUBLE, created_at TIMESTAMP)")
    con.execute("CREATE TABLE customers (customer_id BIGINT, name VARCHAR, country VARCHAR,"
                " signup_date DATE)")
    con.execute("INSERT INTO orders VALUES (1, 1, 'paid', 10, now()), (2, 1, 'paid', 5, now()),"
                " (3, 2, 'open', 99, now()), (4, 2, 'paid', 1, now())")
    con.execute("INSERT INTO customers VALUES (1, 'a', 'NL', today()), (2, 'b', 'DE', today())")
    assert con.execute(sql).fetchall() == [("NL", 15.0, 2), ("DE", 1.0, 1)]


@pytest.mark.parametrize("dialect,marker", [("snowflake", "NULLS LAST"), ("bigquery", "`"),
                                            ("postgres", '"t0"'), ("mssql", "TOP")])
def test_dialects(dialect, marker):
    code = b"orders.order_by(orders.amount.desc()).limit(3)"
    r = ibert("to-sql", "--schema", str(EXAMPLES / "schema.json"), "--dialect", dialect, stdin=code)
    assert r.returncode == 0, r.stderr
    assert marker in r.stdout.decode()


def test_json_output_and_inline_schema():
    r = ibert("to-sql", "--schema", "id: int, score: double", "--table-name", "t", "--json",
              stdin=b"t.group_by('id').agg(best=t.score.max())")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["schemas"] == {"t": {"id": "int64", "score": "float64"}}
    assert data["inferred"] == [] and "MAX" in data["sql"]


@pytest.mark.parametrize(
    "args,stdin,needle",
    [
        (["--schema", "examples/schema.json"], b"orders.filter(orders.amout > 1)",
         "has no column 'amout'; did you mean 'amount'?"),
        (["--schema", "examples/schema.json"], b"orders.filter(", "syntax error at line 1"),
        (["--schema", "examples/schema.json"], b"foo.limit(1)",
         "unknown table 'foo'; the schema has: customers, orders"),
        (["--schema", "examples/schema.json"], b"orders.filter(orders.amount > 'x')", "type error"),
        (["--schema", "examples/schema.json"], b'__import__("os").system("true")', "refused"),
        (["--schema", "examples/schema.json", "-d", "nosuch"], b"orders.limit(1)",
         "unknown dialect 'nosuch'; Ibis compiles to: duckdb"),
        ([], b"\x00\x01\x02", "looks binary"),
        ([], b"\xff\xfe orders", "not UTF-8"),
        ([], b"   \n", "empty"),
        (["no_such_file.py"], None, "file not found: no_such_file.py"),
        (["--schema", "{bad json"], b"t.limit(1)", "malformed"),
        (["--schema", "a: intx", "-t", "t"], b"t.limit(1)", "unknown type 'intx'"),
    ],
)
def test_bad_input_is_one_clear_line(args, stdin, needle):
    r = ibert("to-sql", *args, stdin=stdin if stdin is not None else b"")
    err = r.stderr.decode()
    assert r.returncode == 2, (r.stdout, err)
    assert needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_hostile_code_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    code = f"orders.pipe(lambda t: open({str(marker)!r}, 'w'))".encode()
    r = ibert("to-sql", "--schema", "examples/schema.json", stdin=code)
    assert r.returncode == 2
    assert not marker.exists()

