"""Typical Ibis snippets evaluate and compile; mistakes come back as placed, kind-tagged errors."""

from __future__ import annotations

import ibis
import pytest

from ibert_lsp.validate.checker import check_source
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.safe_eval import compile_sql, evaluate, run

SCHEMAS = {
    "orders": {"id": "int64", "customer_id": "int64", "amount": "float64", "status": "string",
               "ts": "timestamp", "price": "decimal(12, 2)"},
    "customers": {"customer_id": "int64", "name": "string", "region": "string"},
}

TYPICAL = [
    ("orders.filter(orders.amount > 10).select('id', 'amount')", ['WHERE', '"amount" > 10']),
    ("orders.group_by('status').agg(total=_.amount.sum(), n=_.count())", ["GROUP BY", "SUM("]),
    ("orders.join(customers, 'customer_id').select('name', 'amount')", ["INNER JOIN"]),
    ("orders.join(customers, orders.customer_id == customers.customer_id, how='left')",
     ["LEFT OUTER JOIN"]),
    ("orders.mutate(rn=ibis.row_number().over(group_by='status', order_by=ibis.desc('ts')))",
     ["ROW_NUMBER()", "OVER"]),
    ("orders.order_by([ibis.desc('amount'), 'id']).limit(10)", ["ORDER BY", "LIMIT 10"]),
    ("orders.mutate(size=ibis.cases((_.amount > 100, 'big'), else_='small'))", ["CASE"]),
    ("orders.mutate(a=_.amount.cast('int32'))", ["CAST("]),
    ("orders.select(s.numeric())", ['"amount"', '"price"']),
    ("orders.select(s.startswith('cust') | s.of_type('string'))", ['"status"']),
    ("orders.filter(lambda t: t.status.isin(['a', 'b'])).mutate(y=lambda t: t.amount * 2)",
     ["IN ("]),
    ("cols = [c for c in orders.columns if c.endswith('id')]\norders.select(*cols)",
     ['"customer_id"']),
    ("big = orders.filter(_.amount >= 100)\nagg = big.group_by('customer_id').agg(m=_.amount.max())",
     ["MAX("]),
    ("orders.amount.mean()", ["AVG("]),
    ("orders.filter(orders.ts >= ibis.timestamp('2023-01-01')).count()", ["COUNT(*)"]),
    ("orders.mutate(d=_.ts.date(), y=_.ts.year()).distinct()", ["DISTINCT"]),
    ("orders.filter((_.amount > 1) & ~_.status.isnull() | (_.id == 3))", ["NOT"]),
    ("orders.mutate(x=ibis.ifelse(_.amount > 5, 1, 0), z=ibis.coalesce(_.amount, 0))",
     ["COALESCE"]),
    ("orders.select('id').union(orders.select('id'))", ["UNION"]),
    ("orders.group_by('status').agg(n=_.count()).filter(_.n > 2)", ["GROUP BY", "WHERE"]),
    (("w = ibis.window(group_by='status', order_by='ts', preceding=2, following=0)\n"
      "orders.mutate(r=_.amount.mean().over(w))"), ["ROWS BETWEEN"]),
    (f"orders.filter(orders.status.like('a%')).limit(5, offset={2 ** 3})", ["LIKE", "OFFSET"]),
    ("orders.aggregate(by=['status'], total=orders.amount.sum())", ["GROUP BY"]),
    ("orders.mutate(label=ibis.literal(f'{1 + 1}x'))", ["'2x'"]),
]


@pytest.mark.parametrize("code,fragments", TYPICAL, ids=[f"ok{i}" for i in range(len(TYPICAL))])
def test_typical_snippets_evaluate_and_compile(code, fragments):
    expr = evaluate(code, SCHEMAS)
    assert isinstance(expr, ibis.Expr)
    sql = compile_sql(expr)
    for frag in fragments:
        assert frag in sql or frag in sql.replace("\n", " "), (frag, sql)


def test_value_is_last_assignment_or_expression():
    value, env = run("a = orders.count()\nb = orders.filter(_.id > 1)", SCHEMAS)
    assert value.equals(env["b"])
    value, _ = run("x = 1 + 2", SCHEMAS)
    assert value == 3


def test_table_name_reassignment_allowed():
    expr = evaluate("orders = orders.filter(orders.amount > 1)\norders.count()", SCHEMAS)
    assert "WHERE" in compile_sql(expr)


def test_dialects():
    expr = evaluate("orders.select('id').limit(3)", SCHEMAS)
    assert "TOP" in compile_sql(expr, dialect="mssql") or "FETCH" in compile_sql(expr, "mssql")
    with pytest.raises(GateError) as info:
        compile_sql(expr, dialect="postgress")
    assert info.value.kind == "ibis" and "postgres" in info.value.suggestions


def test_unknown_column_attribute_has_suggestion_and_position():
    with pytest.raises(GateError) as info:
        evaluate("x = 1\ny = orders.amout", SCHEMAS)
    err = info.value
    assert err.kind == "attribute"
    assert err.message == "Table 'orders' has no column 'amout'; did you mean 'amount'?"
    assert err.suggestions[0] == "amount"
    assert (err.line, err.col, err.end_col) == (2, 11, 16)


