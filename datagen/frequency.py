"""How often real Ibis code calls each method, by the kind of value it is called on.

    ibert datagen method-frequency [--source DIR_OR_FILE ...] [--out FILE]

Reads Python files, notebooks and Quarto/Markdown code cells (default sources: the Ibis docs in
../shared/corpora/ibis-docs/ and the real-code corpus under bench/real_code/files and
bench/real_code/cache), parses them with `ast` (nothing is run) and follows the values of each
document in order with a small abstract interpretation: tables come from `ibis.table`,
`ibis.memtable`, `ibis.read_*`, `ibis.examples.<name>.fetch()`, a connection's `table`/`read_*`/
`sql`, parameters annotated as Ibis tables, and from Table methods whose annotated return type
is a Table; `group_by` gives a grouped table; `t.col`, `t["col"]` give columns (with the dtype
family when the table's schema is known from the code); `_.col` / `ibis._.col` give deferred
columns; a method's result kind follows Ibis's own return annotations.

Output (`ibert_lsp/data/method_frequency.json`, shipped with the package):

    {"format": 1,
     "meta": {"ibis_version": ..., "files": N, "calls": N, "sources": [...], "kinds": {...}},
     "counts": {"column": {"mean": 41, "sum": 30, ...},     # a Column/Scalar value (t.x, t["x"])
                "table": {...},                            # a Table (also calls on bare `_`)
                "grouped": {...},                          # a GroupedTable (after group_by)
                "deferred": {...},                         # a deferred column: _.x / ibis._.x
                "numeric": {...}, "string": {...},         # columns whose dtype family is
                "temporal": {...}, "boolean": {...},       #   known (also counted in column)
                "ibis": {"_": 12, "connect": 9, ...},      # names used after `ibis.` (values;
                                                           #   not `ibis.options.x = ...`)
                "ibis_lead": {...}, "ibis_assign": {...},  # see meta.kinds
                "table_chain": {...}, ...
                "table_lead": {"head": 40, ...}}}          # first method of a statement that
                                                           #   starts with a table

Each `counts[kind]` maps a public Ibis method name of that kind to how many calls were seen,
highest first; only methods that exist on the installed Ibis class of that kind are counted.
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ibert_lsp.tasks.typeflow import dotted_name

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "ibert_lsp" / "data" / "method_frequency.json"
DEFAULT_SOURCES = (ROOT.parent / "shared" / "corpora" / "ibis-docs",
                   ROOT / "bench" / "real_code" / "files", ROOT / "bench" / "real_code" / "cache")
KINDS = ("column", "table", "grouped", "deferred")
MODULE = "ibis"  # names used after `ibis.` (functions, submodules, `_`)
BACKEND = "backend"  # methods called on a connection (`con.table`, `con.read_parquet`)
BACKEND_MODULE = "backend_module"  # names used after `ibis.<backend>.` (`connect`, ...)
EXAMPLES = "examples"  # datasets fetched from `ibis.examples`
OUTPUT_NAMES = "output_names"  # keyword names of new columns in agg/aggregate/mutate/select
TABLE_LEAD = "table_lead"  # the first method called on a table that starts a statement
TABLE_CHAIN = "table_chain"  # methods called on the result of a Table method (`.agg(...).x`)
IBIS_LEAD = "ibis_lead"  # the name after `ibis.` when a statement starts with it
IBIS_ASSIGN = "ibis_assign"  # the name after `ibis.` when an assigned value starts with it
OUTPUT_METHODS = ("agg", "aggregate", "mutate", "select", "group_by")
FAMILIES = ("numeric", "string", "temporal", "boolean")
EXTS = (".py", ".ipynb", ".qmd", ".md")
READERS = {"read_parquet", "read_csv", "read_json", "read_delta", "read_geo", "read_xlsx",
           "table", "sql", "create_table", "create_view", "memtable"}


@dataclass(frozen=True)
class Info:
    kind: str  # table | grouped | column | deferred | deferred_root | ibis | backend
    family: str | None = None
    schema: tuple | None = None  # ((column, dtype), ...) for tables
    path: str = ""  # dotted path for kind == "ibis" (e.g. "ibis.examples.penguins")


def dtype_family(dtype: str | None) -> str | None:
    if not dtype:
        return None
    t = dtype.lower().lstrip("!")
    if t.startswith(("int", "uint", "float", "decimal", "double")):
        return "numeric"
    if t.startswith("string") or t == "str":
        return "string"
    if t.startswith(("timestamp", "date", "time", "interval")):
        return "temporal"
    if t.startswith(("bool",)):
        return "boolean"
    return None


def _annotation_family(ann: str) -> str | None:
    for fam, words in (("numeric", ("Numeric", "Integer", "Floating", "Decimal")),
                       ("string", ("String",)),
                       ("temporal", ("Timestamp", "Date", "Time", "Interval")),
                       ("boolean", ("Boolean",))):
        if any(w in ann for w in words):
            return fam
    return None


class IbisApi:
    """Public method names and return annotations of the installed Ibis classes."""

    def __init__(self) -> None:
        import ibis.expr.types as ir
        from ibis.expr.types.groupby import GroupedTable

        self.table_cls, self.grouped_cls = ir.Table, GroupedTable
        self.value_classes = [c for c in vars(ir).values()
                              if isinstance(c, type) and issubclass(c, ir.Value)]
        self.family_classes = {
            "numeric": [ir.NumericColumn, ir.NumericScalar, ir.IntegerColumn,
                        ir.FloatingColumn, ir.DecimalColumn],
            "string": [ir.StringColumn, ir.StringScalar],
            "temporal": [ir.TimestampColumn, ir.DateColumn, ir.TimeColumn, ir.IntervalColumn],
            "boolean": [ir.BooleanColumn, ir.BooleanScalar],
        }
        self.table = self._public(ir.Table)
        self.grouped = self._public(GroupedTable)
        self.value = set().union(*(self._public(c) for c in self.value_classes))
        import ibis

        self.module = {n for n in dir(ibis) if not n.startswith("__")}
        from importlib.metadata import entry_points

        from ibis.backends import BaseBackend

        self.backends = {ep.name for ep in entry_points(group="ibis.backends")}
        self.backend = self._public(BaseBackend)

    @staticmethod
    def _public(klass) -> set[str]:
        return {n for n in dir(klass)
                if not n.startswith("_") and callable(getattr(klass, n, None))}

    def methods(self, kind: str) -> set[str]:
        return {"table": self.table, "grouped": self.grouped}.get(kind, self.value)

    def returns(self, kind: str, method: str, family: str | None) -> Info | None:
        """The Info of `receiver.method(...)` from Ibis's return annotation."""
        if kind == "table":
            classes = [self.table_cls]
        elif kind == "grouped":
            classes = [self.grouped_cls]
        else:
            classes = self.family_classes.get(family or "", []) + self.value_classes
        ann = None
        for c in classes:
            fn = getattr(c, method, None)
            if fn is not None:
                ann = str(getattr(fn, "__annotations__", {}).get("return", ""))
                break
        if ann is None:
            return None
        if "GroupedTable" in ann:
            return Info("grouped")
        if ann.split(".")[-1] in ("Table", "Self") and kind == "table":
            return Info("table")
        if ann.split(".")[-1] == "Table":
            return Info("table")
        if kind in ("column", "deferred") and any(
                w in ann for w in ("Value", "Column", "Scalar", "Self", "Expr")):
            fam = family if ann == "Self" else _annotation_family(ann)
            return Info(kind, fam)
        if kind in ("table", "grouped") and any(w in ann for w in ("Value", "Column", "Scalar")):
            return Info("column", _annotation_family(ann))
        return None


