-- Customers with more than two paid orders, biggest spenders first.
SELECT c.name, COUNT(*) AS n_orders, SUM(o.amount) AS total
FROM orders AS o
JOIN customers AS c ON o.customer_id = c.customer_id
WHERE o.status = 'paid'
GROUP BY c.name
HAVING COUNT(*) > 2
ORDER BY total DESC
LIMIT 5
