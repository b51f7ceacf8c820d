"""Mine Ibis code, SQL->Ibis pairs and documented functions from local sources.

Sources: folders, files (.py, .ipynb, .md, .qmd), git repositories (cloned with `git clone
--depth 1` when given a URL and a network exists; local paths otherwise), a repository list
file (`repo_url|name|dir1,dir2`, `#` comments), and the installed Ibis package itself: its
docstring examples (`>>>` sessions) and its expression tests, excluding the TPC-H/TPC-DS
benchmark material under ibis/backends/tests/tpc/.

Nothing mined is executed here: code is parsed with `ast`, table schemas come from
`ibis.table({...})` declarations, memtable literals, known example datasets and the test
fixtures' mock schemas, and every snippet/pair/function goes through the gate (in workers) before
it becomes a record. Each record carries provenance {file, line, commit}.
"""

from __future__ import annotations

import ast
import json
import random
import re
import subprocess
import sys
from pathlib import Path

from datagen import gate

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", "build",
             "dist", ".tox", ".mypy_cache"}
EXTS = (".py", ".ipynb", ".md", ".qmd")
TPC_PARTS = ("backends/tests/tpc", "backends\\tests\\tpc")
TPC_TABLE_HINT = re.compile(r"\b(tpch_|tpcds_|lineitem|partsupp|store_sales|date_dim)\w*", re.I)

# schemas of example datasets used throughout the Ibis docs (ibis.examples.<name>.fetch())
EXAMPLE_SCHEMAS: dict[str, dict[str, str]] = {
    "penguins": {"species": "string", "island": "string", "bill_length_mm": "float64",
                 "bill_depth_mm": "float64", "flipper_length_mm": "int64",
                 "body_mass_g": "int64", "sex": "string", "year": "int64"},
}

METHOD_FEATURES = {
    "filter": "where", "select": "select", "group_by": "group_by", "agg": "aggregate",
    "aggregate": "aggregate", "order_by": "order_by", "limit": "limit", "join": "join",
    "left_join": "left_join", "inner_join": "inner_join", "outer_join": "outer_join",
    "mutate": "mutate", "distinct": "distinct", "over": "window", "union": "union",
    "intersect": "intersect", "difference": "except", "cast": "cast", "isin": "in",
    "between": "between", "like": "like", "fill_null": "coalesce", "isnull": "null",
    "notnull": "null", "cases": "case", "ifelse": "case", "count": "count", "sum": "sum",
    "mean": "avg", "nunique": "count_distinct", "max": "max", "min": "min",
}


# ------------------------------------------------------------------------------------------
# gathering files
# ------------------------------------------------------------------------------------------
def _git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def parse_repo_list(path: str | Path) -> list[tuple[str, str, list[str]]]:
    """(url_or_path, name, dirs) per line of `repo_url|name|dir1,dir2`; bad lines -> ValueError."""
    out = []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"{path}:{i}: expected repo_url|name|dirs, got {line!r}")
        dirs = [d.strip() for d in (parts[2] if len(parts) > 2 else "").split(",") if d.strip()]
        out.append((parts[0].strip(), parts[1].strip(), dirs))
    return out


