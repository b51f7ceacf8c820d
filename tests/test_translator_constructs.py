"""Each SQL construct the translator covers, checked by execution on DuckDB through the gate."""

from __future__ import annotations

import pytest

from ibert_lsp.tasks.sql_to_ibis import translate

SCHEMAS = {
    "orders": {"id": "int64", "customer_id": "int64", "status": "string", "amount": "float64",
               "created": "date", "ts": "timestamp", "qty": "int64"},
    "customers": {"id": "int64", "name": "string", "city": "string", "score": "int64"},
    "items": {"order_id": "int64", "sku": "string", "price": "decimal(12, 2)"},
}

# (feature it exercises, SQL, a fragment the idiomatic Ibis must contain)
CASES = [
    ("where", "select id, amount from orders where amount > 10", "orders.filter(orders.amount > 10)"),
    ("order_limit", "select id, amount from orders order by amount desc limit 5", ".limit(5)"),
    ("offset", "select id from orders order by id limit 3 offset 2", "offset=2"),
    ("order_hidden", "select id from orders order by created, id limit 4", ".order_by("),
    ("nulls_first", "select id, amount from orders order by amount nulls first, id", "nulls_first=True"),
    ("distinct", "select distinct status from orders", ".distinct()"),
    ("group_by", "select status, count(*) as n from orders group by status", '.group_by("status")'),
    ("having", "select status, count(*) as n from orders group by status having count(*) > 2", ".having("),
    ("having_key", "select status, sum(amount) s from orders group by status having status <> 'a' and sum(amount) > 1",
     ".filter("),
    ("count_distinct", "select status, count(distinct customer_id) as nc from orders group by status", ".nunique()"),
    ("agg_filter", "select status, sum(amount) filter (where qty > 2) as big from orders group by status",
     "where="),
    ("count_filter", "select count(*) filter (where amount > 5) as c from orders", "count(where="),
    ("global_agg", "select count(*) as n, avg(amount) as a, min(created) as first from orders", ".agg("),
    ("agg_expr", "select status, sum(amount) / count(*) as avg_amount from orders group by status", "avg_amount="),
    ("inner_join", "select o.id, c.name from orders o join customers c on o.customer_id = c.id", ".join(customers"),
    ("left_join", "select o.id, c.name from orders o left join customers c on o.customer_id = c.id",
     'how="left"'),
    ("right_join", "select o.id, c.name from orders o right join customers c on o.customer_id = c.id",
     'how="right"'),
    ("full_join", "select o.id, c.name from orders o full join customers c on o.customer_id = c.id",
     'how="outer"'),
    ("cross_join", "select o.id, c.name from orders o cross join customers c where c.score > 3", ".cross_join("),
    ("join_chain", ("select o.id, c.name, i.sku from orders o join customers c on o.customer_id = c.id "
     "join items i on i.order_id = o.id"), ".join(items"),
    ("comma_join", "select o.id, c.name from orders o, customers c where o.customer_id = c.id and c.city = 'x'",
     "orders.customer_id == customers.id"),
    ("using_join", "select id, name, amount from orders join customers using (id)", ".join("),
    ("self_join", "select a.id, b.id as other from customers a join customers b on a.city = b.city and a.id < b.id",
     ".view()"),
    ("join_agg", ("select c.city, count(*) as n, sum(o.amount) as total from orders o join customers c "
     "on o.customer_id = c.id where o.amount > 0 group by c.city"), "_.count()"),
    ("in_list", "select * from orders where status in ('a', 'b')", '.isin(["a", "b"])'),
    ("not_in", "select * from orders where status not in ('a', 'b')", ".notin("),
    ("in_subquery", "select * from orders where customer_id in (select id from customers where city = 'x')",
     ".isin(customers.filter("),
    ("not_in_subquery", "select * from orders where customer_id not in (select id from customers)", "~"),
    ("exists", ("select * from orders o where exists (select 1 from customers c where c.id = o.customer_id "
     "and c.score > 2)"), ".any()"),
    ("not_exists", "select * from orders o where not exists (select 1 from items i where i.order_id = o.id)",
     "~"),
    ("scalar_subquery", "select * from orders where amount > (select avg(amount) from orders)", ".mean()"),
    ("correlated_scalar", ("select id from orders o where amount > (select avg(amount) from orders o2 "
     "where o2.customer_id = o.customer_id)"), ".view()"),
    ("scalar_in_select", "select id, (select max(score) from customers) as ms from orders", ".max()"),
    ("cte", ("with big as (select * from orders where amount > 50) select status, count(*) as n from big "
     "group by status"), "big = "),
    ("derived_table", ("select * from (select customer_id, sum(amount) as total from orders group by customer_id) t "
     "where total > 10"), ".filter(_.total > 10)"),
    ("union", "select id from orders union select id from customers", "distinct=True"),
    ("union_all", "select id from orders union all select id from customers", ".union("),
    ("intersect", "select id from orders intersect select id from customers", ".intersect("),
    ("except", "select id from orders except select id from customers", ".difference("),
    ("union_rename", "select customer_id as k from orders union select id from customers", ".union("),
    ("case", ("select id, case when amount > 10 then 'big' when amount > 5 then 'mid' else 'small' end as size "
     "from orders"), "ibis.cases("),
    ("simple_case", "select id, case status when 'a' then 1 when 'b' then 2 end as code from orders", ".cases("),
    ("cast", "select cast(amount as integer) as a, cast(id as varchar) as s from orders", '.cast("int32")'),
    ("coalesce", "select coalesce(amount, 0) as a from orders", "ibis.coalesce("),
    ("nullif", "select nullif(status, 'x') as s from orders", ".nullif("),
    ("is_null", "select id from orders where amount is null or status is not null", ".isnull()"),
    ("between", "select * from orders where amount between 1 and 100", ".between(1, 100)"),
    ("between_or", "select * from orders where amount between 1 and 5 or qty between 2 and 3", "|"),
    ("like", "select name from customers where name like 'A%'", '.like("A%")'),
    ("not_like", "select name from customers where city not like '%x'", "~customers.city.like("),
    ("ilike", "select name from customers where name ilike 'a%'", ".ilike("),
    ("strings", ("select upper(name) as u, lower(city) as l, length(name) as n, trim(name) as t, "
     "substring(name, 2, 3) as s, replace(name, 'a', 'b') as r from customers"), ".substr(1, 3)"),
    ("concat", "select name || ' ' || city as nc from customers", ".concat("),
    ("concat_fn", "select concat(name, '-', city) as nc from customers", "fill_null"),
    ("extract", ("select extract(year from created) as y, extract(month from created) as m, "
     "extract(dow from created) as d from orders"), ".year()"),
    ("date_trunc", "select date_trunc('month', created) as mo from orders", '.truncate("M")'),
    ("interval", "select created + interval 3 day as d, created - interval '1' month as e from orders",
     "ibis.interval(days=3)"),
    ("date_literal", "select * from orders where created >= date '2020-01-01'", 'ibis.date("2020-01-01")'),
    ("date_diff", "select date_diff('day', created, created + interval 10 day) as dd from orders", ".delta("),
    ("row_number", "select id, row_number() over (partition by status order by amount, id) as rn from orders",
     "ibis.row_number()"),
    ("rank", ("select id, rank() over (order by amount desc) as r, dense_rank() over (order by amount desc) as dr "
     "from orders"), "ibis.rank()"),
    ("lag_lead", ("select id, lag(amount) over (partition by customer_id order by id) as prev, "
     "lead(amount, 2, 0) over (order by id) as nxt from orders"), ".lag("),
    ("running_sum", ("select id, sum(amount) over (partition by customer_id order by id rows between "
     "unbounded preceding and current row) as running from orders"), "rows=(None, 0)"),
    ("default_frame", "select id, sum(amount) over (order by id) as running from orders", "range=(None, 0)"),
    ("moving_avg", ("select id, avg(amount) over (order by id rows between 2 preceding and current row) as ma "
     "from orders"), "rows=(-2, 0)"),
    ("partition_agg", "select id, amount - avg(amount) over (partition by status) as dev from orders", ".over("),
    ("window_over_agg", ("select status, sum(amount) as s, rank() over (order by sum(amount) desc) as r "
     "from orders group by status"), "ibis.rank()"),
    ("arith", "select id, amount * qty as v, amount / qty as r, qty % 3 as m from orders", "orders.amount * orders.qty"),
    ("math", "select abs(amount) as a, round(amount, 1) as r, greatest(amount, 5) as g from orders", ".round(1)"),
    ("decimal_literals", "select * from items where price between 0.06 - 0.01 and 0.06 + 0.01", "0.05"),
    ("null_literal", "select id, null as nothing from orders", "ibis.null()"),
    ("postgres_cast", "select id::text as s from orders", ".cast("),
    ("rollup", "select status, customer_id, sum(amount) as s from orders group by rollup (status, customer_id)",
     'ibis.null().cast("string")'),
    ("grouping", "select status, count(*) as n, grouping(status) as g from orders group by rollup (status)",
     "ibis.literal(1)"),
    ("cube", "select status, qty, count(*) as n from orders group by cube (status, qty)",
     'ibis.null().cast("int64")'),
    ("grouping_sets", ("select status, qty, count(*) as n from orders "
                       "group by grouping sets ((status, qty), (status), ())"), "orders.agg("),
    ("date_add", "select date_add(created, 5) as d from orders", "ibis.interval(days=5)"),
    ("group_key_alias", "select customer_id as cust, count(*) as n from orders group by 1",
     "group_by(cust=_.customer_id)"),
    ("comma_join_order", ("select o.id from orders o, items i, customers c where c.id = o.customer_id "
     "and i.order_id = o.id"), ".join(customers"),
]


@pytest.mark.parametrize(("feature", "sql", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_construct_verified(feature: str, sql: str, fragment: str) -> None:
    res = translate(sql, SCHEMAS)
    assert res.verified, f"{feature}: {res.reason}\n{res.candidate}"
    assert res.ibis is not None and fragment in res.ibis, res.ibis
    assert "_col_" not in res.ibis  # no sqlglot auto-names leak into the output


def test_idiomatic_chain_without_temporaries() -> None:
    sql = ("select status, count(*) as n, sum(amount) as total from orders where amount > 10 "
           "group by status having count(*) > 1 order by n desc")
    res = translate(sql, SCHEMAS)
    assert res.verified
    assert "\n" not in res.ibis  # one method chain, no assignments
    assert res.ibis.startswith('orders.filter(orders.amount > 10).group_by("status")')
    assert "n=_.count()" in res.ibis and "total=_.amount.sum()" in res.ibis


def test_features_reported() -> None:
    res = translate("select status, count(distinct id) as n from orders group by status having count(*) > 1",
                    SCHEMAS)
    assert {"group_by", "having", "count_distinct"} <= set(res.features)
