"""ibert never creates, changes or deletes a user's files by accident.

- database settings are read read-only, whatever the URL's spelling; a missing file is an error,
  never created; other backends are refused (real DuckDB and SQLite files, bytes and mtime
  compared before and after);
- `ibert model build --dest` refuses a folder of user files before any work starts;
- datagen's `--out` / `--dest` pointing at a file is a one-line error (exit 2), the file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ibert_lsp.schema.sources import from_database, load_schema_arg, read_config_schemas
from ibert_lsp.schema.types import SchemaError

ROOT = Path(__file__).resolve().parent.parent


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def duck_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (id BIGINT, amount DOUBLE, note VARCHAR, day DATE)")
    con.execute("INSERT INTO orders VALUES (1, 2.5, 'x', DATE '2024-01-02')")
    con.execute("CREATE VIEW big AS SELECT id FROM orders WHERE amount > 2")
    con.close()
    old = time.time() - 3600  # an mtime in the past: any write would move it
    os.utime(path, (old, old))
    return path


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, "
                "born DATE, seen TIMESTAMP, ok BOOLEAN, price DECIMAL(10, 2), raw BLOB)")
    con.execute("INSERT INTO people (name) VALUES ('a')")
    con.execute("CREATE VIEW named AS SELECT id, name FROM people")
    con.commit()
    con.close()
    old = time.time() - 3600
    os.utime(path, (old, old))
    return path


DUCK_SCHEMAS = {"orders": {"id": "int64", "amount": "float64", "note": "string", "day": "date"},
                "big": {"id": "int64"}}


@pytest.mark.parametrize("spelling", ["{p}", "duckdb://{p}", "DuckDB://{p}", "DUCKDB://{p}",
                                      "duckdb://{p}?read_only=false", "file://{p}"])
def test_duckdb_settings_are_read_only_in_any_spelling(duck_file: Path, spelling: str):
    before = fingerprint(duck_file)
    files = listing(duck_file.parent)
    schemas = read_config_schemas(spelling.format(p=duck_file), None, None)
    assert schemas == DUCK_SCHEMAS
    assert fingerprint(duck_file) == before
    assert listing(duck_file.parent) == files  # no .wal or lock file left behind


def test_duckdb_relative_to_the_workspace(duck_file: Path):
    before = fingerprint(duck_file)
    assert read_config_schemas("duckdb://shop.db", None, str(duck_file.parent)) == DUCK_SCHEMAS
    assert read_config_schemas("shop.db", None, str(duck_file.parent)) == DUCK_SCHEMAS
    assert fingerprint(duck_file) == before


@pytest.mark.parametrize("spelling", ["{p}", "sqlite://{p}", "SQLite://{p}", "sqlite3://{p}"])
def test_sqlite_settings_are_read_only(sqlite_file: Path, spelling: str):
    before = fingerprint(sqlite_file)
    files = listing(sqlite_file.parent)
    schemas = read_config_schemas(spelling.format(p=sqlite_file), None, None)
    assert schemas == {
        "people": {"id": "int64", "name": "string", "score": "float64", "born": "date",
                   "seen": "timestamp", "ok": "boolean", "price": "decimal(10, 2)",
                   "raw": "binary"},
        "named": {"id": "int64", "name": "string"},
    }
    assert fingerprint(sqlite_file) == before
    assert listing(sqlite_file.parent) == files  # no -journal / -wal / -shm


def test_a_sqlite_database_in_wal_mode_gets_no_side_files(tmp_path: Path):
    """Opening a WAL database read-only would create `-wal` / `-shm` beside the user's file."""
    path = tmp_path / "w.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=wal")
    con.execute("CREATE TABLE t (a INT)")
    con.commit()
    con.close()  # the last connection checkpoints and removes -wal / -shm
    files = listing(tmp_path)
    before = fingerprint(path)
    assert read_config_schemas(str(path), None, None) == {"t": {"a": "int64"}}
    assert listing(tmp_path) == files and fingerprint(path) == before


def test_sqlite_file_under_a_db_suffix_is_recognised(tmp_path: Path):
    path = tmp_path / "legacy.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a INT)")
    con.commit()
    con.close()
    assert load_schema_arg(str(path)) == {"t": {"a": "int64"}}
    assert read_config_schemas("duckdb://" + str(path), None, None) == {"t": {"a": "int64"}}


