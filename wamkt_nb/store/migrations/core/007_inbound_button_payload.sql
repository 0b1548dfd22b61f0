-- The business-defined payload of a tapped button: a template quick reply's button.payload, or an
-- interactive reply button's id (wamkt_nb/webhooks/updates.py: message_payload). The text column
-- keeps the label the customer saw; per-button analytics count taps by payload
-- (wamkt_nb/ledger/buttons.py). NULL for typed messages and for rows from before this migration.
ALTER TABLE inbound_messages ADD COLUMN payload TEXT;
