-- The cross-campaign "one marketing message per customer per 24 h" rule.
-- One row per phone: the latest marketing send reserved for it. A reservation is taken right
-- before a marketing send and only succeeds when the previous one is at least 24 h old, in a
-- single atomic upsert, so two campaigns running at the same time cannot both message a customer.
CREATE TABLE marketing_reservations (
  phone        TEXT PRIMARY KEY,
  campaign_id  TEXT NOT NULL,
  reserved_at  REAL NOT NULL
);
CREATE INDEX marketing_reservations_time ON marketing_reservations (reserved_at);
