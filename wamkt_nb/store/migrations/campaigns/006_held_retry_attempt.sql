-- The retry of a message Meta held back (131049) reuses its sends row: the row goes back to
-- 'planned' once, and retried_wamid keeps the wamid of the held attempt. Status webhooks for that
-- old wamid are still recorded in status_events but never applied to the row, so a late or
-- duplicated 'failed' for the first attempt cannot fail the retry. NULL: the row was never retried.
ALTER TABLE sends ADD COLUMN retried_wamid TEXT;