def resolve_source(src: str, work_dir: Path, progress: bool = False) -> tuple[Path | None, str]:
    """A local path for a source (cloning URLs); (None, why) when unavailable."""
    if re.match(r"^(https?://|git@|ssh://)", src):
        name = re.sub(r"\.git$", "", src.rstrip("/").rsplit("/", 1)[-1]) or "repo"
        dest = work_dir / "repos" / name
        if dest.exists():
            return dest, "cached clone"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            r = subprocess.run(["git", "clone", "--depth", "1", src, str(dest)],
                               capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"git clone failed: {exc}"
        if r.returncode != 0:
            return None, f"git clone failed: {r.stderr.strip().splitlines()[-1:]}"
        return dest, "cloned"
    p = Path(src).expanduser()
    return (p, "local") if p.exists() else (None, "no such path")


def iter_files(root: Path, dirs: list[str] | None = None, max_files: int | None = None
               ) -> list[Path]:
    bases = [root / d for d in dirs] if dirs else [root]
    out: list[Path] = []
    for base in bases:
        if base.is_file():
            out.append(base)
            continue
        if not base.exists():
            continue
        for p in sorted(base.rglob("*")):
            if p.suffix not in EXTS or not p.is_file():
                continue
            rel = str(p.relative_to(root))
            if any(part in SKIP_DIRS for part in p.relative_to(root).parts) or \
                    any(t in rel for t in TPC_PARTS):
                continue
            out.append(p)
    if max_files:
        out = out[:max_files]
    return out


# ------------------------------------------------------------------------------------------
# blocks of code from files
# ------------------------------------------------------------------------------------------
_FENCE = re.compile(r"^```+\s*\{?\s*([\w.-]*)[^\n]*\n(.*?)^```+\s*$", re.S | re.M)


def md_blocks(text: str) -> list[tuple[str, str, int]]:
    out = []
    for m in _FENCE.finditer(text):
        lang = m.group(1).lower().lstrip(".")
        line = text.count("\n", 0, m.start(2)) + 1
        body = "\n".join(x for x in m.group(2).splitlines() if not x.startswith("#|"))
        out.append((lang, body, line))
    return out


def notebook_blocks(text: str) -> list[tuple[str, str, int]]:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        return []
    out = []
    for i, cell in enumerate(nb.get("cells", [])):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if cell.get("cell_type") == "code":
            lines = [x for x in src.splitlines() if not x.lstrip().startswith(("%", "!"))]
            out.append(("python", "\n".join(lines), i + 1))
        elif cell.get("cell_type") == "markdown":
            out.extend((lang, body, i + 1) for lang, body, _ in md_blocks(src))
    return out


def doctest_sessions(source: str) -> list[tuple[str, int]]:
    """`>>>` sessions inside a Python file's docstrings: (code, line)."""
    out = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Module)):
            doc = ast.get_docstring(node, clean=True)
            if not doc or ">>>" not in doc:
                continue
            lines, cur = [], []
            start = getattr(node, "lineno", 1)
            for line in doc.splitlines():
                s = line.strip()
                if s.startswith(">>> "):
                    cur.append(s[4:])
                elif s.startswith("... ") or s == "...":
                    cur.append(s[4:] if s.startswith("... ") else "")
                elif cur:
                    lines.append("\n".join(cur))
                    cur = []
            if cur:
                lines.append("\n".join(cur))
            if lines:
                out.append(("\n".join(lines), start))
    return out


# ------------------------------------------------------------------------------------------
# schemas and snippets (AST only)
# ------------------------------------------------------------------------------------------
_PY2IBIS = {bool: "boolean", int: "int64", float: "float64", str: "string"}


def memtable_schema(call: ast.Call) -> dict[str, str] | None:
    if not call.args:
        return None
    try:
        data = ast.literal_eval(call.args[0])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(data, dict) or not data:
        return None
    schema = {}
    for col, values in data.items():
        if not isinstance(col, str) or not col.isidentifier() or not isinstance(values, (list, tuple)):
            return None
        types = {type(v) for v in values if v is not None}
        if types == {int, float}:
            types = {float}
        if len(types) != 1 or next(iter(types)) not in _PY2IBIS:
            return None
        schema[col] = _PY2IBIS[next(iter(types))]
    return schema


def _table_schema(value: ast.AST, source: str) -> dict[str, str] | None:
    """Schema for `ibis.table(...)`, `ibis.memtable({...})`, `ibis.examples.X.fetch()`."""
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    f = value.func
    dotted = ast.unparse(f)
    if dotted in ("ibis.table",):
        from ibert_lsp.schema.sources import from_python_source

        try:
            got = from_python_source(f"__t = {ast.get_source_segment(source, value) or ast.unparse(value)}")
        except Exception:  # noqa: BLE001
            return None
        return next(iter(got.values()), None) if got else None
    if dotted == "ibis.memtable":
        return memtable_schema(value)
    m = re.fullmatch(r"ibis\.examples\.(\w+)\.fetch", dotted)
    if m:
        return EXAMPLE_SCHEMAS.get(m.group(1))
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_ibis_expr_candidate(node: ast.AST) -> bool:
    return isinstance(node, (ast.Call, ast.Attribute, ast.BinOp, ast.Compare, ast.Subscript))


