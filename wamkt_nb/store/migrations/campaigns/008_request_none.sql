-- A campaign sent in process (a notebook, `wamkt send`) keeps the send options it was sent with in
-- its campaign_requests row too (its journey steps read their pace there), under the request 'none':
-- nothing is asked of a worker. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE campaign_requests_new (
  campaign_id  TEXT PRIMARY KEY,
  request      TEXT NOT NULL CHECK (request IN ('run', 'pause', 'cancel', 'none')),
  options_json TEXT NOT NULL DEFAULT '{}',
  requested_at REAL NOT NULL
);
INSERT INTO campaign_requests_new (campaign_id, request, options_json, requested_at)
  SELECT campaign_id, request, options_json, requested_at FROM campaign_requests;
DROP TABLE campaign_requests;
ALTER TABLE campaign_requests_new RENAME TO campaign_requests;
