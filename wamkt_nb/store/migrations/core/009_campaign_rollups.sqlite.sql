-- The changes that may alter a campaign's figures (see 009_campaign_rollups.sql), row by row.
-- A send is noted with its out time (the expression of ledger/aggregates.py's OUT_AT); an update
-- notes its phone only when it moved the out time or the phone (the reply attribution of the
-- phone's earlier sends may move), its customer only when it moved the out time, the customer or
-- whether the message was delivered (STAGE["delivered"]: the order attribution of the customer's
-- earlier sends may move); the campaign always.
-- A send inserted without an out time (a planned row) is no message out for any attribution: it is
-- noted by its campaign alone, and not at all while the newest pending note already says just that
-- campaign (a campaign's plan of any size leaves one note, so it does not count as a bulk write).
CREATE TRIGGER sends_rollup_insert AFTER INSERT ON sends
WHEN COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) IS NOT NULL
BEGIN
  INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
  VALUES (NEW.campaign_id, NEW.phone, NEW.customer_id,
          COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at));
END;

CREATE TRIGGER sends_rollup_insert_planned AFTER INSERT ON sends
WHEN COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) IS NULL
 AND NOT EXISTS (SELECT 1 FROM rollup_changes d WHERE d.change_id = (SELECT MAX(change_id) FROM rollup_changes)
                 AND d.campaign_id = NEW.campaign_id AND d.phone IS NULL AND d.customer_id IS NULL)
BEGIN
  INSERT INTO rollup_changes (campaign_id) VALUES (NEW.campaign_id);
END;

CREATE TRIGGER sends_rollup_update
AFTER UPDATE OF state, error_code, accepted_at, sent_at, delivered_at, read_at, campaign_id, phone, customer_id
ON sends
WHEN OLD.state IS NOT NEW.state OR OLD.error_code IS NOT NEW.error_code
  OR OLD.accepted_at IS NOT NEW.accepted_at OR OLD.sent_at IS NOT NEW.sent_at
  OR OLD.delivered_at IS NOT NEW.delivered_at OR OLD.read_at IS NOT NEW.read_at
  OR OLD.campaign_id IS NOT NEW.campaign_id OR OLD.phone IS NOT NEW.phone OR OLD.customer_id IS NOT NEW.customer_id
BEGIN
  INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
  SELECT OLD.campaign_id,
         CASE WHEN COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at) IS NOT COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) OR OLD.phone IS NOT NEW.phone THEN OLD.phone END,
         CASE WHEN COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at) IS NOT COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) OR OLD.customer_id IS NOT NEW.customer_id
           OR (OLD.state IN ('delivered', 'read') OR COALESCE(OLD.delivered_at, OLD.read_at) IS NOT NULL) IS NOT (NEW.state IN ('delivered', 'read') OR COALESCE(NEW.delivered_at, NEW.read_at) IS NOT NULL) THEN OLD.customer_id END,
         COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at)
  UNION ALL
  SELECT NEW.campaign_id,
         CASE WHEN COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) IS NOT COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at) OR NEW.phone IS NOT OLD.phone THEN NEW.phone END,
         CASE WHEN COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at) IS NOT COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at) OR NEW.customer_id IS NOT OLD.customer_id
           OR (NEW.state IN ('delivered', 'read') OR COALESCE(NEW.delivered_at, NEW.read_at) IS NOT NULL) IS NOT (OLD.state IN ('delivered', 'read') OR COALESCE(OLD.delivered_at, OLD.read_at) IS NOT NULL) THEN NEW.customer_id END,
         COALESCE(NEW.sent_at, NEW.accepted_at, NEW.delivered_at, NEW.read_at);
END;

CREATE TRIGGER sends_rollup_delete AFTER DELETE ON sends BEGIN
  INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
  VALUES (OLD.campaign_id, OLD.phone, OLD.customer_id,
          COALESCE(OLD.sent_at, OLD.accepted_at, OLD.delivered_at, OLD.read_at));
END;

CREATE TRIGGER inbound_rollup_insert AFTER INSERT ON inbound_messages BEGIN
  INSERT INTO rollup_changes (phone, at) VALUES (NEW.phone, NEW.timestamp);
END;

CREATE TRIGGER inbound_rollup_update AFTER UPDATE OF phone, timestamp ON inbound_messages
WHEN OLD.phone IS NOT NEW.phone OR OLD.timestamp IS NOT NEW.timestamp
BEGIN
  INSERT INTO rollup_changes (phone, at) VALUES (OLD.phone, OLD.timestamp), (NEW.phone, NEW.timestamp);
END;

CREATE TRIGGER inbound_rollup_delete AFTER DELETE ON inbound_messages BEGIN
  INSERT INTO rollup_changes (phone, at) VALUES (OLD.phone, OLD.timestamp);
END;

CREATE TRIGGER conversions_rollup_insert AFTER INSERT ON conversions BEGIN
  INSERT INTO rollup_changes (customer_id, at) VALUES (NEW.customer_id, NEW.at);
END;

CREATE TRIGGER conversions_rollup_update AFTER UPDATE OF customer_id, at, amount, currency ON conversions
WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.at IS NOT NEW.at
  OR OLD.amount IS NOT NEW.amount OR OLD.currency IS NOT NEW.currency
BEGIN
  INSERT INTO rollup_changes (customer_id, at) VALUES (OLD.customer_id, OLD.at), (NEW.customer_id, NEW.at);
END;

CREATE TRIGGER conversions_rollup_delete AFTER DELETE ON conversions BEGIN
  INSERT INTO rollup_changes (customer_id, at) VALUES (OLD.customer_id, OLD.at);
END;