def snippets_from_code(code: str, tables: dict[str, dict[str, str]] | None = None,
                       max_per_block: int = 20) -> list[tuple[str, dict, int]]:
    """(snippet, schemas, line) for expressions over known tables, in statement order.

    A snippet may start with the assignments it depends on (`x = t.filter(...)` then
    `x.group_by(...)`); its schemas are the tables it names.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    known: dict[str, dict[str, str]] = dict(tables or {})
    derived: dict[str, tuple[str, set[str]]] = {}  # name -> (assignment source, tables used)
    out = []
    for stmt in tree.body:
        value, target = None, None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            value, target = stmt.value, stmt.targets[0].id
        elif isinstance(stmt, ast.Expr):
            value = stmt.value
        if value is None:
            continue
        sch = _table_schema(value, code)
        if target and sch:
            known[target] = sch
            derived.pop(target, None)
            continue
        names = _names(value)
        if "ibis" in names and isinstance(value, ast.Call) and ast.unparse(value.func).startswith(
                ("ibis.connect", "ibis.read", "ibis.duckdb", "ibis.set_backend", "ibis.options")):
            continue
        used_tables = names & set(known)
        used_derived = names & set(derived)
        if not (used_tables or used_derived) or not _is_ibis_expr_candidate(value):
            continue
        # transitive closure of derived names, in definition order
        needed: list[str] = []
        tabs = set(used_tables)
        stack = list(used_derived)
        while stack:
            d = stack.pop()
            if d in needed:
                continue
            needed.append(d)
            tabs |= derived[d][1]
            stack.extend(_names(ast.parse(derived[d][0]).body[0].value) & set(derived))
        order = [d for d in derived if d in needed]
        seg = ast.get_source_segment(code, value) or ast.unparse(value)
        seg = ast.unparse(value) if "\n" in seg and not seg.strip().startswith("(") else seg
        prelude = [derived[d][0] for d in order]
        snippet = "\n".join(prelude + [seg])
        if target:
            derived[target] = (f"{target} = {seg}", tabs)
        if any(TPC_TABLE_HINT.search(t) for t in tabs):
            continue
        out.append((snippet, {t: known[t] for t in sorted(tabs)}, stmt.lineno))
        if len(out) >= max_per_block:
            break
    return out


_SQL_START = re.compile(r"^\s*(WITH|SELECT)\b", re.I)


def sql_strings(code: str) -> list[tuple[str, int]]:
    """SQL queries in string literals (e.g. `con.sql("SELECT ...")`, `sql = '''SELECT ...'''`)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and _SQL_START.match(n.value) \
                and re.search(r"\bFROM\b", n.value, re.I) and len(n.value) < 3000:
            out.append((n.value.strip(), n.lineno))
    return out


def pairs_from_blocks(blocks: list[tuple[str, str, int]], tables: dict) -> list[tuple[str, str, dict, int]]:
    """(sql, ibis, schemas, line): a SQL block/string next to an Ibis snippet over the same tables."""
    out = []
    known = dict(tables)
    last_sql: tuple[str, int] | None = None
    for lang, body, line in blocks:
        if lang in ("sql",):
            if _SQL_START.match(body):
                last_sql = (body.strip().rstrip(";"), line)
            continue
        if lang not in ("python", "py", ""):
            continue
        snips = snippets_from_code(body, known)
        for s in sql_strings(body):
            last_sql = (s[0], line + s[1] - 1)
        try:
            for stmt in ast.parse(body).body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                        isinstance(stmt.targets[0], ast.Name):
                    sch = _table_schema(stmt.value, body)
                    if sch:
                        known[stmt.targets[0].id] = sch
        except SyntaxError:
            pass
        if last_sql and snips:
            sql, sline = last_sql
            sql_tables = set(re.findall(r"\b(?:FROM|JOIN)\s+\"?(\w+)", sql, re.I))
            for snip, sch, _ in snips[-2:]:
                if sql_tables and sql_tables <= set(sch):
                    out.append((sql, snip, sch, sline))
            last_sql = None
    return out


