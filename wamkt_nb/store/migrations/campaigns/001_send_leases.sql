-- Who is sending a campaign right now: two processes must never send the same campaign at once
-- (both would load the same planned rows). A lease whose process died or stopped renewing is taken over.
CREATE TABLE send_leases (
  campaign_id  TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,             -- "host:pid"
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  heartbeat_at REAL NOT NULL              -- wall clock, epoch seconds
);