def test_unknown_column_string_is_located_at_the_literal():
    with pytest.raises(GateError) as info:
        evaluate("orders.select('id', 'stauts')", SCHEMAS)
    err = info.value
    assert err.kind == "attribute" and err.suggestions[0] == "status"
    assert "'orders'" in err.message
    assert (err.line, err.col, err.end_col) == (1, 20, 28)


def test_unknown_method_suggests():
    with pytest.raises(GateError) as info:
        evaluate("orders.amount.summ()", SCHEMAS)
    assert info.value.kind == "attribute" and "sum" in info.value.suggestions


def test_type_errors():
    for code in ("orders.filter(orders.status > 1)", "orders.amount + 'a'",
                 "orders.filter(orders.id == 'x')"):
        with pytest.raises(GateError) as info:
            evaluate(code, SCHEMAS)
        assert info.value.kind == "type", (code, info.value.to_dict())


def test_integrity_error_gives_the_underscore_hint():
    with pytest.raises(GateError) as info:
        evaluate("orders.filter(orders.id == 1).group_by('status').agg(n=orders.count())", SCHEMAS)
    assert info.value.kind == "ibis" and "`_`" in info.value.message
    assert "0x" not in info.value.message


def test_syntax_error_position():
    with pytest.raises(GateError) as info:
        evaluate("a = orders\nb = a.filter(a.amount >)", SCHEMAS)
    assert info.value.kind == "syntax" and info.value.line == 2 and info.value.col is not None


def test_name_error_suggests():
    with pytest.raises(GateError) as info:
        evaluate("order.count()", SCHEMAS)
    assert info.value.kind == "name" and info.value.suggestions[0] == "orders"


def test_non_expression_value_is_a_type_error():
    with pytest.raises(GateError) as info:
        evaluate("orders.columns", SCHEMAS)
    assert info.value.kind == "type"


def test_check_source_is_static_only():
    tree = check_source("orders.filter(orders.nonexistent > 1)", {"orders"})
    assert len(tree.body) == 1
    with pytest.raises(GateError):
        check_source("orders.execute()", {"orders"})


def test_error_to_dict_is_complete():
    with pytest.raises(GateError) as info:
        evaluate("orders.amout", SCHEMAS)
    d = info.value.to_dict()
    assert set(d) == {"kind", "message", "line", "col", "end_line", "end_col", "suggestions"}


def test_given_tables_are_used():
    t = ibis.table({"q": "int64"}, name="other")
    expr = evaluate("orders.q.sum()", {"orders": {"q": "int64"}}, tables={"orders": t})
    assert '"other"' in compile_sql(expr)


def test_column_order_follows_the_schema():
    schemas = {"z": {"b": "int64", "a": "string", "c": "float64"}}
    assert list(evaluate("z", schemas).columns) == ["b", "a", "c"]


def test_python_bool_of_expression_explains_operators():
    for code in ("orders.filter(orders.id > 1 and orders.id < 5)",
                 "orders.filter(1 < orders.id < 5)", "orders.filter(not orders.id)"):
        with pytest.raises(GateError) as info:
            evaluate(code, SCHEMAS)
        assert info.value.kind == "type" and "`&`" in info.value.message


def test_deferred_unknown_column_is_located():
    with pytest.raises(GateError) as info:
        evaluate("orders.mutate(x=_.amout + 1)", SCHEMAS)
    err = info.value
    assert err.kind == "attribute" and err.suggestions[0] == "amount"
    assert (err.col, err.end_col) == (18, 23)


def test_bad_cast_is_a_type_error_with_the_reason():
    with pytest.raises(GateError) as info:
        evaluate("orders.amount.cast('nonsense')", SCHEMAS)
    assert info.value.kind == "type" and "nonsense" in info.value.message
    assert "UnboundTable" not in info.value.message


def test_regex_selectors_refuse_backtracking_bombs():
    with pytest.raises(GateError) as info:
        evaluate("orders.select(s.matches('(a+)+$'))", SCHEMAS)
    assert info.value.kind == "forbidden"
    assert "status" in compile_sql(evaluate("orders.select(s.matches('^st'))", SCHEMAS))


def test_columns_named_like_io_prefixes_are_fine():
    schemas = {"r": {"read_date": "date", "from_city": "string", "cache": "int64"}}
    sql = compile_sql(evaluate("r.filter(r.read_date.year() > 2020).select(r.from_city)", schemas))
    assert '"read_date"' in sql and '"from_city"' in sql
    with pytest.raises(GateError) as info:
        evaluate("r.cache", schemas)
    assert info.value.kind == "forbidden" and "['cache']" in info.value.message
    assert "cache" in compile_sql(evaluate("r['cache'] + 1", schemas))


def test_invalid_schema_is_a_gate_error():
    with pytest.raises(GateError) as info:
        evaluate("t", {"t": {"a": "no_such_type"}})
    assert info.value.kind == "type" and "schemas" in info.value.message
