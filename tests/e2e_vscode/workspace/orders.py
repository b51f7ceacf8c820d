"""Orders and events: the VS Code end-to-end test opens and edits a fresh copy of this file."""
import ibis
from ibis import _  # noqa: F401 - the test types `_.amount.`

orders = ibis.table(
    {"order_id": "int64", "customer_id": "int64", "status": "string", "amount": "float64"},
    name="orders",
)
events = ibis.table(
    {"user_id": "int64", "amount": "float64", "country": "string", "kind": "string"},
    name="events",
)

big = orders.filter(orders.amout > 100)
paid = orders.filter(orders.status == "paid").select("order_id", "amount")
query = "SELECT order_id, amount FROM orders WHERE amount > 10"


def above(t, limit):
    return t.filter(t.amount > limit)
