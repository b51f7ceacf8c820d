"""Files, merge/split/decontamination, mining and a tiny end-to-end run of the pipeline."""

from __future__ import annotations

import json
import textwrap

import pytest

from datagen import pipeline
from datagen.mining import (md_blocks, memtable_schema, parse_repo_list, snippets_from_code,
                            sql_strings)
from datagen.records import AppendLog, iter_jsonl, make_record, read_jsonl, write_jsonl

S = {"orders": {"order_id": "int64", "amount": "float64", "status": "string"}}


def _rec(task="qa", family="fam", domain=None, source="synthetic", q="What?"):
    extra = {"domain": domain} if domain else None
    return make_record(task, {"question": q}, {"answer": "A."}, tables=None, template=family,
                       source=source, features=["qa"], difficulty="easy", family=family,
                       extra_meta=extra)


def test_atomic_write_keeps_the_previous_file_on_failure(tmp_path):
    p = tmp_path / "x.jsonl"
    write_jsonl(p, [{"a": 1}, {"a": 2}])

    def boom():
        yield {"a": 3}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(p, boom())
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    # the corpus is shareable like any file the user writes (not mkstemp's private 0600)
    import os

    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_malformed_lines_are_reported_with_path_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n{"a": \n[1, 2]\n{"a": 3}\n')
    errors: list[str] = []
    assert [r["a"] for r in iter_jsonl(p, errors)] == [1, 3]
    assert errors[0].startswith(f"{p}:2:") and errors[1].startswith(f"{p}:3:")


def test_append_log_resumes_and_ignores_a_cut_line(tmp_path):
    p = tmp_path / "log.jsonl"
    with AppendLog(p) as log:
        log.add("a", [True, "ok"])
        log.add("b", [False, "no"])
    with open(p, "a") as fh:
        fh.write('{"k": "c", "v": [tr')  # a crash mid-write
    log2 = AppendLog(p)
    assert log2.done == {"a": [True, "ok"], "b": [False, "no"]}
    log2.close()


def test_split_rules():
    assert pipeline.assign_split(_rec(family=pipeline.HELD_OUT_FAMILIES[0])) == "test_family"
    assert pipeline.assign_split(_rec(family="filter_compare", domain="sports")) == "test"
    splits = {pipeline.assign_split(_rec(family="filter_compare", domain="ecommerce", q=f"q{i}"))
              for i in range(200)}
    assert splits == {"train", "valid"}


def test_benchmark_queries_are_detected():
    import ibis
    from pathlib import Path

    bench = pipeline.benchmark_shingles()
    assert len(bench) > 40
    q1 = next(Path(ibis.__file__).parent.glob("backends/tests/tpc/queries/duckdb/h/01.sql"))
    rec = make_record("sql_to_ibis", {"sql": q1.read_text()}, {"ibis": "x"}, tables=None,
                      template="m", source="mined", features=[], difficulty="hard", family="m")
    assert pipeline.contaminated(rec, bench)
    clean = make_record("sql_to_ibis", {"sql": "SELECT status, COUNT(*) AS n FROM orders "
                                        "WHERE amount > 10 GROUP BY status"},
                        {"ibis": "orders.group_by('status').agg(n=_.count())"}, tables=None,
                        template="m", source="s", features=[], difficulty="easy", family="m")
    assert not pipeline.contaminated(clean, bench)


def test_mining_extracts_snippets_pairs_and_tables():
    md = textwrap.dedent("""\
        Some text.

        ```sql
        SELECT status, SUM(amount) AS total FROM orders GROUP BY status
        ```

        ```python
        orders = ibis.table({"order_id": "int64", "amount": "float64", "status": "string"}, name="orders")
        orders.group_by("status").agg(total=orders.amount.sum())
        ```
        """)
    blocks = md_blocks(md)
    assert [b[0] for b in blocks] == ["sql", "python"]
    snips = snippets_from_code(blocks[1][1])
    assert snips and snips[0][1] == {"orders": S["orders"] | {"order_id": "int64"}}
    from datagen.mining import pairs_from_blocks

    pairs = pairs_from_blocks(blocks, {})
    assert pairs and pairs[0][0].startswith("SELECT status")
    import ast

    call = ast.parse('ibis.memtable({"a": [1, 2], "b": ["x", None], "c": [1.5, 2]})').body[0].value
    assert memtable_schema(call) == {"a": "int64", "b": "string", "c": "float64"}
    assert sql_strings('t = con.sql("SELECT a FROM t WHERE a > 1")')[0][0].startswith("SELECT a")
    # derived names carry their definitions along
    code = "t = ibis.table({'a': 'int64'}, name='t')\nx = t.filter(t.a > 1)\nx.count()\n"
    last = snippets_from_code(code)[-1][0]
    assert last == "x = t.filter(t.a > 1)\nx.count()"


def test_repo_list_parsing(tmp_path):
    f = tmp_path / "repos.txt"
    f.write_text("# comment\nhttps://github.com/ibis-project/ibis.git|ibis|docs,ibis/tests\n"
                 "/local/path|local|\n")
    assert parse_repo_list(f) == [("https://github.com/ibis-project/ibis.git", "ibis",
                                   ["docs", "ibis/tests"]), ("/local/path", "local", [])]
    f.write_text("just-a-url\n")
    with pytest.raises(ValueError, match=r"repos.txt:1"):
        parse_repo_list(f)


def test_tiny_pipeline_end_to_end_and_resume(tmp_path):
    templates = ["filter_compare", "group_agg", "inner_join", "window_rank",
                 pipeline.HELD_OUT_FAMILIES[0]]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.md").write_text(
        "```python\nt = ibis.table({'x': 'int64', 'y': 'string'}, name='t')\n"
        "t.filter(t.x > 3).group_by('y').agg(n=_.count())\n```\n")
    kw = dict(quick=True, progress=False, workers=2, sources=[str(docs)], include_ibis=True,
              domains=["ecommerce", "sports"], templates=templates, per_domain=2,
              aug_dialect=4, aug_spelling=2, aug_style=2, aug_compose=3, qa_howto=4,
              mine_max_files=3, mine_max_snippets=12)
    st = pipeline.run_all(tmp_path / "out", **kw)
    out = tmp_path / "out"
    for split in pipeline.SPLITS:
        assert (out / f"{split}.jsonl").exists()
    assert st["validation"]["bad"] == 0 and st["validation"]["records"] == st["total"]
    assert set(st["task"]) == {"code_completion", "ibis_to_sql", "sql_to_ibis",
                               "error_resolution", "qa", "documentation"}
    assert st["split"]["test_family"] > 0 and st["split"]["test"] > 0
    fams = {r["meta"]["family"] for r in iter_jsonl(out / "test_family.jsonl")}
    assert fams <= set(pipeline.HELD_OUT_FAMILIES)
    train_fams = {r["meta"]["family"] for r in iter_jsonl(out / "train.jsonl")}
    assert not train_fams & set(pipeline.HELD_OUT_FAMILIES)
    mined = read_jsonl(out / "work" / "mined.jsonl")
    assert any(r["meta"]["provenance"]["file"] == "page.md" for r in mined)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generate-data"]["validated"] > 0
    # a second run resumes: every step is up to date, nothing is recomputed
    before = (out / "train.jsonl").stat().st_mtime_ns
    st2 = pipeline.run_all(out, validate=False, **kw)
    assert st2["timings"] == {}
    assert (out / "train.jsonl").stat().st_mtime_ns == before


