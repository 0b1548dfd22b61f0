-- Journeys: follow-up steps attached to a campaign (the journey's id is that campaign's id). Each
-- step waits delay_seconds after the previous one (step 1: after the campaign) went out, then goes
-- to the recipients whose condition holds and who did not stop (stop_on: reply, order, opt_out).
-- When a step comes due its messages become the rows of a child campaign (campaign_id, created by
-- the ledger like any campaign), so the sender, compliance, pricing and funnels apply unchanged.
-- There is no foreign key: components do not reference each other's tables. Times are UTC epoch s.
CREATE TABLE journeys (
  journey_id  TEXT PRIMARY KEY,
  stop_on     TEXT NOT NULL DEFAULT 'reply,order,opt_out',
  created_at  REAL NOT NULL
);

CREATE TABLE journey_steps (
  journey_id    TEXT NOT NULL,
  step          INTEGER NOT NULL,
  delay_seconds REAL NOT NULL CHECK (delay_seconds >= 0),
  condition     TEXT NOT NULL,
  message_json  TEXT NOT NULL,
  campaign_id   TEXT,
  started_at    REAL,
  recipients    INTEGER,
  PRIMARY KEY (journey_id, step)
);
