"""The analysis on code shaped like real Ibis programs: tables from connections, files and
memtables; names that become unknown; scopes; diagnostics only where the code really fails."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import ibis.expr.types as ir
import pytest

from ibert_lsp.features.hover import describe_name
from ibert_lsp.tasks.analysis import analyze
from ibert_lsp.tasks.completion import complete

FLIGHTS = {"flights": {"arr_delay": "string", "carrier": "string", "dep_delay": "float64"}}


def codes(an) -> list[tuple[int, str]]:
    return [(p.line, p.code) for p in an.problems]


def labels_at(code: str, marker: str, schemas: dict, root: str | None = None) -> list[str]:
    lines = code.split("\n")
    line = next(i for i, t in enumerate(lines) if marker in t)
    character = lines[line].index(marker) + len(marker)
    an = analyze(code, schemas, root=root)
    found = complete(code, line, character, an.schemas, env=an.env_before(line),
                     types=an.types_before(line), use_jedi=False)
    return [c.label for c in found]


def test_builtin_types_in_casts_and_reassignment_follow_the_cast():
    code = ("flights = flights.mutate(arr_delay=_.arr_delay.try_cast(int))\n"
            "late = flights.filter(flights.arr_delay > 30)\n")
    an = analyze(code, FLIGHTS)
    assert codes(an) == []
    assert str(an.env["late"].schema()["arr_delay"]) == "int64"


def test_a_statement_it_cannot_follow_makes_the_name_unknown_not_stale():
    code = ("import mylib\n"
            "flights = mylib.clean(flights)\n"
            "late = flights.filter(flights.arr_delay > 30)\n"
            "late2 = late.filter(late.nope > 1)\n")
    an = analyze(code, FLIGHTS)
    assert codes(an) == []  # with the raw schema line 3 would be a (false) type mismatch
    assert "flights" not in an.env and "late" not in an.env


def test_function_parameters_shadow_configured_tables():
    code = ("def late(flights):\n"
            "    return flights.filter(flights.not_a_column > 1)\n"
            "x = flights.filter(flights.not_a_column > 1)\n")
    an = analyze(code, FLIGHTS)
    assert codes(an) == [(2, "unknown-attribute")]  # only the module-level use is checked


def test_annotated_parameter_is_a_table_for_completion_and_hover():
    code = ("import ibis.expr.types as ir\n"
            "def clean(t: ir.Table) -> ir.Table:\n"
            "    out = t.filter(t.x > 1)\n"
            "    return out.\n")
    assert "group_by" in labels_at(code, "return out.", {})
    an = analyze(code, {})
    assert codes(an) == []
    text, _ = describe_name(code, 2, code.split("\n")[2].index("filter") + 1, {}, {},
                            an.types_before(2))
    assert "Table.filter" in text


def test_two_declarations_of_one_name_apply_from_their_own_lines():
    code = ('t = ibis.table({"a": "string"}, name="t")\n'
            "x = t.a.upper()\n"
            't = ibis.table(dict(user_id="int64"), name="t")\n'
            "y = t.filter(t.user_id > 1)\n"
            "z = t.a\n")
    schemas = {"t": {"user_id": "int64"}}  # what a scan of the whole file would say
    an = analyze(code, schemas)
    assert codes(an) == [(4, "unknown-attribute")]


def test_table_forms_real_code_uses():
    code = ('a = ibis.table(dict(x="string", n="int64"), name="a")\n'
            'b = ibis.table([("x", "string")], name="b")\n'
            'c = ibis.table(ibis.schema({"x": "string"}), name="c")\n'
            "d = a.filter(a.n > 1).select(a.x)\n")
    an = analyze(code, {})
    assert codes(an) == []
    assert {"a", "b", "c", "d"} <= set(an.env)


def test_ibis_underscore_is_the_deferred():
    code = ('t = ibis.table({"amount": "float64"}, name="t")\n'
            "x = t.filter(ibis._.amout > 1)\n"
            "y = t.filter(ibis._.amount > 1)\n")
    an = analyze(code, {})
    assert codes(an) == [(1, "unknown-column")]


def test_values_that_are_not_expressions_are_not_errors():
    code = ('t = ibis.table({"a": "int64"}, name="t")\n'
            "sql = ibis.to_sql(t)\n"
            "cols = t.columns\n"
            "sch = t.schema()\n"
            "def f():\n"
            "    return (t,)\n"
            "def g():\n"
            "    return {'t': t}\n")
    assert codes(analyze(code, {})) == []


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    con = duckdb.connect(str(tmp_path / "f.ddb"))
    con.execute("CREATE TABLE penguins (species VARCHAR, bill_length_mm DOUBLE)")
    con.close()
    duckdb.sql(f"COPY (SELECT 1::BIGINT AS a, 'x' AS b) TO '{tmp_path}/data.parquet' "
               "(FORMAT PARQUET)")
    (tmp_path / "data.csv").write_text("k,v\n1,x\n2,y\n")
    return tmp_path


def test_connections_and_files_inside_the_workspace(workspace: Path):
    before = hashlib.sha256((workspace / "f.ddb").read_bytes()).hexdigest()
    code = ('con = ibis.duckdb.connect("f.ddb")\n'
            'p = con.table("penguins")\n'
            "q = p.filter(p.bill_lenght_mm > 1)\n"
            "r = con.tables.penguins\n"
            'r2 = con.tables["penguins"].species\n'
            'd = ibis.read_parquet("data.parquet")\n'
            "e = d.filter(d.aa > 1)\n"
            'c = con.read_csv("data.csv")\n'
            "c2 = c.k + 1\n"
            'u = ibis.connect("duckdb://f.ddb").table("penguins")\n')
    an = analyze(code, {}, root=str(workspace))
    assert codes(an) == [(2, "unknown-column"), (6, "unknown-column")]
    assert "did you mean 'bill_length_mm'" in an.problems[0].message
    assert {"p", "r", "r2", "d", "c", "c2"} <= set(an.env)
    assert hashlib.sha256((workspace / "f.ddb").read_bytes()).hexdigest() == before
    assert sorted(os.listdir(workspace)) == ["data.csv", "data.parquet", "f.ddb"]


def test_files_outside_the_workspace_or_missing_stay_unknown(workspace: Path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.csv").write_text("password\nhunter2\n")
    code = (f'o = ibis.read_csv("{outside}/secret.csv")\n'
            "o2 = o.filter(o.anything > 1)\n"
            'm = ibis.duckdb.connect("missing.ddb").table("x")\n'
            "m2 = m.filter(m.anything > 1)\n"
            'up = ibis.read_csv("../secret.csv")\n'
            "o.\n")
    an = analyze(code, {}, root=str(workspace))
    assert codes(an) == []
    assert not (workspace / "missing.ddb").exists()
    assert an.types_before(5)["o"] is ir.Table
    assert "filter" in labels_at(code, "o.", {}, root=str(workspace))


def test_memtables_from_literals_and_pandas_literals():
    code = ("import pandas as pd\n"
            'm = ibis.memtable(pd.DataFrame({"k": [1, 2], "v": ["a", "b"]}))\n'
            "n = m.filter(m.kk == 1)\n"
            'r = ibis.memtable([{"x": 1}, {"x": 2}])\n'
            "s = r.x.sum()\n")
    an = analyze(code, {})
    assert codes(an) == [(2, "unknown-column")]
    assert "'k'" in an.problems[0].message and "memtable" not in an.problems[0].message


def test_examples_are_tables_with_unknown_columns():
    code = ("penguins = ibis.examples.penguins.fetch()\n"
            "x = penguins.filter(penguins.species == 'Adelie')\n"
            "g = x.group_by('island')\n"
            "g.\n")
    an = analyze(code, {})
    assert codes(an) == []
    assert "agg" in labels_at(code, "g.", {})


def test_imports_rebinding_gate_names_and_unknown_imports():
    code = ("import ibis.selectors as s\n"
            'import mylib as ibis2\n'
            't = ibis.table({"a": "int64", "b": "string"}, name="t")\n'
            "x = t.select(s.numeric())\n"
            "y = ibis2.anything(t)\n")
    an = analyze(code, {})
    assert codes(an) == []
    assert list(an.env["x"].columns) == ["a"]


def test_settings_describe_example_tables():
    code = ("penguins = ibis.examples.penguins.fetch()\n"
            "t1 = penguins.filter(penguins.species == 'Adelie').sample(fraction=0.1)\n"
            "t2 = penguins.filter(penguins.species == 'Adelie').sample(0.1)\n")
    an = analyze(code, {"penguins": {"species": "string", "year": "int64"}})
    # Ibis 12: `fraction` is positional-only, a real error the user would hit
    assert codes(an) == [(1, "type-mismatch")]


def test_a_call_to_a_function_annotated_to_return_a_table_is_a_table():
    import ibis.expr.types as ir

    code = ("import ibis\n"
            "import ibis.expr.types as ir\n"
            "def load(path: str) -> 'ir.Table':\n"
            "    return ibis.read_parquet(path)\n"
            "def clean(t: ir.Table) -> ir.Table:\n"
            "    return t.filter(t.x > 1)\n"
            "a = load('x.parquet')\n"
            "b = clean(a).mutate(y=1)\n"
            "load = print\n"
            "c = load('x')\n")
    an = analyze(code, {})
    types = an.types_before(9)
    assert types["a"] is ir.Table and types["b"] is ir.Table
    assert an.types_before(10).get("c") is None  # `load` rebound: not the function any more
    assert an.problems == []  # columns unknown: nothing to report


def test_marimo_cells_pass_ibis_and_tables_to_each_other():
    code = ("import marimo\n"
            "app = marimo.App()\n"
            "@app.cell\n"
            "def _():\n"
            "    import ibis\n"
            "    return (ibis,)\n"
            "@app.cell\n"
            "def _(ibis):\n"
            "    t = ibis.table({'a': 'int64', 'b': 'string'}, name='t')\n"
            "    return (t,)\n"
            "@app.cell(hide_code=True)\n"
            "def _(t):\n"
            "    x = t.filter(t.c > 1)\n"
            "    return (x,)\n")
    an = analyze(code, {})
    [p] = an.problems  # `t.c`: t is the table the cell above returned
    assert p.line == 12 and "no column 'c'" in p.message
    code += ("@app.cell\n"
             "def _(t):\n"
             "    y = t.filter(_.d > 1)\n"  # cells named `_` do not hide the deferred `_`
             "    return (y,)\n")
    assert [p.line for p in analyze(code, {}).problems] == [12, 16]


def test_parameters_annotated_with_any_ibis_expression_type():
    from ibert_lsp.tasks.walker import annotation_type

    code = ("import ibis.expr.types as ir\n"
            "from typing import Optional\n"
            "def norm(s: ir.StringValue, t: 'ibis.Table', u: Optional[ir.Table],\n"
            "         c: Column) -> ir.StringValue:\n"
            "    return s.")
    an = analyze(code + "lower()\n", {})
    types = an.types_before(4)
    assert types["s"] is ir.StringValue and types["t"] is ir.Table and types["u"] is ir.Table
    assert "c" not in types  # a bare `Column` may be SQLAlchemy's
    found = complete(code, 4, 13, {}, env=an.env_before(4), types=types, use_jedi=False)
    labels = [c.label for c in found]
    assert "lower" in labels and "members" not in labels  # `s` is the parameter, not selectors
    assert annotation_type(None) is None
