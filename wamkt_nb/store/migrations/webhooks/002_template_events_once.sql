-- Template status and quality webhooks are recorded once: Meta redelivers a webhook it thinks we
-- missed, and the redelivery is the same change. event_key identifies the change (template,
-- event and Meta's trigger time, see wamkt_nb/webhooks/updates.py); rows from before this
-- migration keep a NULL key.
ALTER TABLE template_status_events ADD COLUMN event_key TEXT;
ALTER TABLE template_status_events ADD COLUMN event_at REAL;
CREATE UNIQUE INDEX template_status_events_once ON template_status_events (event_key);

-- message_template_quality_update: a template's quality score moved (GREEN, YELLOW, RED, UNKNOWN).
CREATE TABLE template_quality_events (
  event_id        INTEGER PRIMARY KEY,
  event_key       TEXT NOT NULL UNIQUE,
  template_id     TEXT,
  name            TEXT,
  language        TEXT,
  previous_score  TEXT,
  new_score       TEXT NOT NULL,
  event_at        REAL,
  payload_json    TEXT NOT NULL,
  received_at     REAL NOT NULL
);
