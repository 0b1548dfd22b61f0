-- Customer identities: a customer is a phone, a business-scoped user ID (BSUID) or both.
-- Since 2026 Meta may identify a WhatsApp user who adopted a username by a BSUID alone
-- (docs/cloud-api.md). Every table keyed by customer (sends, inbound_messages, consent,
-- service_windows, replies, the auto-reply tables, marketing_reservations, conversions) keeps its
-- `phone` column but holds the customer key in it: the phone if known, else the BSUID. When a
-- webhook shows that a BSUID and a phone are one customer, the rows under the BSUID move to the
-- phone (wamkt_nb/identities.py).

CREATE TABLE identities (
  wa_key       TEXT PRIMARY KEY,            -- the customer key: phone (E.164) if known, else the BSUID
  phone        TEXT UNIQUE,
  bsuid        TEXT UNIQUE,
  parent_bsuid TEXT,
  username     TEXT,                        -- the WhatsApp username, personal data
  updated_at   REAL NOT NULL
);

-- Inbound messages of username users carry no wa_id: the column becomes optional, the BSUID,
-- parent BSUID and username are kept. The views on this table (customers component) are dropped
-- here and created again by customers/002.
DROP VIEW IF EXISTS customer_interactions;
DROP VIEW IF EXISTS flowback_interactions;
CREATE TABLE inbound_messages_new (
  wamid        TEXT PRIMARY KEY,
  wa_id        TEXT,                        -- without '+'; NULL when Meta sent only the BSUID
  phone        TEXT NOT NULL,               -- the customer key (see above)
  profile_name TEXT,
  type         TEXT NOT NULL,
  text         TEXT,
  context_wamid TEXT,
  timestamp    REAL NOT NULL,
  payload_json TEXT NOT NULL,
  received_at  REAL NOT NULL,
  user_id      TEXT,                        -- the sender's BSUID
  parent_user_id TEXT,
  username     TEXT
);
INSERT INTO inbound_messages_new (wamid, wa_id, phone, profile_name, type, text, context_wamid, timestamp,
                                  payload_json, received_at)
SELECT wamid, wa_id, phone, profile_name, type, text, context_wamid, timestamp, payload_json, received_at
FROM inbound_messages;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_new RENAME TO inbound_messages;
CREATE INDEX inbound_phone_time ON inbound_messages (phone, timestamp);

-- The recipient's BSUID of a status webhook (statuses[].recipient_user_id).
ALTER TABLE status_events ADD COLUMN recipient_user_id TEXT;
