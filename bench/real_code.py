"""ibert-lsp on real Ibis code: the Ibis docs and public projects (bench/real_code/manifest.json).

    .venv/bin/python bench/real_code.py [--max-probes 6] [--max-hovers 4] [--files N]
                                        [--only SUBSTR] [--exclude SUBSTR] [--no-jedi] [--no-verify] [--out FILE]

Starts the real server (`python -m ibert_lsp --no-model`) over stdio, opens every corpus file
twice — with zero configuration, and with the file's table schemas (manifest `schemas`, given
as the `schemaFile` setting) where the manifest has any — and measures, per file and in total:

- statements modeled with zero configuration (`ibert.analysisStats`) out of the file's *Ibis
  statements* (statements that read `ibis`, `_` or a name bound by an earlier Ibis statement;
  see `ibis_statements`);
- diagnostics, and how many are false: each flagged statement is re-run with real Ibis on DuckDB
  in a subprocess this bench controls (`--verify-worker`), with the file's own data where the
  manifest can build it (memtable literals run as written; `ibis.examples.*.fetch()`,
  `con.table`, `read_*` get empty tables of the recorded schemas); where that cannot decide,
  the manifest's hand `verdicts` do;
- completion next-token top-5 hit rate at call sites (each Ibis statement cut right after a `.`
  or a `(`; hit when what the real code wrote next is among the first 5 items), for ibert and,
  on the same positions, jedi-language-server (zero configuration);
- hover usefulness on method names (the hover names the method and shows a signature or doc);
- code action errors over ranges (every Ibis statement's range; every string literal's range with
  its quotes, without them, and a partial range inside it), resolve included;
- completion latency p50/p95 (ibert and jedi, same positions).

Prints a table and writes JSON (default bench/results/real_code.json).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session as BenchSession

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "bench" / "real_code"
MANIFEST = CORPUS / "manifest.json"
DOCS_ROOT = ROOT.parent / "shared" / "corpora" / "ibis-docs"  # ../shared/corpora/ibis-docs/

RESERVED = frozenset({
    "ibis-project/ibis-tutorial", "ibis-project/ibis-analytics",
    "ibis-project/kedro-ibis-tutorial", "ibis-project/ibis-ml", "ibis-project/better-pypi-stats",
    "dagworks-inc/hamilton", "nickcrews/mismo", "marimo-team/marimo",
    "boringdata/boring-semantic-layer",
})
PERMISSIVE = frozenset({"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0"})
DOCS_REPO = "ibis-project/ibis"

SIMPLE_STMTS = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return)
# calls that turn an Ibis expression into data: the statement is Ibis, its target is not
MATERIALIZE = re.compile(r"^(execute|to_\w+|head|preview|info|describe|visualize)$")
MATERIALIZE_STRICT = re.compile(r"^(execute|to_\w+)$")


# ------------------------------------------------------------------------------ the corpus
def validate_manifest(manifest: dict) -> list[str]:
    """Problems with the manifest (empty list: valid)."""
    errors = []
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        return ["manifest has no 'files' list"]
    seen = set()
    for i, e in enumerate(files):
        where = f"files[{i}] ({e.get('repo')}:{e.get('path')})"
        for key in ("repo", "path", "commit", "license"):
            if not isinstance(e.get(key), str) or not e.get(key):
                errors.append(f"{where}: missing {key}")
        repo = str(e.get("repo", "")).lower()
        if repo in RESERVED:
            errors.append(f"{where}: {e.get('repo')} is reserved for independent evaluation")
        if repo == DOCS_REPO and e.get("source") != "ibis-docs":
            errors.append(f"{where}: ibis-project/ibis is allowed only as the docs corpus")
        if e.get("source") == "ibis-docs" and e.get("kept"):
            errors.append(f"{where}: the docs are read in place, never kept")
        if e.get("kept") and e.get("license") not in PERMISSIVE:
            errors.append(f"{where}: kept, but license {e.get('license')!r} is not permissive")
        if not re.fullmatch(r"[0-9a-f]{40}", str(e.get("commit", ""))):
            errors.append(f"{where}: commit must be 40 hex digits")
        key = (repo, e.get("path"))
        if key in seen:
            errors.append(f"{where}: listed twice")
        seen.add(key)
        schemas = e.get("schemas", {})
        if not isinstance(schemas, dict) or not all(
                isinstance(v, dict) and all(isinstance(t, str) for t in v.values())
                for v in schemas.values()):
            errors.append(f"{where}: schemas must be {{table: {{column: type}}}}")
    return errors


def file_location(entry: dict) -> Path:
    """Where a manifest entry's text lies on this machine."""
    if entry.get("source") == "ibis-docs":
        return DOCS_ROOT / re.sub(r"^docs/", "", entry["path"])
    sub = "files" if entry.get("kept") else "cache"
    return CORPUS / sub / entry["repo"].replace("/", "+") / entry["path"]


def python_document(text: str, suffix: str) -> str:
    """The Python a reader would run: a .py file as is; the code cells of a notebook, .qmd or
    .md joined in order (shell/magic lines dropped; cells that do not parse left out)."""
    if suffix == ".py":
        return text
    sys.path.insert(0, str(ROOT))
    from datagen.mining import md_blocks, notebook_blocks

    blocks = notebook_blocks(text) if suffix == ".ipynb" else md_blocks(text)
    cells = []
    for lang, body, _line in blocks:
        if lang not in ("python", "py", "ipython", "python3"):
            continue
        body = "\n".join(x for x in body.splitlines()
                         if not x.lstrip().startswith(("%", "!")))
        try:
            ast.parse(body)
        except SyntaxError:
            continue
        if body.strip():
            cells.append(body.rstrip())
    return "\n\n\n".join(cells) + ("\n" if cells else "")