EXAMPLE_SCHEMAS = {
    "penguins": (("species", "string"), ("island", "string"), ("bill_length_mm", "float64"),
                 ("bill_depth_mm", "float64"), ("flipper_length_mm", "int64"),
                 ("body_mass_g", "int64"), ("sex", "string"), ("year", "int64")),
}


def _literal_schema(node: ast.AST) -> tuple | None:
    """ibis.schema/ibis.table literal: {"a": "int64"} / dict(a="int64") / [("a", "int64")]."""
    if isinstance(node, ast.Call) and dotted_name(node.func) in ("ibis.schema", "dict"):
        if node.keywords and not node.args:
            pairs = [(k.arg, k.value) for k in node.keywords if k.arg]
        elif node.args:
            return _literal_schema(node.args[0])
        else:
            return None
    elif isinstance(node, ast.Dict):
        pairs = list(zip(node.keys, node.values))
    elif isinstance(node, (ast.List, ast.Tuple)):
        pairs = [tuple(e.elts) for e in node.elts if isinstance(e, ast.Tuple) and len(e.elts) == 2]
    else:
        return None
    out = []
    for k, v in pairs:
        k = k.value if isinstance(k, ast.Constant) else k
        if isinstance(k, str) and isinstance(v, ast.Constant) and isinstance(v.value, str):
            out.append((k, v.value))
    return tuple(out) or None