def functions_from_code(code: str, tables: dict) -> list[tuple[str, str, str, dict, int]]:
    """(function without docstring, docstring, style, schemas, line) for documented functions
    whose parameters name known tables and whose docstring is Google or NumPy style."""
    from datagen.docfuncs import parse_docstring, signature_params

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    out = []
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        doc = ast.get_docstring(fn, clean=True)
        if not doc:
            continue
        style = "numpy" if re.search(r"^Parameters\n-{3,}", doc, re.M) else (
            "google" if re.search(r"^(Args|Arguments):", doc, re.M) else None)
        if style is None:
            continue
        params = signature_params(fn)
        if not params or not set(params) & set(tables):
            continue
        try:
            parse_docstring(doc, style)
        except ValueError:
            continue
        body = fn.body[1:]
        if not body:
            continue
        clone = ast.FunctionDef(name=fn.name, args=fn.args, body=body, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        src = ast.unparse(ast.fix_missing_locations(clone)) + "\n"
        out.append((src, doc, style, {p: tables[p] for p in params if p in tables}, fn.lineno))
    return out


# ------------------------------------------------------------------------------------------
# the Ibis package
# ------------------------------------------------------------------------------------------
def ibis_fixture_schemas() -> dict[str, dict[str, str]]:
    """Schemas of the table fixtures used by Ibis' expression tests (its mock backend)."""
    out = {"table": {"a": "int8", "b": "int16", "c": "int32", "d": "int64", "e": "float32",
                     "f": "float64", "g": "string", "h": "boolean", "i": "timestamp",
                     "j": "date", "k": "time"}}
    try:
        from ibis.tests.expr.mocks import MockBackend

        con = MockBackend()
        for name in con.list_tables():
            if TPC_TABLE_HINT.search(name) or name == "geo":
                continue
            out[name] = {k: str(v) for k, v in con.table(name).schema().items()}
    except Exception:  # noqa: BLE001 - tests may not be installed
        pass
    if "functional_alltypes" in out:
        out.setdefault("alltypes", out["functional_alltypes"])
    return out


def ibis_sources() -> tuple[Path, list[Path], str]:
    import ibis

    root = Path(ibis.__file__).parent
    files = sorted((root / "expr" / "types").glob("*.py")) + sorted((root / "expr").glob("api.py"))
    files += sorted((root / "tests" / "expr").glob("test_*.py"))
    files += sorted((root / "backends" / "tests").glob("test_*.py"))
    files = [f for f in files if not any(t in str(f) for t in TPC_PARTS)]
    from datagen.records import ibis_version

    return root.parent, files, f"ibis-framework=={ibis_version()}"


def _test_function_units(source: str, fixtures: dict) -> list[tuple[str, dict, int]]:
    """Statements of test functions, with the fixtures they take bound to mock schemas."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
            continue
        params = [a.arg for a in fn.args.args]
        tabs = {p: fixtures[p] for p in params if p in fixtures}
        if not tabs:
            continue
        body = "\n".join(ast.unparse(s) for s in fn.body
                         if not isinstance(s, (ast.Assert, ast.With, ast.If, ast.For)))
        out.append((body, tabs, fn.lineno))
    return out


# ------------------------------------------------------------------------------------------
# mining driver
# ------------------------------------------------------------------------------------------
def _source_kind(path: Path, in_ibis: bool) -> str:
    if in_ibis:
        return "ibis_tests" if "tests" in path.parts else "ibis_docstring"
    return {".ipynb": "notebook", ".md": "markdown", ".qmd": "quarto"}.get(path.suffix, "python")


def extract_file(path: Path, root: Path, commit: str | None, *, in_ibis: bool,
                 fixtures: dict) -> dict[str, list]:
    """Units from one file: snippets, pairs, functions (with provenance)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {"snippets": [], "pairs": [], "functions": [], "sql": [],
                "notes": [f"{path}:0: unreadable, skipped"]}
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    kind = _source_kind(path, in_ibis)
    res: dict[str, list] = {"snippets": [], "pairs": [], "functions": [], "sql": [], "notes": []}

    def prov(line: int) -> dict:
        return {"file": rel, "line": line, "commit": commit}

    if path.suffix == ".py":
        try:
            ast.parse(text)
        except SyntaxError as exc:
            res["notes"].append(f"{rel}:{exc.lineno or 0}: not valid Python ({exc.msg}), skipped")
            return res
        except (ValueError, RecursionError, MemoryError) as exc:
            res["notes"].append(f"{rel}:0: unreadable ({type(exc).__name__}), skipped")
            return res
        blocks: list[tuple[str, str, int]] = []
        for code, line in doctest_sessions(text):
            for snip, sch, l2 in snippets_from_code(code):
                res["snippets"].append((snip, sch, kind if in_ibis else "python_doctest", prov(line + l2)))
            blocks.append(("python", code, line))
        if in_ibis and "tests" in path.parts:
            for body, tabs, line in _test_function_units(text, fixtures):
                for snip, sch, l2 in snippets_from_code(body, tabs, max_per_block=6):
                    res["snippets"].append((snip, sch, kind, prov(line + l2)))
        elif not in_ibis:
            for snip, sch, line in snippets_from_code(text):
                res["snippets"].append((snip, sch, kind, prov(line)))
            blocks.append(("python", text, 1))
            for src, doc, style, sch, line in functions_from_code(text, _module_tables(text)):
                res["functions"].append((src, doc, style, sch, kind, prov(line)))
        for sql, snip, sch, line in pairs_from_blocks(blocks, {}):
            res["pairs"].append((sql, snip, sch, kind, prov(line)))
        local = _module_tables(text)
        for sql, line in sql_strings(text):
            res["sql"].append((sql, local, kind, prov(line)))
        return res
    if path.suffix == ".ipynb":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            res["notes"].append(f"{rel}:{exc.lineno}: not a valid notebook ({exc.msg}), skipped")
            return res
    blocks = notebook_blocks(text) if path.suffix == ".ipynb" else md_blocks(text)
    known: dict[str, dict] = {}
    for lang, body, line in blocks:
        if lang in ("python", "py", "") and body.strip():
            snips = snippets_from_code(body, known)
            for snip, sch, l2 in snips:
                res["snippets"].append((snip, sch, kind, prov(line + l2 - 1)))
            known.update(_module_tables(body))
    for sql, snip, sch, line in pairs_from_blocks(blocks, {}):
        res["pairs"].append((sql, snip, sch, kind, prov(line)))
    for lang, body, line in blocks:
        if lang == "sql" and _SQL_START.match(body):
            res["sql"].append((body.strip().rstrip(";"), dict(known), kind, prov(line)))
        elif lang in ("python", "py", ""):
            for sql, l2 in sql_strings(body):
                res["sql"].append((sql, dict(known), kind, prov(line + l2 - 1)))
    return res


def sql_tables(sql: str) -> set[str] | None:
    """Names of the tables a query reads (CTE names excluded), or None if it does not parse."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:  # noqa: BLE001
        return None
    if tree is None:
        return None
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def _job_translate(item: dict) -> tuple[bool, str, str | None]:
    """Mined SQL -> the project's verified translator (the gate proves the Ibis equivalent)."""
    from ibert_lsp.tasks.sql_to_ibis import translate

    res = translate(item["sql"], item["schemas"], verify=True, seeds=(0, 1))
    return bool(res.ibis and res.verified), res.reason, res.ibis


def _module_tables(code: str) -> dict[str, dict]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return {}
    out = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            sch = _table_schema(stmt.value, code)
            if sch:
                out[stmt.targets[0].id] = sch
    return out


def _features(code: str) -> list[str]:
    from datagen.qa import methods_used

    return sorted({METHOD_FEATURES[m] for m in methods_used(code) if m in METHOD_FEATURES}) or ["expression"]


def _difficulty(code: str) -> str:
    n = code.count("(")
    return "easy" if n <= 3 else ("medium" if n <= 7 else "hard")


def _job_snippet_ok(item: dict) -> tuple[bool, str]:
    return gate.check_code(item["ibis"], item["schemas"])


def _job_pair_ok(item: dict) -> tuple[bool, str]:
    return gate.check_pair(item["sql"], item["ibis"], item["schemas"])


def mine(sources: list[str], *, include_ibis: bool = True, repo_list: str | None = None,
         tasks: list[str] | None = None, seed: int = 0, max_files: int | None = None,
         max_snippets: int | None = None, progress: bool = True, workers: int | None = None,
         work_dir: Path = Path("data/generated/work")) -> tuple[list[dict], dict]:
    """Records (not yet re-checked as records) and an info dict."""
    from datagen import multitask
    from datagen.records import make_record

    rng = random.Random(seed)
    roots: list[tuple[Path, list[Path], str | None, bool]] = []
    notes: list[str] = []
    for src in sources:
        path, why = resolve_source(src, work_dir, progress)
        if path is None:
            notes.append(f"{src}: skipped ({why})")
            continue
        files = iter_files(path, max_files=max_files) if path.is_dir() else [path]
        roots.append((path if path.is_dir() else path.parent, files, _git_commit(path if path.is_dir() else path.parent), False))
    if repo_list:
        for url, name, dirs in parse_repo_list(repo_list):
            path, why = resolve_source(url, work_dir, progress)
            if path is None:
                notes.append(f"{name}: skipped ({why})")
                continue
            roots.append((path, iter_files(path, dirs, max_files=max_files), _git_commit(path), False))
    if include_ibis:
        root, files, version = ibis_sources()
        if max_files:
            files = files[:max_files]
        roots.append((root, files, version, True))
    fixtures = ibis_fixture_schemas() if include_ibis else {}
    snippets, pairs, functions, sqls = [], [], [], []
    n_files = 0
    for root, files, commit, in_ibis in roots:
        for f in files:
            n_files += 1
            try:
                got = extract_file(f, root, commit, in_ibis=in_ibis, fixtures=fixtures)
            except (RecursionError, MemoryError, ValueError) as exc:
                notes.append(f"{f}: skipped ({type(exc).__name__})")
                continue
            snippets += got["snippets"]
            pairs += got["pairs"]
            functions += got["functions"]
            sqls += got["sql"]
            for note in got["notes"]:
                notes.append(note)
                if progress:
                    print(f"[datagen] {note}", file=sys.stderr)
    # dedupe snippets by code, cap
    seen = set()
    uniq = []
    for s in snippets:
        if s[0] in seen or len(s[0]) > 1500:
            continue
        seen.add(s[0])
        uniq.append(s)
    rng.shuffle(uniq)
    if max_snippets:
        uniq = uniq[:max_snippets]
    items = [{"ibis": s, "schemas": sch, "template": "mined", "family": f"mined_{kind}",
              "source": kind, "features": _features(s), "difficulty": _difficulty(s),
              "provenance": prov} for s, sch, kind, prov in uniq]
    oks = gate.run_parallel(_job_snippet_ok, items, workers=workers, progress=progress,
                            desc="mine: gate snippets")
    valid = [it for it, (ok, _) in zip(items, oks) if ok]
    pitems = [{"sql": sql, "ibis": s, "schemas": sch, "template": "mined_pair",
               "family": f"mined_{kind}", "source": kind, "features": _features(s),
               "difficulty": _difficulty(s), "provenance": prov}
              for sql, s, sch, kind, prov in pairs]
    pres = gate.run_parallel(_job_pair_ok, pitems, workers=workers, progress=progress,
                             desc="mine: gate pairs") if pitems else []
    vpairs = [it for it, (ok, _) in zip(pitems, pres) if ok]
    # SQL found alone (`.sql("...")` calls, SQL strings, ```sql blocks) over known tables:
    # the verified translator proposes the Ibis side, the gate proves it
    known_tables = {**fixtures, **EXAMPLE_SCHEMAS}
    sitems, seen_sql = [], set()
    for sql, local, kind, prov in sqls:
        if sql in seen_sql or TPC_TABLE_HINT.search(sql):
            continue
        seen_sql.add(sql)
        names = sql_tables(sql)
        pool = {**known_tables, **local}
        if not names or not names <= set(pool):
            continue
        sch = {n: pool[n] for n in sorted(names)}
        sitems.append({"sql": sql, "schemas": sch, "template": "mined_sql",
                       "family": f"mined_{kind}", "source": kind, "difficulty": "medium",
                       "provenance": prov})
    tres = gate.run_parallel(_job_translate, sitems, workers=workers, progress=progress,
                             desc="mine: translate SQL") if sitems else []
    for it, res in zip(sitems, tres):
        if len(res) == 3 and res[0] and res[2]:
            vpairs.append({**it, "ibis": res[2], "features": _features(res[2]),
                           "difficulty": _difficulty(res[2])})
    want = set(tasks or ["code_completion", "ibis_to_sql", "sql_to_ibis", "error_resolution",
                         "documentation", "qa"])
    records: list[dict] = []
    jobs = []
    from datagen.pipeline import _job_build

    for it in valid:
        if "code_completion" in want:
            jobs.append({**it, "kind": "completion", "seed": rng.randrange(1 << 30), "n": 2})
        if "error_resolution" in want:
            jobs.append({**it, "kind": "errors", "seed": rng.randrange(1 << 30), "n": 1})
        if "ibis_to_sql" in want:
            jobs.append({**it, "kind": "ibis_to_sql", "dialects": [rng.choice(("duckdb",) + multitask.DIALECTS)]})
    from datagen.pipeline import collect_built

    built, built_bad = collect_built(gate.run_parallel(
        _job_build, jobs, workers=workers, progress=progress, desc="mine: build+check",
        chunksize=4))
    if "sql_to_ibis" in want:
        for p in vpairs:
            records.append(multitask.sql_to_ibis_record({**p, "dialect": "duckdb"}))
    if "documentation" in want:
        for src, doc, style, sch, kind, prov in functions:
            records.append(make_record("documentation", {"code": src, "style": style},
                                       {"docstring": doc}, tables=sch, template="mined_function",
                                       source=kind, features=["function", *_features(src)],
                                       difficulty=_difficulty(src), family=f"mined_{kind}",
                                       extra_meta={"provenance": prov}))
    if "qa" in want:
        for it in valid[: max(1, len(valid) // 4)]:
            q = rng.choice(("What does this Ibis code compute?\n\n```python\n{c}\n```",
                            "Which SQL does this Ibis expression compile to?\n\n```python\n{c}\n```"))
            try:
                sql = gate.compile_code(it["ibis"], it["schemas"], "duckdb")
            except Exception:  # noqa: BLE001
                continue
            ans = f"It compiles to this SQL (DuckDB):\n\n```sql\n{sql}\n```"
            records.append(make_record("qa", {"question": q.format(c=it["ibis"])}, {"answer": ans},
                                       tables=it["schemas"], template="mined_explain",
                                       source=it["source"], features=["qa", *it["features"]],
                                       difficulty=it["difficulty"], family=it["family"],
                                       extra_meta={"provenance": it["provenance"]}))
    info = {"prechecked": built, "prechecked_rejected": len(built_bad),
            "files": n_files, "snippets_found": len(snippets), "snippets_unique": len(uniq),
            "snippets_valid": len(valid), "pairs_found": len(pairs), "pairs_valid": len(vpairs),
            "functions_found": len(functions), "sql_found": len(sqls),
            "sql_translatable": len(sitems), "notes": notes[:50]}
    if progress:
        print(f"[datagen] mining: {n_files} files; the gate passed {len(valid)}/{len(uniq)} "
              f"snippets, {len(vpairs)} SQL->Ibis pairs ({len(pairs)} found side by side, "
              f"{len(sitems)} lone SQL queries over known tables sent to the translator)",
              file=sys.stderr)
    return records, info
