-- The shared core: campaigns, the send ledger (one row per recipient), attempts,
-- status webhooks, inbound messages, consent and service windows.
-- All times are UTC epoch seconds (REAL). Phones are E.164 with '+'; wa_id is without '+'.

CREATE TABLE campaigns (
  campaign_id   TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  category      TEXT NOT NULL CHECK (category IN ('marketing','utility','authentication','service')),
  status        TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft','planned','running','paused','cancelled','complete')),
  created_at    REAL NOT NULL,
  started_at    REAL,
  finished_at   REAL,
  segment_name  TEXT,
  experiment_key TEXT,
  spec_json     TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE sends (
  send_id        INTEGER PRIMARY KEY,
  campaign_id    TEXT NOT NULL REFERENCES campaigns(campaign_id) ON DELETE CASCADE,
  recipient_key  TEXT NOT NULL UNIQUE,      -- travels in biz_opaque_callback_data
  customer_id    TEXT NOT NULL,
  phone          TEXT NOT NULL,
  arm            TEXT,                      -- A/B arm; 'holdout' receives nothing
  state          TEXT NOT NULL DEFAULT 'planned'
                 CHECK (state IN ('planned','in_flight','accepted','sent','delivered','read',
                                  'failed','excluded','unknown','cancelled')),
  reason         TEXT,                      -- exclusion reason code when state = 'excluded'
  error_code     INTEGER,
  error_title    TEXT,
  message_type   TEXT,                      -- text | template | image | document | interactive
  body           TEXT,                      -- the text exactly as the customer sees it
  payload_json   TEXT,                      -- the request body sent to /messages
  phone_number_id TEXT,
  planned_at     REAL,
  wamid          TEXT,
  attempts       INTEGER NOT NULL DEFAULT 0,
  accepted_at    REAL,
  sent_at        REAL,
  delivered_at   REAL,
  read_at        REAL,
  failed_at      REAL,
  pricing_category TEXT,
  billable       INTEGER,
  updated_at     REAL NOT NULL
);
CREATE INDEX sends_campaign_state ON sends (campaign_id, state);
CREATE INDEX sends_wamid ON sends (wamid);
CREATE INDEX sends_customer ON sends (customer_id);
CREATE INDEX sends_phone ON sends (phone);

CREATE TABLE attempts (
  send_id      INTEGER NOT NULL REFERENCES sends(send_id) ON DELETE CASCADE,
  attempt_no   INTEGER NOT NULL,
  started_at   REAL NOT NULL,
  finished_at  REAL,
  outcome      TEXT NOT NULL CHECK (outcome IN ('pending','accepted','error','timeout','lost')),
  http_status  INTEGER,
  error_code   INTEGER,
  error_details TEXT,
  PRIMARY KEY (send_id, attempt_no)
);

CREATE TABLE status_events (
  wamid        TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('sent','delivered','read','failed','deleted','warning')),
  timestamp    REAL NOT NULL,
  recipient_id TEXT,
  callback_data TEXT,
  error_code   INTEGER,
  pricing_category TEXT,
  billable     INTEGER,
  payload_json TEXT NOT NULL,
  received_at  REAL NOT NULL,
  PRIMARY KEY (wamid, status)
);
CREATE INDEX status_events_callback ON status_events (callback_data);

CREATE TABLE inbound_messages (
  wamid        TEXT PRIMARY KEY,
  wa_id        TEXT NOT NULL,
  phone        TEXT NOT NULL,
  profile_name TEXT,
  type         TEXT NOT NULL,
  text         TEXT,
  context_wamid TEXT,
  timestamp    REAL NOT NULL,
  payload_json TEXT NOT NULL,
  received_at  REAL NOT NULL
);
CREATE INDEX inbound_phone_time ON inbound_messages (phone, timestamp);

CREATE TABLE consent (
  phone      TEXT PRIMARY KEY,
  marketing  INTEGER NOT NULL,              -- 1 opted in, 0 opted out
  changed_at REAL NOT NULL,
  source     TEXT NOT NULL                  -- keyword | user_preferences | import | manual
);

CREATE TABLE service_windows (
  phone           TEXT PRIMARY KEY,
  last_inbound_at REAL NOT NULL
);