# ------------------------------------------------------------------- statements and sites
@dataclass
class Stmt:
    line: int  # 0-based
    col: int
    end_line: int
    end_col: int
    node: ast.stmt = field(repr=False)
    in_function: bool = False


def _simple_statements(tree: ast.Module) -> list[Stmt]:
    out: list[Stmt] = []

    def walk(body, in_fn):
        for st in body:
            if isinstance(st, SIMPLE_STMTS):
                if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                    continue  # docstrings, bare strings
                out.append(Stmt(st.lineno - 1, st.col_offset, st.end_lineno - 1,
                                st.end_col_offset, st, in_fn))
            for name in ("body", "orelse", "finalbody"):
                sub = getattr(st, name, None)
                if isinstance(sub, list) and not isinstance(st, SIMPLE_STMTS):
                    walk(sub, in_fn or isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)))
            for h in getattr(st, "handlers", []) or []:
                walk(h.body, in_fn)

    walk(tree.body, False)
    out.sort(key=lambda s: (s.line, s.col))
    return out


def _ibis_roots(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "ibis" or a.name.startswith("ibis."):
                    names.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ibis":
            names.update(a.asname or a.name for a in node.names)
    return names | {"_"} if names else names


def _read_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _targets(st: ast.stmt) -> list[str]:
    tg = st.targets if isinstance(st, ast.Assign) else [getattr(st, "target", None)]
    out = []
    for t in tg:
        if t is not None:
            out.extend(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return out


def _top_call_name(value: ast.AST) -> str | None:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return value.func.attr
    return None


def ibis_statements(tree: ast.Module) -> tuple[list[Stmt], set[str]]:
    """Statements that work with Ibis, and the names that hold Ibis values.

    A statement is an Ibis statement when it reads a name imported from ibis (`ibis`, `_`,
    selectors, ...) or a name an earlier Ibis statement bound; its targets then hold Ibis
    values, unless it materializes (`.execute()`, `.to_pandas()`, ...). A function whose body
    has Ibis statements, or whose parameters are annotated with an ibis name, taints its
    parameters and name. Two passes, so functions defined before use are seen.
    """
    roots = _ibis_roots(tree)
    if not roots:
        return [], set()
    tainted = set(roots)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for a in node.args.args + node.args.kwonlyargs:
                if a.annotation is not None and _read_names(a.annotation) & roots:
                    tainted.add(a.arg)
    stmts = _simple_statements(tree)
    fn_of: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, SIMPLE_STMTS):
                    fn_of.setdefault(id(sub), node)
    chosen: dict[int, Stmt] = {}
    for _round in range(2):
        for s in stmts:
            st = s.node
            value = getattr(st, "value", None)
            reads = (_read_names(value) if isinstance(st, (ast.Assign, ast.AnnAssign))
                     and value is not None else _read_names(st))
            if not reads & tainted:
                continue
            if isinstance(st, (ast.Assign, ast.AnnAssign)) and not all(
                    isinstance(t, (ast.Name, ast.Tuple, ast.List))
                    for t in (st.targets if isinstance(st, ast.Assign) else [st.target])):
                continue  # ibis.options.x = ..., obj.attr = ...
            chosen[id(st)] = s
            if not (value is not None and MATERIALIZE_STRICT.match(_top_call_name(value) or "")):
                tainted.update(_targets(st))
            fn = fn_of.get(id(st))
            if fn is not None:
                tainted.add(fn.name)
                tainted.update(a.arg for a in fn.args.args + fn.args.kwonlyargs)
    return [s for s in stmts if id(s.node) in chosen], tainted


@dataclass
class Probe:
    line: int  # 0-based position of the cursor (just after '.' or '(')
    character: int
    trigger: str  # "." or "("
    expected: str  # what the real code wrote next
    stmt_line: int
    stmt_end_line: int
    text: str = ""  # the statement's source line, for the report


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def expected_argument(call: ast.Call) -> str | None:
    """What the code wrote first inside `(`: a string's text, a keyword's name, a name or
    dotted name; None for anything an editor cannot complete (numbers, lambdas, ...)."""
    first = None
    items = [(a.lineno, a.col_offset, a) for a in call.args]
    items += [(k.value.lineno, k.value.col_offset, k) for k in call.keywords]
    if not items:
        return None
    first = min(items, key=lambda t: (t[0], t[1]))[2]
    if isinstance(first, ast.keyword):
        return first.arg  # None for **kwargs
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value if first.value.isidentifier() else None
    if isinstance(first, (ast.Name, ast.Attribute)):
        return _dotted(first)
    return None


def call_sites(doc: str, stmts: list[Stmt], tainted: set[str]) -> list[Probe]:
    """Every cut point inside Ibis statements: after the `.` of an attribute whose receiver
    derives from Ibis, and after the `(` of a call on such a receiver (or an `ibis.` function)
    whose first argument an editor could complete."""
    lines = doc.split("\n")
    out: list[Probe] = []
    for s in stmts:
        for node in ast.walk(s.node):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                if _root_name(node.value) not in tainted:
                    continue
                line = node.end_lineno - 1
                char = node.end_col_offset - len(node.attr)
                if char <= 0 or lines[line][char - 1] != ".":
                    continue  # `x . y` spelled with spaces, or a continuation we can't place
                out.append(Probe(line, char, ".", node.attr, s.line, s.end_line,
                                 lines[s.line].strip()))
            elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
                if _root_name(node.func) not in tainted:
                    continue
                exp = expected_argument(node)
                if not exp:
                    continue
                line, col = node.func.end_lineno - 1, node.func.end_col_offset
                text = lines[line]
                # the "(" follows the callee, possibly after spaces
                j = col
                while j < len(text) and text[j] == " ":
                    j += 1
                if j >= len(text) or text[j] != "(":
                    continue
                out.append(Probe(line, j + 1, "(", exp, s.line, s.end_line,
                                 lines[s.line].strip()))
    out.sort(key=lambda p: (p.line, p.character))
    return out


def method_sites(doc: str, stmts: list[Stmt], tainted: set[str]) -> list[tuple[int, int, str]]:
    """(line, character inside the name, method) for every `x.method(` on an Ibis receiver."""
    out = []
    seen = set()
    for s in stmts:
        for node in ast.walk(s.node):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and _root_name(node.func.value) in tainted):
                f = node.func
                line, char = f.end_lineno - 1, f.end_col_offset - len(f.attr)
                if (line, char) not in seen:
                    seen.add((line, char))
                    out.append((line, char + min(1, len(f.attr) - 1), f.attr))
    out.sort()
    return out