@pytest.mark.parametrize("spelling", ["{p}", "duckdb://{p}", "DuckDB://{p}", "sqlite://{p}",
                                      "{p}.sqlite"])
def test_missing_database_is_an_error_and_not_created(tmp_path: Path, spelling: str):
    target = tmp_path / "nothing_here.db"
    with pytest.raises(SchemaError, match="not found"):
        read_config_schemas(spelling.format(p=target), None, None)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("url", ["postgres://user@localhost/db", "mysql://h/db",
                                 "bigquery://project", "Snowflake://x/y", "datafusion://"])
def test_other_backends_are_refused(url: str):
    with pytest.raises(SchemaError, match="not supported"):
        from_database(url)


@pytest.mark.parametrize("value", ["duckdb://", "duckdb://:memory:", "sqlite://", "  "])
def test_database_setting_naming_no_file(value: str):
    with pytest.raises(SchemaError):
        from_database(value)


def test_a_file_that_is_no_database(tmp_path: Path):
    junk = tmp_path / "notes.db"
    junk.write_text("just some notes\n" * 10)
    before = fingerprint(junk)
    with pytest.raises(SchemaError, match="neither a DuckDB nor a SQLite"):
        from_database(str(junk))
    with pytest.raises(SchemaError):
        from_database("duckdb://" + str(junk))
    assert fingerprint(junk) == before
    assert listing(tmp_path) == ["notes.db"]


def test_schema_arg_accepts_database_urls(duck_file: Path, sqlite_file: Path):
    assert load_schema_arg("DuckDB://" + str(duck_file)) == DUCK_SCHEMAS
    assert set(load_schema_arg("sqlite://" + str(sqlite_file))) == {"people", "named"}
    with pytest.raises(SchemaError, match="not supported"):
        load_schema_arg("postgres://localhost/db")


# ------------------------------------------------------------------------ CLI: exit 2, files intact


def run_ibert(*args: str, cwd: Path | None = None, timeout: float = 120,
              env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "ibert_lsp.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or ROOT, env=full_env)


def assert_one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-1000:], proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    return lines[0]


def user_folder(tmp_path: Path) -> tuple[Path, dict[str, tuple]]:
    dest = tmp_path / "mine"
    (dest / "sub").mkdir(parents=True)
    (dest / "thesis.txt").write_text("years of work\n")
    (dest / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return dest, {p.relative_to(dest).as_posix(): fingerprint(p)
                  for p in dest.rglob("*") if p.is_file()}


def test_model_build_refuses_a_folder_of_user_files(tmp_path: Path):
    dest, before = user_folder(tmp_path)
    t0 = time.monotonic()
    proc = run_ibert("model", "build", "--quick", "--dest", str(dest),
                     env={"IBERT_HOME": str(tmp_path / "home")})
    line = assert_one_line_error(proc)
    assert str(dest) in line and "ibert model" in line
    assert time.monotonic() - t0 < 60  # refused before any corpus or training work
    after = {p.relative_to(dest).as_posix(): fingerprint(p) for p in dest.rglob("*")
             if p.is_file()}
    assert after == before
    assert listing(tmp_path) == ["mine"]  # no corpus, run or temp folder made
    # a file as --dest is refused too, unchanged
    f = tmp_path / "mine" / "thesis.txt"
    proc = run_ibert("model", "build", "--dest", str(f),
                     env={"IBERT_HOME": str(tmp_path / "home")})
    assert_one_line_error(proc)
    assert fingerprint(f) == before["thesis.txt"]


def make_model_dir(path: Path, marker: str) -> Path:
    from training.export import write_manifest

    (path / "adapter").mkdir(parents=True)
    (path / "adapter" / "weights.bin").write_text(marker)
    write_manifest(path, base="base", adapter="adapter", external=False, info={})
    return path


def test_install_replaces_only_an_ibert_model(tmp_path: Path):
    from ibert_lsp.errors import IbertError
    from training.export import install, is_ibert_model

    built = make_model_dir(tmp_path / "run" / "model", "new")
    assert is_ibert_model(built)
    # a new folder, an empty folder, an older ibert model: installed
    assert install(built, tmp_path / "fresh") == tmp_path / "fresh"
    assert (tmp_path / "fresh" / "adapter" / "weights.bin").read_text() == "new"
    (tmp_path / "empty").mkdir()
    install(built, tmp_path / "empty")
    assert is_ibert_model(tmp_path / "empty")
    old = make_model_dir(tmp_path / "old", "old")
    install(built, old)
    assert (old / "adapter" / "weights.bin").read_text() == "new"
    assert listing(tmp_path) == ["empty", "fresh", "old", "run"]  # no temp folder left

    # a folder of user files, or one whose ibert.json is someone else's: refused, untouched
    dest, before = user_folder(tmp_path / "u")
    with pytest.raises(IbertError, match="not an ibert model"):
        install(built, dest)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "ibert.json").write_text(json.dumps({"name": "my config"}))
    (fake / "keep.txt").write_text("keep")
    with pytest.raises(IbertError, match="not an ibert model"):
        install(built, fake)
    assert (fake / "keep.txt").read_text() == "keep"
    after = {p.relative_to(dest).as_posix(): fingerprint(p) for p in dest.rglob("*")
             if p.is_file()}
    assert after == before
    # the source must itself be a model
    with pytest.raises(IbertError):
        install(dest, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_datagen_out_that_is_a_file(tmp_path: Path):
    f = tmp_path / "out.txt"
    f.write_text("precious\n")
    before = fingerprint(f)
    for step in ("generate-data", "generate-augmented", "generate-multitask", "stats"):
        proc = run_ibert("datagen", step, "--quick", "--out", str(f))
        line = assert_one_line_error(proc)
        assert str(f) in line
    assert fingerprint(f) == before
    assert listing(tmp_path) == ["out.txt"]
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("import ibis\nt = ibis.table({'a': 'int64'})\nt.head()\n")
    proc = run_ibert("datagen", "method-frequency", "--source", str(src), "--out", str(f))
    assert str(f) in assert_one_line_error(proc)
    assert fingerprint(f) == before
    table = tmp_path / "freq.json"  # a table it wrote itself may be rebuilt in place
    for _ in range(2):
        assert run_ibert("datagen", "method-frequency", "--source", str(src),
                         "--out", str(table)).returncode == 0
    assert json.loads(table.read_text())["counts"]["table_lead"] == {"head": 1}


def test_datagen_sample_dest_that_is_a_file(tmp_path: Path):
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "train.jsonl").write_text("")
    f = tmp_path / "sample.txt"
    f.write_text("precious\n")
    before = fingerprint(f)
    proc = run_ibert("datagen", "sample", "--out", str(out), "--dest", str(f))
    line = assert_one_line_error(proc)
    assert str(f) in line
    assert fingerprint(f) == before


