-- The customer data that features and segments read: one source of truth in the store.
-- Imported files (customers, their order and interaction history) land in three tables; what
-- customers do afterwards is not copied here but read where the receiver already records it
-- (sends.read_at, inbound_messages, consent, conversions), through two views. The views read core
-- tables, which are always migrated before any other component.
-- Times are UTC epoch seconds (REAL); phones E.164 with '+'.

CREATE TABLE customers (
  customer_id TEXT PRIMARY KEY,
  name        TEXT,
  first_name  TEXT,
  last_name   TEXT,
  phone       TEXT,
  email       TEXT,
  language    TEXT,
  timezone    TEXT,
  country     TEXT,
  city        TEXT,
  opted_in    INTEGER,                    -- as imported; a later STOP / START lives in consent
  opt_in_at   REAL,
  signup_at   REAL,
  extra_json  TEXT                        -- the import's further columns, {"column": value}
);
CREATE INDEX customers_phone ON customers (phone);

-- Orders from an imported file (the shop's history); orders reported later go to conversions.
CREATE TABLE orders (
  order_id    TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  ordered_at  REAL,
  amount      REAL,
  currency    TEXT
);
CREATE INDEX orders_customer_time ON orders (customer_id, ordered_at);

-- Interactions from an imported file (before this tool recorded them).
CREATE TABLE interactions (
  customer_id TEXT NOT NULL,
  at          REAL,
  kind        TEXT
);
CREATE INDEX interactions_customer_time ON interactions (customer_id, at);

-- Every order of a customer: imported history plus conversions (the shop's or the sandbox's
-- orders after a message); an order both imported and reported counts once.
CREATE VIEW customer_orders AS
SELECT order_id, customer_id, ordered_at, amount, currency, 'import' AS source FROM orders
UNION ALL
SELECT order_id, customer_id, at, amount, currency, source FROM conversions
WHERE order_id NOT IN (SELECT order_id FROM orders);

-- Every interaction of a customer: imported history, reads of our messages (status webhooks),
-- and messages from the customer (inbound webhooks): a button or list tap is a 'click'; a message
-- quoting one of ours, or arriving within 24 h after one of ours was delivered, a 'reply'; any
-- other message 'inbound'.
CREATE VIEW customer_interactions AS
SELECT customer_id, at, kind, 'import' AS source FROM interactions
UNION ALL
SELECT customer_id, read_at, 'read', 'webhook' FROM sends WHERE read_at IS NOT NULL
UNION ALL
SELECT c.customer_id, m.timestamp,
       CASE WHEN m.type IN ('button', 'interactive') THEN 'click'
            WHEN m.context_wamid IS NOT NULL OR EXISTS (
                 SELECT 1 FROM sends s WHERE s.phone = m.phone
                   AND s.delivered_at <= m.timestamp AND s.delivered_at > m.timestamp - 86400)
            THEN 'reply'
            ELSE 'inbound' END,
       'webhook'
FROM inbound_messages m JOIN customers c ON c.phone = m.phone;
