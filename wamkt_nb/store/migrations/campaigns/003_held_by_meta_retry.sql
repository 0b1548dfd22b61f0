-- 131049 (per-user marketing limit) is Meta holding a message back, not our failure. When the
-- campaign opted in (spec_json $.retry_held_by_meta), the webhook ledger schedules one automatic
-- retry here, no sooner than 24 h after the hold and outside the 24 h marketing cap; a worker picks
-- up rows whose retry_after has passed. NULL: no retry scheduled.
ALTER TABLE sends ADD COLUMN retry_after REAL;
CREATE INDEX sends_retry_after ON sends (retry_after) WHERE retry_after IS NOT NULL;
