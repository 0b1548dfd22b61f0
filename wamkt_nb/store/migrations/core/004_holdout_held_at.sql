-- A/B holdout members get nothing, but the sender evaluates them at their planned time with the
-- same send-time checks as a message: held_at is when a message would have gone out (their
-- reference time for outcomes); a holdout member who would have been excluded gets that reason.
-- NULL while not yet evaluated (and for every row that is not a holdout member).
ALTER TABLE sends ADD COLUMN held_at REAL;
