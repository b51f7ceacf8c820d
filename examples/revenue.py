"""Revenue per country for paid orders: an Ibis expression for `ibert to-sql`."""
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

paid = orders.filter(orders.status == "paid")
(
    paid.join(customers, "customer_id")
    .group_by("country")
    .agg(revenue=_.amount.sum(), n_orders=_.count())
    .order_by(ibis.desc("revenue"))
    .limit(10)
)