def spread(items: list, k: int) -> list:
    """At most k items, evenly spaced over the list (deterministic)."""
    if k <= 0 or len(items) <= k:
        return list(items)
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def cut_document(doc: str, probe: Probe) -> str:
    """The document as it is while the statement is typed up to the probe: the statement's
    text after the cursor is gone, the rest of the file stays."""
    lines = doc.split("\n")
    head = lines[:probe.line] + [lines[probe.line][:probe.character]]
    return "\n".join(head + lines[probe.stmt_end_line + 1:])


_QUOTES = "\"'"


def normalize_label(text: str | None) -> str:
    if not text:
        return ""
    t = text.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] == t[0]:
        t = t[1:-1]
    t = re.sub(r"\(.*$", "", t)  # `mean()` / `mean(...)` -> mean
    return t.rstrip("=").strip()


def item_texts(item) -> list[str]:
    """The strings an editor could insert or show for a completion item (lsprotocol or dict)."""
    get = (lambda k: item.get(k)) if isinstance(item, dict) else (
        lambda k: getattr(item, k, None))
    out = [get("label"), get("insert_text") or get("insertText"), get("filter_text")
           or get("filterText")]
    te = get("text_edit") or get("textEdit")
    if te is not None:
        out.append(te.get("newText") if isinstance(te, dict) else getattr(te, "new_text", None))
    return [t for t in out if t]


def ranked(items: list) -> list:
    """Items in the order an editor shows them before anything is typed (sortText, label)."""
    def key(it):
        get = (lambda k: it.get(k)) if isinstance(it, dict) else (lambda k: getattr(it, k, None))
        return (get("sort_text") or get("sortText") or get("label") or "", get("label") or "")
    return sorted(items, key=key)


def hit_rank(items: list, expected: str) -> int | None:
    """1-based rank of the first item that inserts `expected`, or None."""
    for i, it in enumerate(ranked(items), 1):
        if any(normalize_label(t) == expected for t in item_texts(it)):
            return i
    return None


def hit_at(items: list, expected: str, k: int = 5) -> bool:
    r = hit_rank(items, expected)
    return r is not None and r <= k


def string_ranges(doc: str, tree: ast.Module, limit: int = 6) -> list[tuple[str, tuple]]:
    """(label, (l0, c0, l1, c1)) for string literals: with quotes, without, and partial;
    SQL-looking strings first, at most `limit` literals."""
    lines = doc.split("\n")
    lits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            src = ast.get_source_segment(doc, node) or ""
            m = re.match(r"^([rRbBuU]{0,2})('''|\"\"\"|'|\")", src)
            if not m or not src.endswith(m.group(2)) or len(src) < 2 * len(m.group(2)) + 1:
                continue
            sql = bool(re.search(r"\b(select|from|where)\b", node.value, re.I))
            lits.append((not sql, node.lineno, node.col_offset, node, m))
    lits.sort(key=lambda t: t[:3])
    out = []
    for _, _, _, node, m in lits[:limit]:
        l0, c0, l1, c1 = node.lineno - 1, node.col_offset, node.end_lineno - 1, node.end_col_offset
        q = len(m.group(1)) + len(m.group(2))
        out.append(("with quotes", (l0, c0, l1, c1)))
        if c1 - len(m.group(2)) >= 0:
            out.append(("without quotes", (l0, c0 + q, l1, c1 - len(m.group(2)))))
        if l0 == l1 and c1 - c0 > 2 * q + 2:
            mid = (c0 + q + c1 - len(m.group(2))) // 2
            out.append(("partial", (l0, c0 + q + 1, l0, max(c0 + q + 2, mid))))
        elif l1 > l0 and len(lines[l0]) > c0 + q + 1:
            out.append(("partial", (l0, c0 + q + 1, l1, max(0, c1 - len(m.group(2)) - 1))))
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return round(v[lo] + (v[hi] - v[lo]) * (k - lo), 2)


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


# ---------------------------------------------------------------- verifying diagnostics
VERIFY_PRELUDE = r'''
import ast, json, sys, warnings, os, pathlib
warnings.simplefilter("ignore")
import ibis, ibis.expr.types as ir
spec = json.loads(sys.stdin.read())
schemas = spec["schemas"]
con0 = ibis.duckdb.connect()
_made = {}
def _table(name, fallback=None):
    key = name if name in schemas else (fallback if fallback in schemas else None)
    if key is None:
        raise LookupError(f"no schema for {name!r}")
    if key not in _made:
        _made[key] = con0.create_table(key, schema=ibis.schema(schemas[key]), overwrite=True)
    return _made[key]
def _stem(p):
    return pathlib.Path(str(p).split("?")[0]).name.split(".")[0]
def _reader(source=None, *a, table_name=None, **k):
    return _table(table_name or _stem(source), _stem(source))
class _Con:
    def __init__(self, *a, **k): pass
    def table(self, name, *a, **k): return _table(name)
    def list_tables(self, *a, **k): return sorted(schemas)
    def __getattr__(self, name):
        if name.startswith("read_"): return _reader
        return getattr(con0, name)
    @property
    def tables(self):
        class T:
            def __getattr__(s, n): return _table(n)
            def __getitem__(s, n): return _table(n)
        return T()
ibis.duckdb.connect = lambda *a, **k: _Con()
ibis.connect = lambda *a, **k: _Con()
for _n in ("read_parquet", "read_csv", "read_json", "read_delta"):
    setattr(ibis, _n, _reader)
class _Example:
    def __init__(self, name): self.name = name
    def fetch(self, *a, table_name=None, **k): return _table(table_name or self.name, self.name)
class _Examples:
    def __getattr__(self, name): return _Example(name)
ibis.examples = _Examples()
'''