class Counter4:
    def __init__(self, api: IbisApi):
        self.api = api
        self.counts: dict[str, Counter] = {
            k: Counter() for k in (*KINDS, *FAMILIES, MODULE, BACKEND, BACKEND_MODULE,
                                   EXAMPLES, OUTPUT_NAMES, TABLE_LEAD, TABLE_CHAIN,
                                   IBIS_LEAD, IBIS_ASSIGN)}
        self.calls = 0
        self.target = False  # inside an assignment target (`ibis.options.x = ...`)

    # ------------------------------------------------------------------ expressions
    def info(self, node: ast.AST, env: dict[str, Info]) -> Info | None:
        m = getattr(self, "_" + type(node).__name__, None)
        if m is not None:
            return m(node, env)
        for child in ast.iter_child_nodes(node):
            self.info(child, env)
        return None

    def _Name(self, node, env):
        if node.id == "_" and node.id not in env:
            return Info("deferred_root")
        return env.get(node.id)

    def _Attribute(self, node, env):
        v = self.info(node.value, env)
        if v is None:
            return None
        if v.kind == "ibis":
            path = f"{v.path}.{node.attr}"
            self._module_name(v, node.attr)
            return Info("deferred_root") if path == "ibis._" else Info("ibis", path=path)
        if v.kind == "table" and node.attr not in self.api.table:
            fam = dtype_family(dict(v.schema or ()).get(node.attr))
            return Info("column", fam)
        if v.kind == "deferred_root" and node.attr not in ("resolve",):
            return Info("deferred")
        return None

    def _Subscript(self, node, env):
        v = self.info(node.value, env)
        self.info(node.slice, env)
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if v is None:
            return None
        if v.kind == "table" and isinstance(key, str):
            return Info("column", dtype_family(dict(v.schema or ()).get(key)))
        if v.kind == "table" and isinstance(node.slice, (ast.List, ast.Tuple)):
            return Info("table")
        if v.kind == "deferred_root" and isinstance(key, str):
            return Info("deferred")
        return None

    def _Call(self, node, env):
        for a in node.args:
            self.info(a, env)
        for k in node.keywords:
            self.info(k.value, env)
        func = node.func
        if not isinstance(func, ast.Attribute):
            self.info(func, env)
            return None
        v = self.info(func.value, env)
        meth = func.attr
        if v is None:
            return None
        if v.kind == "ibis":
            path = f"{v.path}.{meth}"
            self._module_name(v, meth)
            parts = path.split(".")
            if len(parts) == 3 and parts[1] in self.api.backends:  # ibis.duckdb.connect
                self.counts[BACKEND_MODULE][meth] += 1
            if path in ("ibis.table", "ibis.memtable"):
                return Info("table", schema=self._call_schema(node))
            if path.startswith("ibis.read_"):
                return Info("table")
            if path.startswith("ibis.examples.") and meth == "fetch":
                self.counts[EXAMPLES][path.split(".")[2]] += 1
                return Info("table", schema=EXAMPLE_SCHEMAS.get(path.split(".")[2]))
            if path in ("ibis.connect",) or (path.startswith("ibis.") and meth == "connect"):
                return Info("backend")
            return None
        if v.kind == "backend":
            if meth in self.api.backend:
                self.counts[BACKEND][meth] += 1
            return Info("table") if meth in READERS or meth.startswith("read_") or meth in (
                "table", "sql", "create_table", "create_view") else None
        kind = {"deferred_root": "table"}.get(v.kind, v.kind)
        if kind not in KINDS or meth not in self.api.methods(kind):
            return None
        if kind in ("table", "grouped") and meth in OUTPUT_METHODS:
            for k in node.keywords:  # `agg(n=...)`: the names people give new columns
                if k.arg:
                    self.counts[OUTPUT_NAMES][k.arg] += 1
        self.calls += 1
        self.counts[kind][meth] += 1
        if kind == "table" and isinstance(func.value, ast.Call):
            self.counts[TABLE_CHAIN][meth] += 1
        if kind == "column" and v.family:
            self.counts[v.family][meth] += 1
        res = self.api.returns(kind, meth, v.family)
        if v.kind == "deferred_root" and res is not None and res.kind == "column":
            return Info("deferred", res.family)
        if res is not None and res.kind == "table" and v.kind == "table" and meth in (
                "filter", "order_by", "limit", "head", "distinct", "cache", "alias",
                "sample", "view"):
            return Info("table", schema=v.schema)  # same columns
        return res

    def _lead(self, node: ast.AST, env: dict[str, Info]) -> None:
        """`t.head(3)` / `return t.filter(...).select(...)`: a statement that starts with a
        table goes on with these methods (counted apart: there a column is rarely next)."""
        while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                v = env.get(node.value.id)
                if v is not None and v.kind == "table" and node.attr in self.api.table:
                    self.counts[TABLE_LEAD][node.attr] += 1
                return
            node = node.func if isinstance(node, ast.Call) else node.value

    def _ibis_lead(self, node: ast.AST, env: dict[str, Info], kind: str = IBIS_LEAD) -> None:
        """`ibis.set_backend(...)` / `ibis.options.x = ...` on a line of its own (IBIS_LEAD),
        `t = ibis.examples...` (IBIS_ASSIGN)."""
        while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                v = env.get(node.value.id)
                if v is not None and v.kind == "ibis" and v.path == "ibis" and (
                        node.attr in self.api.module):
                    self.counts[kind][node.attr] += 1
                return
            node = node.func if isinstance(node, ast.Call) else node.value

    def _module_name(self, v: Info, name: str) -> None:
        # `ibis.options.interactive = True` sets an option: not a value anyone completes to
        if v.path == "ibis" and name in self.api.module and not self.target:
            self.counts[MODULE][name] += 1

    def _call_schema(self, node: ast.Call) -> tuple | None:
        if node.args:
            first = node.args[0]
            if isinstance(first, ast.Dict) and all(isinstance(v, (ast.List, ast.Tuple))
                                                   for v in first.values):
                from datagen.mining import memtable_schema

                sch = memtable_schema(node)
                return tuple(sch.items()) if sch else None
            return _literal_schema(first)
        for k in node.keywords:
            if k.arg == "schema":
                return _literal_schema(k.value)
        return None

    def _BinOp(self, node, env):
        a, b = self.info(node.left, env), self.info(node.right, env)
        for x in (a, b):
            if x is not None and x.kind in ("column", "deferred"):
                fams = {y.family for y in (a, b) if y is not None}
                return Info(x.kind, "numeric" if fams <= {"numeric", None} and
                            "numeric" in fams else None)
        return None

    def _Compare(self, node, env):
        infos = [self.info(x, env) for x in (node.left, *node.comparators)]
        for x in infos:
            if x is not None and x.kind in ("column", "deferred"):
                return Info(x.kind, "boolean")
        return None

    def _BoolOp(self, node, env):
        infos = [self.info(x, env) for x in node.values]
        return next((x for x in infos if x is not None and x.kind in ("column", "deferred")),
                    None)

    def _UnaryOp(self, node, env):
        return self.info(node.operand, env)

    def _Lambda(self, node, env):
        inner = dict(env)
        for a in node.args.args:
            inner[a.arg] = Info("table")  # Ibis lambdas receive the table
        self.info(node.body, inner)

    # ------------------------------------------------------------------- statements
    def run(self, body: list[ast.stmt], env: dict[str, Info]) -> None:
        for st in body:
            if isinstance(st, ast.Import):
                for a in st.names:
                    if a.name.split(".")[0] == "ibis":
                        env[(a.asname or a.name).split(".")[0]] = Info(
                            "ibis", path="ibis" if not a.asname else a.name)
            elif isinstance(st, ast.ImportFrom) and (st.module or "").split(".")[0] == "ibis":
                for a in st.names:
                    if st.module == "ibis" and a.name == "_":
                        env.pop(a.asname or "_", None)  # `_` is the deferred root
                    elif st.module == "ibis":
                        env[a.asname or a.name] = Info("ibis", path=f"ibis.{a.name}")
            elif isinstance(st, (ast.Assign, ast.AnnAssign)):
                value = st.value
                for t in (st.targets if isinstance(st, ast.Assign) else [st.target]):
                    self._ibis_lead(t, env)
                if value is None:
                    continue
                self._ibis_lead(value, env, IBIS_ASSIGN)
                res = self.info(value, env)
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        if res is None:
                            env.pop(t.id, None)
                        else:
                            env[t.id] = res
                    else:
                        self.target = True
                        try:
                            self.info(t, env)
                        finally:
                            self.target = False
            elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = dict(env)
                for a in st.args.args + st.args.kwonlyargs:
                    ann = ast.unparse(a.annotation) if a.annotation is not None else ""
                    if ann.split(".")[-1].strip("'\"") == "Table":
                        inner[a.arg] = Info("table")
                    else:
                        inner.pop(a.arg, None)
                self.run(st.body, inner)
            elif isinstance(st, ast.ClassDef):
                self.run(st.body, dict(env))
            else:
                if isinstance(st, (ast.Expr, ast.Return)) and st.value is not None:
                    self._lead(st.value, env)
                    self._ibis_lead(st.value, env)
                for name in ("test", "iter", "value", "items", "context_expr", "exc"):
                    sub = getattr(st, name, None)
                    if isinstance(sub, ast.AST):
                        self.info(sub, env)
                for item in getattr(st, "items", []) or []:
                    self.info(item.context_expr, env)
                for name in ("body", "orelse", "finalbody"):
                    sub = getattr(st, name, None)
                    if isinstance(sub, list):
                        self.run(sub, env)
                for h in getattr(st, "handlers", []) or []:
                    self.run(h.body, env)


