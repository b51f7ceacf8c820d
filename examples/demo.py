"""ibert demo: an Ibis analysis with the mistakes people make; open it in an editor with ibert."""
import ibis
from ibis import _

orders = ibis.table(
    {"order_id": "int64", "customer_id": "int64", "status": "string",
     "amount": "float64", "created_at": "timestamp"},
    name="orders",
)
customers = ibis.table(
    {"customer_id": "int64", "name": "string", "country": "string", "signup_date": "date"},
    name="customers",
)

# a typo in a column name: ibert says "did you mean 'amount'?" and offers the fix
big_orders = orders.filter(orders.amout > 100)

# comparing an integer column with a string
first_customer = customers.filter(customers.customer_id == "1")

# pandas habits
by_status = orders.groupby("status").agg(n=_.count())
recent = orders[orders.created_at > ibis.date("2024-01-01")]

paid = orders.filter(orders.status == "paid")
revenue = (
    paid.join(customers, "customer_id")
    .group_by("country")
    .agg(revenue=_.amount.sum(), n_orders=_.count())
    .order_by(ibis.desc("revenue"))
)

# SQL someone pasted from a dashboard: "Convert SQL to Ibis" turns it into checked Ibis
top_sql = """
SELECT customer_id, SUM(amount) AS total
FROM orders
WHERE status = 'paid'
GROUP BY customer_id
ORDER BY total DESC
LIMIT 5
"""


def paid_revenue_by_country(orders, customers):
    return (
        orders.filter(orders.status == "paid")
        .join(customers, "customer_id")
        .group_by("country")
        .agg(revenue=_.amount.sum())
    )


# how do I count rows per group?