VERIFY_BODY = r"""
import traceback
import signal

# The corpus is other people's code: it may read its inputs and build Ibis expressions, nothing
# more. Python-level writes, deletes, processes and sockets are refused (an audit hook, set
# after the prelude's own setup); C-level writes hit RLIMIT_FSIZE = 0 (EFBIG, not a signal).
_REFUSED = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
            "os.forkpty", "pty.spawn", "socket.connect", "socket.bind", "shutil.rmtree",
            "shutil.move", "shutil.copyfile", "shutil.copytree", "os.remove", "os.rmdir",
            "os.rename", "os.truncate", "os.chmod", "os.chown", "os.symlink", "os.link",
            "os.mkdir", "os.utime", "urllib.Request"}
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _guard(event, args):
    if event in _REFUSED or (event == "open" and len(args) > 2 and (
            any(c in str(args[1] or "") for c in "wax+") or (args[2] or 0) & _WRITE)):
        raise PermissionError(f"the verifier refuses {event}")


signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
sys.addaudithook(_guard)


def check_value(node, ns):
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr, ast.Return)) \
        else None
    try:
        if value is None:
            exec(compile(ast.Module([node], []), "<doc>", "exec"), ns)
            return {"verdict": "ran", "reason": "no value"}
        v = eval(compile(ast.Expression(value), "<doc>", "eval"), ns)
        if isinstance(v, ir.Expr):
            ibis.to_sql(v, dialect="duckdb")
            if isinstance(v, ir.Table):
                try:
                    v.execute(limit=5)
                except Exception:
                    pass
        return {"verdict": "ran", "reason": type(v).__name__}
    except NameError as e:
        return {"verdict": "unverifiable", "reason": f"NameError: {e}"}
    except (ImportError, LookupError, OSError) as e:
        return {"verdict": "unverifiable", "reason": f"{type(e).__name__}: {e}"}
    except BaseException as e:
        mod = type(e).__module__ or ""
        return {"verdict": "fails", "reason": f"{type(e).__name__}: {str(e)[:200]}",
                "ibis_error": mod.startswith("ibis") or isinstance(
                    e, (AttributeError, TypeError, ValueError))}


def call_function(fn, ns, lo, hi):
    # the flagged line is inside a top-level function: call it with the tables its
    # parameters are named after, and see whether it fails on the flagged statement
    if fn.name not in ns:
        return {"verdict": "unverifiable", "reason": "def failed"}
    args = []
    for a in fn.args.args:
        if a.arg not in schemas:
            return {"verdict": "unverifiable", "reason": f"parameter {a.arg!r} has no data"}
        args.append(_table(a.arg))
    try:
        v = ns[fn.name](*args)
        if isinstance(v, ir.Expr):
            ibis.to_sql(v, dialect="duckdb")
        return {"verdict": "ran", "reason": f"{fn.name}(...) ran"}
    except BaseException as e:
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__)
                 if f.filename == "<doc>"]
        if any(lo <= x <= hi for x in lines):
            return {"verdict": "fails", "reason": f"{type(e).__name__}: {str(e)[:200]}",
                    "ibis_error": True}
        return {"verdict": "unverifiable", "reason": f"failed elsewhere: {str(e)[:150]}"}


tree = ast.parse(spec["code"])
todo = [(lo + 1, hi + 1) for lo, hi in spec["lines"]]
results = {}
ns = {"__name__": "__bench__"}
for node in tree.body:
    mine = [(lo, hi) for lo, hi in todo if node.lineno <= lo <= node.end_lineno]
    blocks = (ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.With, ast.If, ast.Try)
    for lo, hi in mine:
        if isinstance(node, ast.FunctionDef):
            continue  # after the def is executed, below
        if isinstance(node, blocks):
            results[lo - 1] = {"verdict": "unverifiable", "reason": "inside a block"}
        else:
            results[lo - 1] = check_value(node, ns)
    try:
        exec(compile(ast.Module([node], []), "<doc>", "exec"), ns)
    except BaseException:
        pass
    for lo, hi in mine:
        if isinstance(node, ast.FunctionDef):
            results[lo - 1] = call_function(node, ns, lo, hi)
for lo, hi in todo:
    results.setdefault(lo - 1, {"verdict": "unverifiable", "reason": "statement not reached"})
print("\n@@RESULT@@" + json.dumps({str(k): v for k, v in results.items()}))
"""


