"""The Segments presets counted by one SQL query over the store's own tables, written apart from
``build_features`` and the segment evaluation, so tests can hold the two against each other.

It reads the base tables, not the ``customer_orders`` / ``customer_interactions`` views: imported
orders plus conversions, imported interactions plus reads (``sends.read_at``) plus any message
from the customer (``inbound_messages`` by phone). Order values are in EUR (the sample's currency).
"""

from __future__ import annotations

DAY = 86_400.0

PRESET_SQL = """
WITH o AS (
  SELECT customer_id, ordered_at AS at, amount FROM orders
  UNION ALL
  SELECT customer_id, at, amount FROM conversions WHERE order_id NOT IN (SELECT order_id FROM orders)
), i AS (
  SELECT customer_id, at FROM interactions
  UNION ALL
  SELECT customer_id, read_at FROM sends WHERE read_at IS NOT NULL
  UNION ALL
  SELECT c.customer_id, m.timestamp FROM inbound_messages m JOIN customers c ON c.phone = m.phone
), last_i AS (
  SELECT customer_id, MAX(at) AS last_at FROM i WHERE at <= :now GROUP BY customer_id
), per_o AS (
  SELECT customer_id, AVG(amount) AS aov, SUM(at >= :now - 180 * 86400.0) AS recent
  FROM o WHERE at <= :now GROUP BY customer_id
), tagged AS (
  SELECT c.customer_id,
         COALESCE(p.recent, 0) >= 6 AS frequent,
         COALESCE(p.aov >= 50, 0) AS high_value,
         COALESCE(l.last_at >= :now - 7 * 86400.0, 0) AS active_7d,
         COALESCE(l.last_at < :now - 30 * 86400.0 AND l.last_at >= :now - 90 * 86400.0, 0) AS dormant_30d,
         COALESCE(l.last_at < :now - 90 * 86400.0, 1) AS inactive_90d
  FROM customers c LEFT JOIN last_i l USING (customer_id) LEFT JOIN per_o p USING (customer_id)
)
SELECT SUM(frequent AND NOT inactive_90d) AS frequent_buyers,
       SUM(high_value AND NOT inactive_90d) AS high_order_value,
       SUM(active_7d) AS active_7d,
       SUM(dormant_30d) AS dormant_30d,
       SUM(inactive_90d) AS inactive_90d,
       SUM(high_value AND active_7d) AS high_value_active_7d
FROM tagged
"""


def preset_counts_by_sql(store, now: float) -> dict[str, int]:
    """Preset key -> customers matching it at ``now`` (epoch seconds), straight from the tables."""
    row = store.query(PRESET_SQL, {"now": now})[0]
    return {key: int(row[key] or 0) for key in row.keys()}
