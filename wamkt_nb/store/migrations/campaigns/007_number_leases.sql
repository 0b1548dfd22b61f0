-- Leases per sending number: a campaign sent from two numbers can be sent by two processes at once,
-- each holding the lease of one number and sending the rows pinned to it (sends.phone_number_id),
-- so each number keeps one pace. Leases live seconds: the old campaign-wide ones are not carried over.
DROP TABLE send_leases;
CREATE TABLE send_leases (
  campaign_id     TEXT NOT NULL,
  phone_number_id TEXT NOT NULL,
  owner           TEXT NOT NULL,             -- "host:pid"
  host            TEXT NOT NULL,
  pid             INTEGER NOT NULL,
  heartbeat_at    REAL NOT NULL,             -- wall clock, epoch seconds
  PRIMARY KEY (campaign_id, phone_number_id)
);