def verify_flagged_many(code: str, lines: list[tuple[int, int]], schemas: dict,
                        timeout: float = 120) -> dict[int, dict]:
    """Run the document's code with real Ibis on an in-memory DuckDB, in order, checking each
    flagged statement (0-based first/last lines) as it is reached; data from `schemas` (empty
    tables), memtable literals as written. A subprocess with limits (memory, CPU, no file
    writes), in an empty folder, whose audit hook refuses writes, deletes, processes and
    sockets: the corpus is third-party code."""
    import resource

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        resource.setrlimit(resource.RLIMIT_CPU, (int(timeout), int(timeout)))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # see VERIFY_BODY

    unknown = {lo: {"verdict": "unverifiable", "reason": ""} for lo, _ in lines}
    with tempfile.TemporaryDirectory(prefix="ibert-verify-") as tmp:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            out = subprocess.run([sys.executable, "-I", "-c", VERIFY_PRELUDE + VERIFY_BODY],
                                 input=json.dumps({"code": code, "lines": sorted(set(lines)),
                                                   "schemas": schemas}),
                                 capture_output=True, text=True, timeout=timeout, cwd=tmp,
                                 env=env, preexec_fn=limits, check=False)
        except subprocess.TimeoutExpired:
            return {k: {**v, "reason": "timeout"} for k, v in unknown.items()}
    m = re.search(r"@@RESULT@@(.*)$", out.stdout, re.M)
    if not m:
        reason = (out.stderr or "no result")[-300:]
        return {k: {**v, "reason": reason} for k, v in unknown.items()}
    return {int(k): v for k, v in json.loads(m.group(1)).items()}


def verify_flagged(code: str, line: int, schemas: dict, timeout: float = 60,
                   end_line: int | None = None) -> dict:
    """verify_flagged_many for one statement."""
    return verify_flagged_many(code, [(line, line if end_line is None else end_line)],
                               schemas, timeout)[line]


def judge(diag: dict, run: dict, hand: list[dict]) -> str:
    """'true', 'false' or 'unknown' for one diagnostic."""
    for v in hand:
        if v.get("statement") and v["statement"] in diag["statement"] and (
                not v.get("message") or v["message"] in diag["message"]):
            return "true" if v["verdict"] == "true" else "false"
    if run.get("verdict") == "ran":
        return "false"
    if run.get("verdict") == "fails" and run.get("ibis_error"):
        return "true"
    return "unknown"


# ------------------------------------------------------------------------ the LSP session
def caps():
    """The shared client capabilities (`ibert_lsp.client`); this client has no progress
    handler and no inline completion requests."""
    from ibert_lsp.client import client_capabilities

    return client_capabilities(inline=False, progress=False)


class Session(BenchSession):
    """The shared bench client (`lsp_session.py`) with completion and hover requests."""

    def __init__(self, cmd: list[str], options: dict | None, cwd: str | None = None):
        super().__init__(cmd, options, caps(), name="ibert-real-code-bench", cwd=cwd)
        self.warm = False  # False until the session's first completion request was made

    async def complete(self, uri: str, line: int, character: int, trigger: str,
                       timeout: float = 10) -> tuple[list, float, str | None]:
        from lsprotocol import types

        t0 = time.perf_counter()
        try:
            res = await asyncio.wait_for(self.client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                    context=types.CompletionContext(
                        trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
                        trigger_character=trigger))), timeout)
        except Exception as exc:  # an error response or a timeout
            return [], (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"[:200]
        ms = (time.perf_counter() - t0) * 1000
        items = res.items if hasattr(res, "items") else (res or [])
        return list(items), ms, None

    async def hover(self, uri: str, line: int, character: int) -> str:
        from lsprotocol import types

        res = await asyncio.wait_for(self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character))), 10)
        if res is None:
            return ""
        c = res.contents
        if isinstance(c, list):
            return "\n".join(getattr(x, "value", str(x)) for x in c)
        return getattr(c, "value", str(c))


def hover_useful(text: str, method: str) -> bool:
    """The hover names the method and shows its signature or some documentation."""
    if not text or method not in text:
        return False
    return f"{method}(" in text or len(re.sub(r"\s+", " ", text)) >= len(method) + 40


# ------------------------------------------------------------------------------ the bench
@dataclass
class FileCase:
    entry: dict
    doc: str
    tree: ast.Module
    stmts: list[Stmt]
    tainted: set[str]
    probes: list[Probe]
    methods: list[tuple[int, int, str]]
    n_statements: int


def load_cases(manifest: dict, args) -> tuple[list[FileCase], list[str]]:
    cases, skipped = [], []
    for e in manifest["files"]:
        if (args.only and args.only not in f"{e['repo']}:{e['path']}") or (
                args.exclude and args.exclude in f"{e['repo']}:{e['path']}"):
            continue
        loc = file_location(e)
        if not loc.exists():
            skipped.append(f"{e['repo']}:{e['path']} (missing: run bench/real_code/rebuild.py)")
            continue
        doc = python_document(loc.read_text(errors="replace"), loc.suffix)
        try:
            tree = ast.parse(doc)
        except SyntaxError as exc:
            skipped.append(f"{e['repo']}:{e['path']} (does not parse: {exc.msg})")
            continue
        stmts, tainted = ibis_statements(tree)
        if not stmts:
            skipped.append(f"{e['repo']}:{e['path']} (no Ibis statements)")
            continue
        probes = spread(call_sites(doc, stmts, tainted), args.max_probes)
        methods = spread(method_sites(doc, stmts, tainted), args.max_hovers)
        cases.append(FileCase(e, doc, tree, stmts, tainted, probes, methods,
                              len(_simple_statements(tree))))
        if args.files and len(cases) >= args.files:
            break
    return cases, skipped


def _diag_dict(d, doc_lines: list[str], stmts: list[Stmt]) -> dict:
    line = d.range.start.line
    owner = next((s for s in stmts if s.line <= line <= s.end_line), None)
    first = owner.line if owner else line
    return {"line": line, "character": d.range.start.character, "message": d.message,
            "code": d.code, "severity": int(d.severity) if d.severity else None,
            "statement_line": first, "statement_end_line": owner.end_line if owner else line,
            "statement": doc_lines[first].strip() if first < len(doc_lines) else ""}


