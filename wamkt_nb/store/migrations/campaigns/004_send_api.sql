-- The endpoint that sent each message: 'messages' (Cloud API) or 'marketing_messages' (Marketing
-- Messages API); set when the row is claimed for sending, NULL while it was never sent.
ALTER TABLE sends ADD COLUMN api TEXT;
