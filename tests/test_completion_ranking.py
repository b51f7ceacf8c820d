"""Completion ranked for real use: methods by how often real code calls them, columns first
where a column is expected (once each), `agg` first after `group_by(...)`, a column's methods
after `_.col.`."""

from __future__ import annotations

from ibert_lsp.tasks.completion import complete
from ibert_lsp.tasks.ranking import _counts, by_use

S = {"flights": {"year": "int64", "carrier": "string", "dep_delay": "float64"}}


def ranked(code: str) -> list[str]:
    found = complete(code, 0, len(code), S, use_jedi=False)
    return [c.label for c in sorted(found, key=lambda c: c.rank)]  # stable: the client's order


def test_the_shipped_frequency_table_counts_real_calls():
    counts = _counts()
    assert counts["grouped"]["agg"] > counts["grouped"].get("having", 0)
    assert counts["table"]["filter"] > 10 and counts["column"]["sum"] > 5


def test_methods_after_a_column_come_by_use():
    labels = ranked("flights.dep_delay.")
    for common in ("mean", "sum", "max"):
        assert labels.index(common) < 15, (common, labels[:20])
    assert labels.index("sum") < labels.index("approx_median")
    assert by_use(["zzz_unused", "sum"], object) == ["zzz_unused", "sum"]  # not an Ibis value


def test_agg_first_after_group_by():
    labels = ranked('flights.group_by("carrier").')
    assert labels[0] == "agg" and labels.index("aggregate") < 3


def test_columns_first_and_once_where_a_column_is_expected():
    for method in ("select", "group_by", "order_by"):
        labels = ranked(f"flights.{method}(")
        assert labels[:3] == ['"year"', '"carrier"', '"dep_delay"'], (method, labels[:6])
        assert len(labels[:10]) == len(set(labels[:10]))


def test_column_methods_after_deferred_column():
    labels = ranked("flights.filter(_.dep_delay.")
    assert "resolve" not in labels[:20]
    assert "mean" in labels[:10]


def ranked_in(code: str, schemas: dict | None = None) -> list[str]:
    from ibert_lsp.tasks.analysis import analyze

    lines = code.split("\n")
    line = len(lines) - 1
    an = analyze(code, schemas or {})
    found = complete(code, line, len(lines[-1]), schemas or {}, env=an.env_before(line),
                     types=an.types_before(line), use_jedi=False)
    return [c.label for c in sorted(found, key=lambda c: c.rank)]


def test_namespaces_real_code_starts_from():
    assert "connect" in ranked_in("import ibis\ncon = ibis.")[:5]
    assert ranked_in("con = ibis.duckdb.")[0] == "connect"
    assert ranked_in("con = ibis.duckdb.connect(")[0] == "database="
    assert ranked_in("con = ibis.postgres.connect(")[:2] == ["host=", "user="]  # no driver here
    assert ranked_in("t = ibis.examples.")[0] == "penguins"
    assert ranked_in("t = ibis.examples.penguins.") == ["fetch"]
    assert ranked_in('con = ibis.duckdb.connect()\ncon.')[0] == "table"


def test_names_this_file_uses_come_first():
    assert ranked_in("import ibis\n# pip install 'ibis-framework[athena]'\nx = ibis.athena\n"
                     "con = ibis.")[0] == "athena"


def test_new_column_names_first_in_agg():
    labels = ranked("flights.group_by('carrier').agg(")
    assert labels[0] == "count="
    labels = ranked_in("t.agg(total_delay=t.d.sum())\nu.group_by('a').agg(",
                       {"t": {"d": "int64"}, "u": {"a": "string"}})
    assert labels[0] == "total_delay="


def test_unknown_columns_come_from_what_the_file_writes():
    code = ('p = ibis.examples.penguins.fetch()\n'
            'x = p.filter(p.species == "a").select(p.island)\n'
            "y = p.")
    labels = ranked_in(code)
    assert labels[:2] == ["species", "island"] and "filter" in labels
    assert "filte" not in labels
