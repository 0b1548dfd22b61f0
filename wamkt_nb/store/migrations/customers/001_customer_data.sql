-- The customer data that features and segments read: one source of truth in the store.
-- Imported files (customers, their order and interaction history) land in three tables; what
-- customers do afterwards is not copied here but read where the receiver already records it
-- (sends.read_at, inbound_messages, consent, conversions), through views. The views read core
-- tables, which are always migrated before any other component. The import's tables are written
-- and read whole (no per-customer lookups), so they carry no index beyond their keys.
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

-- Interactions from an imported file (before this tool recorded them).
CREATE TABLE interactions (
  customer_id TEXT NOT NULL,
  at          REAL,
  kind        TEXT
);

-- One row per import: what changed, for the columnar snapshots that must notice it.
CREATE TABLE customer_imports (
  import_id    INTEGER PRIMARY KEY,
  imported_at  REAL NOT NULL,
  customers    INTEGER NOT NULL,
  orders       INTEGER NOT NULL,
  interactions INTEGER NOT NULL
);

-- Orders reported after the import (the shop's or the sandbox's conversions); an order that was
-- also imported counts once.
CREATE VIEW flowback_orders AS
SELECT order_id, customer_id, at AS ordered_at, amount, currency, source FROM conversions
WHERE order_id NOT IN (SELECT order_id FROM orders);

-- What customers did with our messages, from the webhooks: reads (status webhooks) and messages
-- from the customer (inbound webhooks): a button or list tap is a 'click'; a message quoting one
-- of ours, or arriving within 24 h after one of ours was delivered, a 'reply'; any other message
-- 'inbound'.
CREATE VIEW flowback_interactions AS
SELECT customer_id, read_at AS at, 'read' AS kind FROM sends WHERE read_at IS NOT NULL
UNION ALL
SELECT c.customer_id, m.timestamp,
       CASE WHEN m.type IN ('button', 'interactive') THEN 'click'
            WHEN m.context_wamid IS NOT NULL OR EXISTS (
                 SELECT 1 FROM sends s WHERE s.phone = m.phone
                   AND s.delivered_at <= m.timestamp AND s.delivered_at > m.timestamp - 86400)
            THEN 'reply'
            ELSE 'inbound' END
FROM inbound_messages m JOIN customers c ON c.phone = m.phone;

-- Every order and every interaction of a customer: the import plus what flowed back.
CREATE VIEW customer_orders AS
SELECT order_id, customer_id, ordered_at, amount, currency, 'import' AS source FROM orders
UNION ALL
SELECT order_id, customer_id, ordered_at, amount, currency, source FROM flowback_orders;

CREATE VIEW customer_interactions AS
SELECT customer_id, at, kind, 'import' AS source FROM interactions
UNION ALL
SELECT customer_id, at, kind, 'webhook' FROM flowback_interactions;