async def run_file(s: Session, case: FileCase, cfg: str, uri: str, args) -> dict:
    from lsprotocol import types

    doc_lines = case.doc.split("\n")
    out: dict = {"config": cfg}
    s.open(uri, case.doc, 1)
    # statements modeled
    t0 = time.perf_counter()
    try:
        st = await asyncio.wait_for(s.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.analysisStats",
                                       arguments=[{"uri": uri}])), 30)
    except Exception as exc:
        st = {"error": str(exc)[:200]}
    out["analysis_s"] = round(time.perf_counter() - t0, 3)
    ibis_lines = {x.line for x in case.stmts}
    modeled = set(st.get("modeled", [])) if isinstance(st, dict) else set()
    out["ibis_statements"] = len(case.stmts)
    out["modeled"] = len(modeled & ibis_lines)
    out["modeled_other"] = len(modeled - ibis_lines)
    if isinstance(st, dict) and st.get("error"):
        out["stats_error"] = st["error"]
    # diagnostics of version 1
    end = time.perf_counter() + 15
    while (uri, 1) not in s.diags and time.perf_counter() < end:
        await asyncio.sleep(0.02)
    diags = s.diags.get((uri, 1))
    out["diagnostics"] = None if diags is None else [
        _diag_dict(d, doc_lines, case.stmts) for d in diags]
    # hover on method names (unchanged document)
    useful, hovers = 0, []
    for line, char, name in case.methods:
        try:
            text = await s.hover(uri, line, char)
            err = None
        except Exception as exc:
            text, err = "", f"{type(exc).__name__}: {exc}"[:200]
        ok = hover_useful(text, name)
        useful += ok
        hovers.append({"line": line, "method": name, "useful": ok, "error": err,
                       "text": text[:160]})
    out["hover"] = {"n": len(case.methods), "useful": useful, "samples": hovers}
    # code actions over ranges (unchanged document)
    out["code_actions"] = await code_actions(s, uri, case, doc_lines, args)
    # completion at call sites
    version, comp = 1, []
    for p in case.probes:
        version += 1
        s.change(uri, cut_document(case.doc, p), version)
        items, ms, err = await s.complete(uri, p.line, p.character, p.trigger)
        rank = hit_rank(items, p.expected)
        s.warm, first = True, not s.warm
        comp.append({"line": p.line, "character": p.character, "trigger": p.trigger,
                     "expected": p.expected, "rank": rank, "n_items": len(items),
                     "ms": round(ms, 2),
                     "error": err, "statement": p.text[:100], "first": first,
                     "top5": [normalize_label(item_texts(it)[0]) for it in ranked(items)[:5]]})
    out["completion"] = comp
    s.close(uri)
    return out


async def code_actions(s: Session, uri: str, case: FileCase, doc_lines: list[str],
                       args) -> dict:
    from lsprotocol import types

    ranges = [("statement", (x.line, x.col, x.end_line, x.end_col)) for x in case.stmts]
    ranges += string_ranges(case.doc, case.tree, args.max_strings)
    n, errors, resolved, resolve_errors, samples = 0, 0, 0, 0, []
    for label, (l0, c0, l1, c1) in ranges:
        n += 1
        rng = types.Range(start=types.Position(line=l0, character=c0),
                          end=types.Position(line=l1, character=c1))
        try:
            acts = await asyncio.wait_for(s.client.text_document_code_action_async(
                types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=uri),
                                       range=rng,
                                       context=types.CodeActionContext(diagnostics=[]))), 20)
        except Exception as exc:
            errors += 1
            samples.append({"range": label, "line": l0, "error": str(exc)[:200]})
            continue
        if label == "statement":
            continue
        for a in acts or []:
            if resolved >= args.max_resolves or not isinstance(a, types.CodeAction):
                break
            if a.edit is None and a.data is not None:
                resolved += 1
                try:
                    await asyncio.wait_for(s.client.code_action_resolve_async(a), 20)
                except Exception as exc:
                    resolve_errors += 1
                    samples.append({"range": label, "line": l0, "title": a.title,
                                    "resolve_error": str(exc)[:200]})
    return {"requests": n, "errors": errors, "resolved": resolved,
            "resolve_errors": resolve_errors, "samples": samples[:5]}


async def run_jedi(cases: list[FileCase]) -> dict | None:
    exe = shutil.which("jedi-language-server") or str(Path(sys.executable).parent /
                                                       "jedi-language-server")
    if not Path(exe).exists():
        return None
    s = Session([exe], None)
    await s.start()
    per: dict[str, list] = {}
    try:
        for i, case in enumerate(cases):
            uri = (Path(tempfile.gettempdir()) / f"ibert_real_jedi_{i}.py").as_uri()
            s.open(uri, case.doc, 1)
            version, rows = 1, []
            for p in case.probes:
                version += 1
                s.change(uri, cut_document(case.doc, p), version)
                items, ms, err = await s.complete(uri, p.line, p.character, p.trigger, 20)
                s.warm, first = True, not s.warm
                rows.append({"rank": hit_rank(items, p.expected), "ms": round(ms, 2),
                             "error": err, "first": first})
            useful = 0
            for line, char, name in case.methods:
                try:
                    useful += hover_useful(await s.hover(uri, line, char), name)
                except Exception:
                    pass
            per[key_of(case.entry)] = {"completion": rows, "hover_useful": useful,
                                       "hover_n": len(case.methods)}
            s.close(uri)
    finally:
        await s.stop()
    return per


def key_of(e: dict) -> str:
    return f"{e['repo']}:{e['path']}"


