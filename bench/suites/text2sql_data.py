"""Build the text2sql-data suites (SQL queries + schemas) from a local checkout.

Source: github.com/jkkummerfeld/text2sql-data (Finegan-Dollak et al., ACL 2018), commit
5050bad2309a93636ea4788d3660c9202bf11e0e: `data/<name>.json` (questions and SQL with variables)
and `data/<name>-schema.csv` (table, field, key flags, MySQL type). Licenses (the repository's
LICENSE.md): `data/advising*` CC-BY-4.0; the other datasets are earlier work shared with the
authors' permission and carry no licence of their own. Nothing derived from them is committed
here: this script rebuilds the suite file from a checkout (a git directory or a work tree).

    git clone https://github.com/jkkummerfeld/text2sql-data /path/text2sql-data
    .venv/bin/python bench/suites/text2sql_data.py /path/text2sql-data --out SUITE.json

Each query keeps its SQLite text exactly as the dataset writes it (double-quoted strings), with
the example values substituted for its variables; `normalized` is the same query with the
double-quoted strings written as standard single-quoted literals. The sample per dataset is
deterministic (sorted by a hash of the text).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = "jkkummerfeld/text2sql-data"
COMMIT = "5050bad2309a93636ea4788d3660c9202bf11e0e"
DATASETS = ("advising", "atis", "geography", "restaurants", "academic", "imdb", "yelp", "scholar")
LICENSES = {"advising": "CC-BY-4.0"}
_DQ = re.compile(r'"((?:[^"]|"")*)"')


class Checkout:
    """Reads files from a work tree, or from a bare git directory at its HEAD."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bare = not (path / "data").is_dir()

    def read(self, rel: str) -> str:
        if not self.bare:
            return (self.path / rel).read_text(encoding="utf-8")
        return subprocess.run(["git", "--git-dir", str(self.path), "show", f"HEAD:{rel}"],
                              check=True, capture_output=True, text=True).stdout

    def commit(self) -> str:
        git = ["git", "--git-dir", str(self.path)] if self.bare else ["git", "-C", str(self.path)]
        out = subprocess.run(git + ["rev-parse", "HEAD"], check=False, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"


def ibis_type(mysql_type: str) -> str:
    """A MySQL column type from the schema files as an Ibis type."""
    t = mysql_type.strip().lower()
    if t.startswith(("int", "bigint", "smallint", "tinyint", "mediumint", "year")):
        return "int64"
    if t.startswith(("double", "float", "decimal", "real", "numeric")):
        return "float64"
    if t.startswith(("datetime", "timestamp")):
        return "timestamp"
    if t == "date":
        return "date"
    return "string"


def schemas_of(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in csv.reader(io.StringIO(text), skipinitialspace=True):
        if len(row) < 5 or row[0] in ("Table Name", "-", ""):
            continue
        out.setdefault(row[0].strip(), {})[row[1].strip()] = ibis_type(row[4])
    return out


def substitute(sql: str, values: dict[str, str]) -> str | None:
    """Put the example values in for the variables: inside quotes as text, bare only when the
    value is a number (otherwise the query would name a column that does not exist)."""
    for name in sorted(values, key=len, reverse=True):
        value = str(values[name])
        if (f'"{name}' in sql or f'%{name}' in sql) and '"' in value:
            return None
        pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])")
        for m in pattern.finditer(sql):
            before = sql[:m.start()]
            if before.count('"') % 2 == 0 and not re.fullmatch(r"-?\d+(\.\d+)?", value):
                return None
        sql = pattern.sub(lambda _m, v=value: v, sql)
    return sql


def normalized(sql: str) -> str:
    """Double-quoted strings as single-quoted literals (the corpus never quotes identifiers)."""
    return _DQ.sub(lambda m: "'" + m.group(1).replace('""', '"').replace("'", "''") + "'", sql)


def build(checkout: Checkout, per_suite: int) -> dict:
    suites = {}
    for name in DATASETS:
        schemas = schemas_of(checkout.read(f"data/{name}-schema.csv"))
        seen: dict[str, str] = {}
        for entry in json.loads(checkout.read(f"data/{name}.json")):
            sentences = entry.get("sentences") or []
            values = dict(sentences[0].get("variables") or {}) if sentences else {}
            for v in entry.get("variables") or []:
                values.setdefault(v["name"], v.get("example", ""))
            for sql in entry.get("sql") or []:
                sql = substitute(sql.strip().rstrip(";").strip(), values)
                if sql:
                    seen.setdefault(hashlib.sha256(sql.encode()).hexdigest(), sql)
        picked = [seen[h] for h in sorted(seen)][:per_suite]
        suites[name] = {
            "path": f"data/{name}.json", "schema_path": f"data/{name}-schema.csv",
            "license": LICENSES.get(name, "none stated (shared with the original authors' permission)"),
            "available": len(seen), "schemas": schemas,
            "queries": [{"id": f"{name}-{i:03d}", "sql": q, "normalized": normalized(q)}
                        for i, q in enumerate(picked)],
        }
    return {"repo": REPO, "commit": checkout.commit(), "dialect": "sqlite", "suites": suites}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="text2sql-data work tree or git directory")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--per-suite", type=int, default=40)
    args = ap.parse_args()
    data = build(Checkout(args.checkout), args.per_suite)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    n = sum(len(s["queries"]) for s in data["suites"].values())
    print(f"wrote {args.out}: {n} queries from {data['repo']}@{data['commit'][:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
