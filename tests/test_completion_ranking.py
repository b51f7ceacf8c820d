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


def test_a_statement_that_starts_with_a_table_goes_on_with_its_methods():
    # a notebook line `t.` (or `return t.`, or the first line of `x = (`) is `t.head()`,
    # `t.group_by(...)`: methods first; `x = t.` keeps the columns first (issue 16)
    for code in ("flights.", "def f():\n    return flights.", "x = (\n    flights."):
        labels = ranked_in(code, S)
        assert {"head", "group_by", "filter"} <= set(labels[:5]), (code, labels[:8])
        assert labels.index("year") < 10, labels[:12]  # the columns right after them
    assert ranked_in("x = flights.", S)[:3] == ["year", "carrier", "dep_delay"]
    # a table method's result: what real code chains next (`order_by` after `agg`)
    labels = ranked_in('x = flights.group_by("carrier").agg(n=flights.count()).', S)
    assert "order_by" in labels[:3] and "year" not in labels[:5], labels[:8]


def test_ibis_namespace_ranked_for_where_it_is_written():
    assert {"examples", "connect"} <= set(ranked_in("import ibis\nt = ibis.")[:4])
    assert "options" in ranked_in("import ibis\nibis.")[:2]
    # a file's imports and settings are written once: not what it writes next
    code = "import ibis\nimport ibis.selectors as s\nibis.options.interactive = True\nt = ibis."
    labels = ranked_in(code)
    assert labels.index("examples") < 4 and "selectors" not in labels[:5], labels[:8]


def test_ibis_underscore_is_the_deferred_and_count_leads_in_agg():
    labels = ranked_in('x = flights.group_by("carrier").agg(n=ibis._.', S)
    assert labels[0] == "count" and "resolve" not in labels, labels[:6]
    assert ranked_in("x = flights.filter(ibis._.", S) == ["year", "carrier", "dep_delay"]
    # `_.col.` whose table is unknown is still a column: its methods
    labels = ranked_in("x = unknown_table.filter(_.some_col.")
    assert {"isin", "cast"} <= set(labels) and "resolve" not in labels


def test_the_other_table_first_in_join():
    schemas = {**S, "carriers": {"code": "string", "name": "string"}}
    assert ranked_in("x = flights.join(", schemas)[0] == "carriers"
    assert ranked_in("x = flights.union(", schemas)[:2] == ["carriers", "flights"]


def test_a_parameter_an_ibis_only_method_is_called_on_is_a_table():
    code = ("def node(raw):\n"
            "    cleaned = raw.mutate(x=1)\n"
            "    return cleaned.")
    labels = ranked_in(code)
    assert {"filter", "group_by", "select"} <= set(labels[:10]), labels[:10]
    # a pandas-looking function: unknown, nothing offered from Ibis
    assert ranked_in("def node(df):\n    df2 = df.groupby('a')\n    return df2.") == []


def test_multi_line_chains_are_typed():
    from ibert_lsp.tasks.analysis import analyze

    head = ("def q(lineitem):\n"
            "    return (\n"
            "        lineitem.filter(lineitem.a > 1)\n"
            "        .mutate(b=1)\n"
            "        .")
    an = analyze(head + 'order_by("b")\n    )\n', {})  # the last analysis before the `.`
    found = complete(head, 4, 9, {}, env=an.env_before(4), types=an.types_before(4),
                     use_jedi=False)
    labels = [c.label for c in sorted(found, key=lambda c: c.rank)]
    assert "order_by" in labels[:5], labels[:8]


def test_frequency_counts_where_names_are_written(tmp_path):
    from datagen.frequency import count_methods

    (tmp_path / "a.py").write_text(
        "import ibis\n"
        "ibis.options.interactive = True\n"
        "t = ibis.examples.penguins.fetch()\n"
        "t.head()\n"
        "x = t.group_by('species').agg(n=t.count()).order_by('n')\n"
        "def f(t: ibis.Table):\n"
        "    return t.filter(t.year > 1)\n")
    counts = count_methods([tmp_path])["counts"]
    assert counts["table_lead"] == {"head": 1, "filter": 1}
    assert counts["table_chain"] == {"order_by": 1}
    assert counts["ibis_lead"] == {"options": 1}
    assert counts["ibis_assign"] == {"examples": 1}
    assert "options" not in counts["ibis"]  # a setting, not a value anyone completes to
