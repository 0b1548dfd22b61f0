-- The webhook receiver's own tables: items it could not read, template review events,
-- and the service replies sent back to customers (auto-replies and answers from the inbox).

CREATE TABLE webhook_rejects (
  reject_id   INTEGER PRIMARY KEY,
  field       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  item_json   TEXT NOT NULL,
  received_at REAL NOT NULL
);

CREATE TABLE template_status_events (
  event_id     INTEGER PRIMARY KEY,
  template_id  TEXT,
  name         TEXT,
  language     TEXT,
  event        TEXT NOT NULL,
  reason       TEXT,
  payload_json TEXT NOT NULL,
  received_at  REAL NOT NULL
);
CREATE INDEX template_status_name ON template_status_events (name, received_at);

CREATE TABLE replies (
  reply_id        INTEGER PRIMARY KEY,
  phone           TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('auto','agent')),
  source          TEXT,                 -- the rule id (auto) or the agent's name
  in_reply_to     TEXT,                 -- the inbound wamid that caused it
  message_type    TEXT NOT NULL,        -- text | template
  body            TEXT,
  payload_json    TEXT NOT NULL,
  phone_number_id TEXT,
  state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','accepted','failed')),
  wamid           TEXT,
  error_code      INTEGER,
  error_title     TEXT,
  received_at     REAL,                 -- when the inbound webhook arrived (auto-replies)
  created_at      REAL NOT NULL,
  accepted_at     REAL,
  latency_ms      REAL                  -- webhook received -> reply accepted
);
CREATE INDEX replies_phone_time ON replies (phone, created_at);
CREATE INDEX replies_state ON replies (state);