# ------------------------------------------------------------------------ the server's settings


def test_server_with_a_missing_database_in_pyproject_creates_nothing(tmp_path: Path):
    from tests.test_lsp_protocol import RawClient

    ws = tmp_path / "ws"
    ws.mkdir()
    target = ws / "x.db"
    (ws / "pyproject.toml").write_text(f'[tool.ibert]\ndatabase = "DuckDB://{target}"\n')
    client = RawClient(cwd=str(ws))
    try:
        client.initialize(ws.as_uri())
        # a request after `initialized` is answered once the settings were read
        deadline = time.monotonic() + 30
        told = []
        while time.monotonic() < deadline and not told:
            client.call("textDocument/hover", {"textDocument": {"uri": (ws / "a.py").as_uri()},
                                               "position": {"line": 0, "character": 0}})
            told = [n for n in client.notifications if n["method"] == "window/showMessage"
                    and "not found" in n["params"]["message"]]
        assert told, client.notifications
        assert str(target) in told[0]["params"]["message"]
        assert not target.exists()
        assert listing(ws) == ["pyproject.toml"]
        client.call("shutdown", with_params=False)
        client.notify("exit")
        assert client.wait_exit() == 0
    finally:
        client.kill()


def test_train_refuses_a_folder_of_user_files(tmp_path):
    from ibert_lsp.errors import IbertError
    from training.pipeline import run

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(IbertError, match="not an ibert training run"):
        run(str(Path(__file__).resolve().parent.parent / "configs" / "micro.yaml"), out,
            progress=False)
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_workspace_cannot_shadow_the_servers_imports(tmp_path: Path):
    """Editors start `python -m ibert_lsp` in the workspace folder, which `-m` puts first on
    sys.path: a repository's `pygls.py` must not run instead of the installed pygls."""
    marker = tmp_path / "PWNED"
    (tmp_path / "pygls.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    proc = subprocess.run([sys.executable, "-m", "ibert_lsp", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "ibert-lsp" in proc.stdout, proc.stderr[-300:]
    assert not marker.exists()