def python_of(path: Path) -> str:
    """The Python code of a file: as is, or a notebook's / Quarto's code cells joined."""
    from datagen.mining import md_blocks, notebook_blocks

    text = path.read_text(errors="replace")
    if path.suffix == ".py":
        return text
    blocks = notebook_blocks(text) if path.suffix == ".ipynb" else md_blocks(text)
    cells = []
    for lang, body, _ in blocks:
        if lang not in ("python", "py", "ipython", "python3"):
            continue
        body = "\n".join(x for x in body.splitlines() if not x.lstrip().startswith(("%", "!")))
        try:
            ast.parse(body)
        except SyntaxError:
            continue
        cells.append(body)
    return "\n\n".join(cells)


def iter_files(sources: list[Path]) -> list[Path]:
    out = []
    for src in sources:
        if src.is_file():
            out.append(src)
        elif src.is_dir():
            out.extend(p for p in sorted(src.rglob("*")) if p.suffix in EXTS and p.is_file())
    return out


def count_methods(sources: list[Path]) -> dict[str, Any]:
    """The frequency table (see the module docstring) over the files under `sources`."""
    import ibis

    api = IbisApi()
    counter = Counter4(api)
    n_files = 0
    for path in iter_files(sources):
        code = python_of(path)
        if "ibis" not in code:
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        n_files += 1
        counter.run(tree.body, {})
    counts = {k: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
              for k, c in counter.counts.items()}

    def rel(p: Path) -> str:
        try:
            return str(p.resolve().relative_to(ROOT.parent.resolve()))
        except ValueError:
            return str(p)

    return {"format": 1,
            "meta": {"ibis_version": ibis.__version__, "files": n_files,
                     "calls": counter.calls,
                     "sources": [rel(s) for s in sources if s.exists()],
                     "kinds": {"column": "Column/Scalar values (t.x, t['x'], results of "
                                         "value methods)",
                               "table": "Table values (and calls on a bare `_`)",
                               "grouped": "GroupedTable values (after group_by)",
                               "deferred": "deferred columns (_.x, _['x'], ibis._.x)",
                               "numeric|string|temporal|boolean":
                                   "columns of that dtype family (also in 'column')",
                               "ibis": "names used after `ibis.` (functions, submodules, _)",
                               "backend": "methods called on a connection (con.table, ...)",
                               "backend_module": "names used after ibis.<backend>. (connect)",
                               "examples": "datasets fetched with ibis.examples.<name>.fetch()",
                               "output_names": "keyword names in agg/aggregate/mutate/select/"
                                               "group_by calls (new columns)",
                               "table_lead": "the first method called on a table that starts "
                                             "a statement (`t.head()`, `return t.filter(...)`)",
                               "table_chain": "methods called on the result of a Table method "
                                              "(`t.group_by(...).agg(...).order_by`)",
                               "ibis_lead": "the name after `ibis.` when a statement starts "
                                            "with it (`ibis.options.x = ...`, "
                                            "`ibis.set_backend(...)`)",
                               "ibis_assign": "the name after `ibis.` when an assigned value "
                                              "starts with it (`t = ibis.examples...`)"}},
            "counts": counts}


def is_frequency_table(path: Path) -> bool:
    """Whether `path` holds a table this command wrote (the only file it may replace)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == 1 and isinstance(
        data.get("counts"), dict) and isinstance(data.get("meta"), dict)


def write(sources: list[Path] | None = None, out: Path = DEFAULT_OUT) -> dict[str, Any]:
    sources = list(sources) if sources else [s for s in DEFAULT_SOURCES if s.exists()]
    table = count_methods(sources)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    return table
