-- Orders that may be attributed to messages (from the shop/CRM, or the sandbox's simulated customers).
CREATE TABLE conversions (
  order_id    TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  phone       TEXT,
  at          REAL NOT NULL,
  amount      REAL NOT NULL,
  currency    TEXT NOT NULL DEFAULT 'EUR',
  source      TEXT NOT NULL DEFAULT 'shop'    -- shop | crm | sandbox
);
CREATE INDEX conversions_customer_time ON conversions (customer_id, at);
