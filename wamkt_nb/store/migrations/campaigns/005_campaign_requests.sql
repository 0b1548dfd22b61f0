-- What the analyst asked of a campaign that a worker sends: 'run' (submitted or resumed), 'pause'
-- or 'cancel', with the send options given at submission. The widget and the CLI write it; the
-- worker reads it, so a campaign keeps going (and stays controllable) after the notebook closes.
CREATE TABLE campaign_requests (
  campaign_id  TEXT PRIMARY KEY,
  request      TEXT NOT NULL CHECK (request IN ('run', 'pause', 'cancel')),
  options_json TEXT NOT NULL DEFAULT '{}',
  requested_at REAL NOT NULL
);
