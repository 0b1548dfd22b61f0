-- Reply and order attribution ask for a phone's (a customer's) latest message out before a time,
-- "out" being the first known of sent_at, accepted_at, delivered_at, read_at: these indexes answer
-- that with one seek per inbound message or order. They start with the columns of sends_phone and
-- sends_customer, which they replace.
CREATE INDEX sends_phone_out ON sends (phone, (COALESCE(sent_at, accepted_at, delivered_at, read_at)));
CREATE INDEX sends_customer_out ON sends (customer_id, (COALESCE(sent_at, accepted_at, delivered_at, read_at)));
DROP INDEX sends_phone;
DROP INDEX sends_customer;