def test_validate_command_fails_loudly_on_a_bad_record(tmp_path, capsys):
    from ibert_lsp.cli import main

    good = make_record("code_completion", {"prefix": "orders.filter(orders.amount > ",
                                           "suffix": ")"}, {"completion": "1"},
                       tables=S, template="t", source="s", features=[], difficulty="easy",
                       family="t")
    bad = make_record("code_completion", {"prefix": "orders.filter(orders.amount > ",
                                          "suffix": ")"}, {"completion": "'x'"},
                      tables=S, template="t", source="s", features=[], difficulty="easy",
                      family="t")
    f = tmp_path / "d.jsonl"
    write_jsonl(f, [good])
    assert main(["datagen", "validate-multitask", "--no-progress", "--workers", "1",
                 str(f)]) == 0
    write_jsonl(f, [good, bad])
    assert main(["datagen", "validate-multitask", "--no-progress", "--workers", "1",
                 str(f)]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and bad["id"] in err


def test_mining_reports_malformed_files_by_path_and_line_and_goes_on(tmp_path):
    from datagen.mining import mine

    (tmp_path / "bad.py").write_text("x = 1\ndef broken(:\n")
    (tmp_path / "bad.ipynb").write_text('{"cells": [\n')
    (tmp_path / "good.md").write_text(
        "```python\nt = ibis.table({'x': 'int64'}, name='t')\nt.filter(t.x > 1)\n```\n")
    records, info = mine([str(tmp_path)], include_ibis=False, progress=False, workers=1,
                         work_dir=tmp_path / "work")
    assert any(n.startswith("bad.py:2:") for n in info["notes"]), info["notes"]
    assert any(n.startswith("bad.ipynb:") for n in info["notes"]), info["notes"]
    assert info["snippets_valid"] == 1
    assert records and all(r["meta"]["provenance"]["file"] == "good.md"
                           for r in records if "provenance" in r["meta"])
