"""Templates, schemas and expansion (no gate needed: pure text work)."""

from __future__ import annotations

import random
import textwrap

from datagen.templates import (Domain, expand, expand_one, load_domains, load_templates, renamed,
                               render)

REQUIRED_FEATURES = {
    "where", "sum", "avg", "min", "max", "count", "count_distinct", "having", "distinct",
    "inner_join", "left_join", "right_join", "outer_join", "semi_join", "anti_join",
    "self_join", "subquery", "scalar_subquery", "cte", "union", "union_all", "intersect",
    "except", "case", "cast", "date", "timestamp", "string", "like", "window", "row_number",
    "rank", "lag", "null", "coalesce", "between", "in", "not_in", "order_by", "limit",
    "stddev", "median",
}


def test_catalog_size_and_coverage():
    errors: list[str] = []
    templates = load_templates(errors=errors)
    assert errors == []
    assert len(templates) >= 40
    domains = load_domains()
    assert len(domains) >= 8
    cands = expand(templates, domains, per_domain=1, seed=0)
    features = {f for c in cands for f in c.features}
    missing = REQUIRED_FEATURES - features
    assert not missing, f"features no template covers: {sorted(missing)}"
    # every template applies to every domain
    per_template = {c.template for c in cands}
    assert per_template == {t.name for t in templates}


def test_malformed_templates_are_reported_by_path_and_line_and_skipped(tmp_path):
    good = textwrap.dedent("""\
        - name: ok_one
          description: select {a} of {t}
          features: [select]
          difficulty: easy
          slots: {a: any}
          sql: SELECT {a} FROM {t}
          ibis: "{t}.select('{a}')"
        - name: bad_one
          description: x
          features: [select]
          difficulty: impossible
          slots: {}
          sql: SELECT 1 FROM {t}
          ibis: "{t}"
        - name: bad_placeholder
          description: x
          features: [select]
          difficulty: easy
          slots: {a: any}
          sql: SELECT {nope} FROM {t}
          ibis: "{t}.select('{a}')"
        """)
    f1 = tmp_path / "a.yaml"
    f1.write_text(good)
    f2 = tmp_path / "b.yaml"
    f2.write_text("- name: x\n  sql: [unclosed\n")
    errors: list[str] = []
    got = load_templates([f1, f2], errors=errors)
    assert [t.name for t in got] == ["ok_one"]
    assert any(e.startswith(f"{f1}:8:") and "difficulty" in e for e in errors), errors
    assert any(e.startswith(f"{f1}:15:") and "{nope}" in e for e in errors), errors
    assert any(e.startswith(f"{f2}:") and "YAML" in e for e in errors), errors


def test_expansion_is_deterministic_and_distinct():
    templates = load_templates()[:10]
    domains = load_domains()
    a = expand(templates, domains, per_domain=3, seed=7)
    b = expand(templates, domains, per_domain=3, seed=7)
    assert [(c.sql, c.ibis) for c in a] == [(c.sql, c.ibis) for c in b]
    keys = [(c.template, c.domain, c.sql, c.ibis) for c in a]
    assert len(keys) == len(set(keys))
    c = expand(templates, domains, per_domain=3, seed=8)
    assert [(x.sql, x.ibis) for x in a] != [(x.sql, x.ibis) for x in c]


def test_rendering_sides_and_styles():
    values = {"m": {"sql": "amount", "py": "amount", "name": "amount", "table": "orders"},
              "op": {"sql": "=", "py": "==", "word": "equal to"}}
    fixed = {"t": "orders"}
    rng = random.Random(0)
    assert render("{t}.filter({@m} {op} 1)", values, fixed, "py", "table", rng) == \
        "orders.filter(orders.amount == 1)"
    assert render("{t}.filter({@m} {op} 1)", values, fixed, "py", "deferred", rng) == \
        "orders.filter(_.amount == 1)"
    assert render("WHERE {m} {op} 1", values, fixed, "sql", "table", rng) == "WHERE amount = 1"
    assert render("is {op.word}", values, fixed, "word", "table", rng) == "is equal to"
    assert render("[[a;;a]]", values, fixed, "sql", "table", rng) == "a"


def test_renamed_domain_keeps_join_keys_consistent():
    domains = load_domains()
    rng = random.Random(1)
    for base in domains.values():
        for _ in range(5):
            d: Domain = renamed(base, rng, col_rate=0.9)
            assert d.fk in d.fact.columns and d.pk in d.dim.columns
            assert (d.fk == d.pk) == (base.fk == base.pk)
            shared = set(d.fact.columns) & set(d.dim.columns)
            assert shared <= {d.fk}


def test_candidates_carry_schemas_of_the_tables_they_use():
    templates = {t.name: t for t in load_templates()}
    dom = load_domains()["ecommerce"]
    rng = random.Random(0)
    single = expand_one(templates["filter_compare"], dom, rng)
    assert set(single.schemas) == {dom.fact.name}
    joined = expand_one(templates["inner_join"], dom, rng)
    assert set(joined.schemas) == {dom.fact.name, dom.dim.name}
    assert joined.slot_specs["b"] == "dim.cat"
