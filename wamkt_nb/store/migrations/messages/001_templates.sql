-- Message templates: those synced from the Cloud API and the analyst's local drafts.
-- One row per (name, language); spec_json holds the components as Meta's JSON.
CREATE TABLE message_templates (
  name            TEXT NOT NULL,
  language        TEXT NOT NULL,
  category        TEXT NOT NULL,
  status          TEXT NOT NULL,             -- DRAFT | PENDING | APPROVED | REJECTED | PAUSED | DISABLED | ...
  template_id     TEXT,                      -- the API's id once submitted or synced
  rejected_reason TEXT,
  source          TEXT NOT NULL CHECK (source IN ('draft', 'api')),
  spec_json       TEXT NOT NULL,
  updated_at      REAL NOT NULL,
  PRIMARY KEY (name, language)
);
