"""The real-code bench's pure helpers (bench/real_code.py) and its corpus manifest; the
method-frequency counter (datagen/frequency.py). Fast: no server, no network."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_bench():
    spec = importlib.util.spec_from_file_location("real_code_bench", ROOT / "bench" /
                                                  "real_code.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["real_code_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


rc = _load_bench()

DOC = '''import ibis
from ibis import _

con = ibis.duckdb.connect("f.ddb")
t = con.table("penguins")
expr = t.filter(t.year > 2008).group_by("species").agg(n=_.count())
df = expr.to_pandas()
print(df.shape)
x = 1 + 2
'''


def test_ibis_statements_follow_names_and_stop_at_materialization():
    tree = ast.parse(DOC)
    stmts, tainted = rc.ibis_statements(tree)
    lines = [s.line for s in stmts]
    # con, t, expr, df (the statement that executes is Ibis), not print(df.shape), not x
    assert lines == [3, 4, 5, 6]
    assert {"con", "t", "expr"} <= tainted
    assert "df" not in tainted and "x" not in tainted


def test_ibis_statements_inside_functions_and_annotated_parameters():
    code = ("import ibis\n\n"
            "def clean(src: ibis.Table) -> ibis.Table:\n"
            "    out = src.mutate(a=src.b + 1)\n"
            "    return out\n\n"
            "def other(v):\n"
            "    return v + 1\n")
    stmts, tainted = rc.ibis_statements(ast.parse(code))
    assert [s.line for s in stmts] == [3, 4]
    assert all(s.in_function for s in stmts)
    assert "src" in tainted and "v" not in tainted


def test_call_sites_after_dot_and_paren_with_expected_tokens():
    tree = ast.parse(DOC)
    stmts, tainted = rc.ibis_statements(tree)
    probes = rc.call_sites(DOC, stmts, tainted)
    got = {(p.trigger, p.expected) for p in probes}
    assert (".", "filter") in got and (".", "group_by") in got and (".", "agg") in got
    assert (".", "year") in got and (".", "count") in got and (".", "table") in got
    assert ("(", "penguins") in got  # con.table("penguins")
    assert ("(", "species") in got  # group_by("species")
    assert ("(", "n") in got  # agg(n=...): the keyword
    assert ("(", "f") not in got  # "f.ddb" is not an identifier an editor completes
    assert not any(p.expected == "shape" for p in probes)  # pandas, not Ibis
    lines = DOC.split("\n")
    for p in probes:  # the cursor sits right after the trigger character
        assert lines[p.line][p.character - 1] == p.trigger


def test_cut_document_keeps_the_prefix_and_the_rest_of_the_file():
    tree = ast.parse(DOC)
    stmts, tainted = rc.ibis_statements(tree)
    p = next(p for p in rc.call_sites(DOC, stmts, tainted)
             if p.trigger == "." and p.expected == "group_by")
    cut = rc.cut_document(DOC, p)
    lines = cut.split("\n")
    assert lines[p.line] == "expr = t.filter(t.year > 2008)."
    assert lines[p.line + 1] == "df = expr.to_pandas()"  # the next statement stays
    assert lines[:p.line] == DOC.split("\n")[:p.line]


def test_cut_document_multiline_statement_drops_the_rest_of_that_statement():
    code = ("import ibis\nt = ibis.table({'a': 'int64'}, name='t')\nr = (\n"
            "    t.filter(t.a > 1)\n    .select('a')\n)\nz = r.a\n")
    stmts, tainted = rc.ibis_statements(ast.parse(code))
    p = next(p for p in rc.call_sites(code, stmts, tainted) if p.expected == "select")
    assert rc.cut_document(code, p) == (
        "import ibis\nt = ibis.table({'a': 'int64'}, name='t')\nr = (\n"
        "    t.filter(t.a > 1)\n    .\nz = r.a\n")


@pytest.mark.parametrize("label,expected,hit", [
    ('"species"', "species", True), ("species", "species", True), ("mean()", "mean", True),
    ("n=", "n", True), ("t.species", "species", False), ("specie", "species", False)])
def test_normalize_and_hit(label, expected, hit):
    assert (rc.normalize_label(label) == expected) is hit


def test_hit_rank_uses_sort_text_and_all_item_texts():
    items = [{"label": "zeta", "sortText": "0"}, {"label": "alpha", "sortText": "2"},
             {"label": "m", "sortText": "1", "insertText": '"mean"'},
             {"label": "x", "sortText": "3", "textEdit": {"newText": "sum()"}}]
    assert rc.hit_rank(items, "zeta") == 1
    assert rc.hit_rank(items, "mean") == 2  # through insertText, after sorting by sortText
    assert rc.hit_rank(items, "alpha") == 3
    assert rc.hit_rank(items, "sum") == 4
    assert rc.hit_rank(items, "max") is None
    assert rc.hit_at(items, "sum", k=5) and not rc.hit_at(items, "sum", k=3)
    many = [{"label": f"m{i:02d}"} for i in range(10)]
    assert not rc.hit_at(many, "m07")  # rank 8: outside the top 5


def test_string_ranges_with_and_without_quotes_and_partial():
    code = 'import ibis\nq = "SELECT a FROM t"\nname = \'x\'\n'
    rs = rc.string_ranges(code, ast.parse(code))
    lines = code.split("\n")

    def text(r):
        l0, c0, l1, c1 = r
        assert l0 == l1
        return lines[l0][c0:c1]

    by = [(lab, text(r)) for lab, r in rs]
    assert by[0] == ("with quotes", '"SELECT a FROM t"')  # SQL-looking strings first
    assert by[1] == ("without quotes", "SELECT a FROM t")
    assert by[2][0] == "partial" and by[2][1] and by[2][1] in "SELECT a FROM t"
    assert ("with quotes", "'x'") in by


def test_python_document_from_quarto_and_notebook():
    qmd = ("---\ntitle: x\n---\n\n```{python}\n#| echo: false\nimport ibis\nt = 1\n```\n\n"
           "text\n\n```python\n!pip install x\nt.foo(\n```\n\n```{python}\nu = t\n```\n")
    doc = rc.python_document(qmd, ".qmd")
    assert "import ibis" in doc and "u = t" in doc
    assert "pip" not in doc and "t.foo(" not in doc  # shell lines and broken cells left out
    nb = json.dumps({"cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "import ibis\n"]},
        {"cell_type": "markdown", "source": "words"},
        {"cell_type": "code", "source": "x = ibis.literal(1)"}]})
    doc = rc.python_document(nb, ".ipynb")
    assert doc.split("\n")[0] == "import ibis" and "x = ibis.literal(1)" in doc


def test_spread_is_even_and_bounded():
    assert rc.spread(list(range(10)), 3) == [0, 3, 6]
    assert rc.spread([1, 2], 5) == [1, 2]


def test_hover_useful():
    assert rc.hover_useful("```python\nTable.filter(self, *predicates)\n```", "filter")
    assert not rc.hover_useful("", "filter")
    assert not rc.hover_useful("Table", "filter")


def test_judge_uses_runs_then_hand_verdicts():
    d = {"statement": "x = t.foo", "message": "no column foo"}
    assert rc.judge(d, {"verdict": "ran"}, []) == "false"
    assert rc.judge(d, {"verdict": "fails", "ibis_error": True}, []) == "true"
    assert rc.judge(d, {"verdict": "unverifiable"}, []) == "unknown"
    hand = [{"statement": "t.foo", "message": "no column", "verdict": "true"}]
    assert rc.judge(d, {"verdict": "unverifiable"}, hand) == "true"


def _entry(**kw):
    e = {"repo": "someone/project", "path": "a.py", "commit": "a" * 40, "license": "MIT",
         "kept": True, "source": "project", "schemas": {}}
    e.update(kw)
    return e


def test_validate_manifest_catches_bad_entries():
    assert rc.validate_manifest({"files": [_entry()]}) == []
    assert rc.validate_manifest({"files": []})
    bad = [
        _entry(commit=""), _entry(repo=""), _entry(license=""), _entry(path=""),
        _entry(repo="NickCrews/mismo"), _entry(repo="ibis-project/ibis-tutorial"),
        _entry(repo="marimo-team/marimo", path="b.py"),
        _entry(repo="ibis-project/ibis", path="ibis/expr/api.py"),
        _entry(kept=True, license="GPL-3.0"), _entry(commit="abc"),
        _entry(schemas={"t": ["a"]}),
    ]
    for e in bad:
        assert rc.validate_manifest({"files": [e]}), e
    dup = [_entry(), _entry()]
    assert any("twice" in x for x in rc.validate_manifest({"files": dup}))


def test_the_committed_manifest_is_valid_and_has_no_reserved_repo():
    manifest = json.loads((ROOT / "bench" / "real_code" / "manifest.json").read_text())
    assert rc.validate_manifest(manifest) == []
    files = manifest["files"]
    projects = [e for e in files if e.get("source") == "project"]
    assert len(projects) >= 15
    assert {e["repo"].lower() for e in files}.isdisjoint(rc.RESERVED)
    for e in files:
        if e.get("source") == "ibis-docs":
            assert e["repo"] == "ibis-project/ibis" and not e["kept"]
        if e["kept"]:  # kept files are in the repository, under a permissive license
            assert (ROOT / "bench" / "real_code" / "files" / e["repo"].replace("/", "+") /
                    e["path"]).is_file()


def test_method_frequency_counter_on_a_small_program(tmp_path):
    from datagen import frequency

    (tmp_path / "a.py").write_text(
        "import ibis\nfrom ibis import _\n"
        "t = ibis.table({'x': 'int64', 's': 'string'}, name='t')\n"
        "u = t.filter(t.x > 1)\n"
        "g = u.group_by('s').agg(m=u.x.mean(), n=_.s.length().sum())\n"
        "v = g.order_by(ibis.desc('m'))\n"
        "w = t.s.upper().lower()\n"
        "import pandas as pd\ndf = pd.DataFrame()\ndf.filter(items=[1])\n")
    table = frequency.count_methods([tmp_path])
    c = table["counts"]
    assert table["format"] == 1 and table["meta"]["files"] == 1
    assert c["table"] == {"filter": 1, "group_by": 1, "order_by": 1}  # not pandas' filter
    assert c["grouped"] == {"agg": 1}
    assert c["column"] == {"mean": 1, "upper": 1, "lower": 1}
    assert c["numeric"] == {"mean": 1} and c["string"] == {"upper": 1, "lower": 1}
    assert c["deferred"] == {"length": 1, "sum": 1}
    assert c["ibis"] == {"table": 1, "desc": 1}


def test_shipped_method_frequency_table_has_the_documented_shape():
    data = json.loads((ROOT / "ibert_lsp" / "data" / "method_frequency.json").read_text())
    assert data["format"] == 1
    for kind in ("column", "table", "grouped", "deferred", "numeric", "string", "temporal",
                 "ibis"):
        assert isinstance(data["counts"][kind], dict)
    assert data["counts"]["grouped"].get("agg", 0) > 0
    assert data["counts"]["table"].get("filter", 0) > 0
    for counts in data["counts"].values():
        values = list(counts.values())
        assert values == sorted(values, reverse=True)


def test_verify_flagged_runs_the_code_with_real_ibis_on_built_data():
    code = ("import ibis\nfrom ibis import _\n"
            "t = ibis.memtable({'a': [1, 2], 's': ['x', 'y']})\n"
            "ok = t.filter(t.a > 1).select('s')\n"
            "bad = t.filter(t.b > 1)\n"
            "p = ibis.examples.penguins.fetch()\n"
            "sql = ibis.to_sql(p.group_by('species').agg(n=_.count()))\n"
            "def f(lineitem):\n"
            "    return lineitem.select('nope')\n"
            "def g(lineitem):\n"
            "    return lineitem.filter(lineitem.l_quantity > 1)\n"
            "def h(other):\n"
            "    return other.x\n")
    schemas = {"penguins": {"species": "string"}, "lineitem": {"l_quantity": "int64"}}
    got = rc.verify_flagged_many(code, [(3, 3), (4, 4), (6, 6), (8, 8), (10, 10), (12, 12)],
                                 schemas)
    assert got[3]["verdict"] == "ran"  # memtable literal data
    assert got[4]["verdict"] == "fails" and got[4]["ibis_error"]  # no column b
    assert got[6]["verdict"] == "ran"  # examples get the recorded schema; to_sql is a value
    assert got[8]["verdict"] == "fails"  # f(lineitem) fails on that line
    assert got[10]["verdict"] == "ran"  # g(lineitem) runs
    assert got[12]["verdict"] == "unverifiable"  # no data for `other`


def test_the_verifier_runs_corpus_code_without_writing_deleting_or_spawning(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    code = ("import ibis, os, shutil, subprocess\n"
            f"open({str(victim)!r}, 'w').write('gone')\n"
            f"os.remove({str(victim)!r})\n"
            f"shutil.rmtree({str(tmp_path)!r})\n"
            "subprocess.run(['true'])\n"
            "t = ibis.memtable({'a': [1]})\n"
            "bad = t.filter(t.b > 1)\n")
    got = rc.verify_flagged_many(code, [(6, 6)], {})
    assert got[6]["verdict"] == "fails"  # the Ibis code still runs and is judged
    assert victim.read_text() == "keep"