async def main_async(args) -> dict:
    manifest = json.loads(MANIFEST.read_text())
    errs = validate_manifest(manifest)
    if errs:
        raise SystemExit("manifest invalid:\n  " + "\n  ".join(errs))
    cases, skipped = load_cases(manifest, args)
    print(f"{len(cases)} files, {sum(len(c.stmts) for c in cases)} Ibis statements, "
          f"{sum(len(c.probes) for c in cases)} completion positions; skipped {len(skipped)}",
          flush=True)
    base_opts = {"ibert": {"features": {"model": False}}}
    tmp = Path(tempfile.mkdtemp(prefix="ibert-real-code-"))
    # the server's log goes to a file: pygls' client never reads the server's stderr, and a
    # full pipe would stall the server (IBERT_LOG_LEVEL=INFO fills it in seconds)
    log = Path(args.server_log) if args.server_log else tmp / "ibert-lsp.log"
    s = Session([sys.executable, "-m", "ibert_lsp", "--no-model", "--log-file", str(log)],
                base_opts,
                cwd=str(Path(args.server_root).resolve()) if args.server_root else None)
    t_start = time.perf_counter()
    await s.start()
    print(f"server log: {log}", flush=True)
    results: dict = {"files": {}}
    try:
        await asyncio.sleep(1.0)
        for i, case in enumerate(cases):
            k = key_of(case.entry)
            row = results["files"][k] = {"statements": case.n_statements}
            s.configure(base_opts)
            uri = (tmp / f"zero_{i}.py").as_uri()
            row["zero"] = await run_file(s, case, "zero", uri, args)
            if case.entry.get("schemas"):
                sf = tmp / f"schemas_{i}.json"
                sf.write_text(json.dumps(case.entry["schemas"]))
                s.configure({"ibert": {"features": {"model": False}, "schemaFile": str(sf)}})
                await asyncio.sleep(0.2)
                uri = (tmp / f"schemas_{i}.py").as_uri()
                row["schemas"] = await run_file(s, case, "schemas", uri, args)
            z = row["zero"]
            print(f"[{i + 1}/{len(cases)}] {k}: modeled {z['modeled']}/{z['ibis_statements']}, "
                  f"diags {len(z['diagnostics'] or [])}"
                  + (f"/{len(row['schemas']['diagnostics'] or [])}" if 'schemas' in row else "")
                  + f", ca errors {z['code_actions']['errors']}", flush=True)
    finally:
        await s.stop()
    results["ibert_wall_s"] = round(time.perf_counter() - t_start, 1)
    # verify every diagnostic
    if not args.no_verify:
        for case in cases:
            row = results["files"][key_of(case.entry)]
            diags = [d for cfg in ("zero", "schemas")
                     for d in (row.get(cfg, {}).get("diagnostics") or [])]
            if not diags:
                continue
            runs = verify_flagged_many(
                case.doc, [(d["statement_line"], d["statement_end_line"]) for d in diags],
                case.entry.get("schemas", {}))
            for d in diags:
                d["run"] = runs.get(d["statement_line"], {"verdict": "unverifiable"})
                d["verdict"] = judge(d, d["run"], case.entry.get("verdicts", []))
    if not args.no_jedi:
        t0 = time.perf_counter()
        jedi = await run_jedi(cases)
        results["jedi_wall_s"] = round(time.perf_counter() - t0, 1)
        if jedi:
            for k, v in jedi.items():
                results["files"][k]["jedi"] = v
    results["skipped"] = skipped
    return results


def totals(results: dict) -> dict:
    files = results["files"]
    t: dict = {}
    for cfg in ("zero", "schemas"):
        rows = [r[cfg] for r in files.values() if cfg in r]
        comp = [c for r in rows for c in r["completion"]]
        diags = [d for r in rows for d in (r["diagnostics"] or [])]
        t[cfg] = {
            "files": len(rows),
            "ibis_statements": sum(r["ibis_statements"] for r in rows),
            "modeled": sum(r["modeled"] for r in rows),
            "diagnostics": len(diags),
            "false_diagnostics": sum(d.get("verdict") == "false" for d in diags),
            "unverified_diagnostics": sum(d.get("verdict") in (None, "unknown") for d in diags),
            "completion_positions": len(comp),
            "completion_top5": sum(c["rank"] is not None and c["rank"] <= 5 for c in comp),
            "completion_top1": sum(c["rank"] == 1 for c in comp),
            "completion_empty": sum(c["n_items"] == 0 for c in comp),
            "completion_errors": sum(bool(c["error"]) for c in comp),
            "completion_ms_p50": pct([c["ms"] for c in comp if not c.get("first")], 0.5),
            "completion_ms_p95": pct([c["ms"] for c in comp if not c.get("first")], 0.95),
            "hover_n": sum(r["hover"]["n"] for r in rows),
            "hover_useful": sum(r["hover"]["useful"] for r in rows),
            "code_action_requests": sum(r["code_actions"]["requests"] for r in rows),
            "code_action_errors": sum(r["code_actions"]["errors"]
                                      + r["code_actions"]["resolve_errors"] for r in rows),
        }
        for dot in (".", "("):
            sub = [c for c in comp if c["trigger"] == dot]
            t[cfg][f"completion_top5_after{dot}"] = ratio(
                sum(c["rank"] is not None and c["rank"] <= 5 for c in sub), len(sub))
        t[cfg]["modeled_rate"] = ratio(t[cfg]["modeled"], t[cfg]["ibis_statements"])
        t[cfg]["completion_top5_rate"] = ratio(t[cfg]["completion_top5"],
                                               t[cfg]["completion_positions"])
        t[cfg]["hover_useful_rate"] = ratio(t[cfg]["hover_useful"], t[cfg]["hover_n"])
    jrows = [r["jedi"] for r in files.values() if "jedi" in r]
    if jrows:
        jc = [c for r in jrows for c in r["completion"]]
        t["jedi"] = {
            "completion_positions": len(jc),
            "completion_top5": sum(c["rank"] is not None and c["rank"] <= 5 for c in jc),
            "completion_top5_rate": ratio(sum(c["rank"] is not None and c["rank"] <= 5
                                              for c in jc), len(jc)),
            "completion_ms_p50": pct([c["ms"] for c in jc if not c.get("first")], 0.5),
            "completion_ms_p95": pct([c["ms"] for c in jc if not c.get("first")], 0.95),
            "first_request_ms": next((c["ms"] for c in jc if c.get("first")), None),
            "hover_n": sum(r["hover_n"] for r in jrows),
            "hover_useful": sum(r["hover_useful"] for r in jrows),
            "hover_useful_rate": ratio(sum(r["hover_useful"] for r in jrows),
                                       sum(r["hover_n"] for r in jrows)),
        }
        # same positions as ibert's zero-configuration run (schemas-known positions too)
    return t


def _pc(x) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def table(results: dict) -> str:
    t = results["totals"]
    z, sc, j = t["zero"], t["schemas"], t.get("jedi", {})
    lines = [
        "| measure | ibert, zero config | ibert, schemas known | jedi-language-server | target |",
        "|---|---|---|---|---|",
        f"| files (Ibis statements) | {z['files']} ({z['ibis_statements']}) | {sc['files']} "
        f"({sc['ibis_statements']}) | {z['files']} | |",
        f"| statements modeled | {z['modeled']} ({_pc(z['modeled_rate'])}) | {sc['modeled']} "
        f"({_pc(sc['modeled_rate'])}) | — | ≥ 50% zero config |",
        f"| diagnostics: false / all (unverified) | {z['false_diagnostics']} / {z['diagnostics']}"
        f" ({z['unverified_diagnostics']}) | {sc['false_diagnostics']} / {sc['diagnostics']} "
        f"({sc['unverified_diagnostics']}) | — | 0 false |",
        f"| completion top-5 hit rate | {_pc(z['completion_top5_rate'])} of "
        f"{z['completion_positions']} | {_pc(sc['completion_top5_rate'])} of "
        f"{sc['completion_positions']} | {_pc(j.get('completion_top5_rate'))} of "
        f"{j.get('completion_positions', 0)} | ≥ 50% zero, ≥ 70% schemas |",
        f"| … after `.` / after `(` | {_pc(z['completion_top5_after.'])} / "
        f"{_pc(z['completion_top5_after('])} | {_pc(sc['completion_top5_after.'])} / "
        f"{_pc(sc['completion_top5_after('])} | | |",
        f"| completion: empty answers | {z['completion_empty']} | {sc['completion_empty']} | | |",
        f"| hover useful on method names | {_pc(z['hover_useful_rate'])} of {z['hover_n']} | "
        f"{_pc(sc['hover_useful_rate'])} of {sc['hover_n']} | "
        f"{_pc(j.get('hover_useful_rate'))} of {j.get('hover_n', 0)} | ≥ 80% zero config |",
        f"| code action errors / requests | {z['code_action_errors']} / "
        f"{z['code_action_requests']} | {sc['code_action_errors']} / "
        f"{sc['code_action_requests']} | — | 0 |",
        f"| completion latency p50 / p95 (ms) | {z['completion_ms_p50']} / "
        f"{z['completion_ms_p95']} | {sc['completion_ms_p50']} / {sc['completion_ms_p95']} | "
        f"{j.get('completion_ms_p50')} / {j.get('completion_ms_p95')} | p95 ≤ 50 ms |",
    ]
    return "\n".join(lines)


def per_file_table(results: dict) -> str:
    rows = ["| file | Ibis stmts | modeled (zero) | diags zero/schemas (false) | top-5 zero | "
            "top-5 schemas | top-5 jedi | hover useful |", "|---|---|---|---|---|---|---|---|"]
    for k, r in results["files"].items():
        z = r["zero"]
        scm = r.get("schemas")

        def top5(comp):
            return f"{sum(c['rank'] is not None and c['rank'] <= 5 for c in comp)}/{len(comp)}"

        dz = z["diagnostics"] or []
        ds = (scm or {}).get("diagnostics") or []
        false = sum(d.get("verdict") == "false" for d in dz + ds)
        rows.append(
            f"| {k} | {z['ibis_statements']} | {z['modeled']} | {len(dz)}/"
            f"{len(ds) if scm else '—'} ({false}) | {top5(z['completion'])} | "
            f"{top5(scm['completion']) if scm else '—'} | "
            f"{top5(r['jedi']['completion']) if 'jedi' in r else '—'} | "
            f"{z['hover']['useful']}/{z['hover']['n']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-probes", type=int, default=6, help="completion positions per file")
    p.add_argument("--max-hovers", type=int, default=4, help="hovers per file")
    p.add_argument("--max-strings", type=int, default=4, help="string literals per file")
    p.add_argument("--max-resolves", type=int, default=2, help="code action resolves per file")
    p.add_argument("--files", type=int, default=0, help="only the first N files")
    p.add_argument("--only", default="", help="only files whose repo:path contains this")
    p.add_argument("--exclude", default="", help="skip files whose repo:path contains this")
    p.add_argument("--no-jedi", action="store_true")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--server-root", default="",
                   help="run the server from this checkout (e.g. `git archive <commit>` "
                        "unpacked) instead of this one; it needs ibert.analysisStats")
    p.add_argument("--server-log", default="",
                   help="write ibert-lsp's log here (default: a file in the run's temp folder; "
                        "IBERT_LOG_LEVEL sets its level)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "real_code.json"))
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    results = asyncio.run(main_async(args))
    results["totals"] = totals(results)
    results["wall_s"] = round(time.perf_counter() - t0, 1)
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}
    results["settings"] = {k: v for k, v in vars(args).items() if k != "out"}
    try:
        results["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                                           capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    text = table(results)
    print("\n" + per_file_table(results) + "\n\n" + text)
    results["table"] = text
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(f"\nwrote {args.out} in {results['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
