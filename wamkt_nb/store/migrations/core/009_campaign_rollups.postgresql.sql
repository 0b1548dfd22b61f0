-- The changes that may alter a campaign's figures (see 009_campaign_rollups.sql), once per
-- statement from its transition tables, so a COPY of millions of rows notes them in one insert.
-- A send is noted with its out time, the expression of ledger/aggregates.py's OUT_AT; an update
-- only when a column the figures read changed, with the row before and after it, its phone and
-- customer only as 009_campaign_rollups.sqlite.sql says.
CREATE FUNCTION sends_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- a row without an out time (planned) by its campaign alone, unless the newest note says just that
    INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
    SELECT campaign_id, phone, customer_id, COALESCE(sent_at, accepted_at, delivered_at, read_at) FROM new_rows
    WHERE COALESCE(sent_at, accepted_at, delivered_at, read_at) IS NOT NULL;
    INSERT INTO rollup_changes (campaign_id)
    SELECT DISTINCT r.campaign_id FROM new_rows r
    WHERE COALESCE(r.sent_at, r.accepted_at, r.delivered_at, r.read_at) IS NULL
      AND NOT EXISTS (SELECT 1 FROM rollup_changes d WHERE d.change_id = (SELECT MAX(change_id) FROM rollup_changes)
                      AND d.campaign_id = r.campaign_id AND d.phone IS NULL AND d.customer_id IS NULL);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
    SELECT campaign_id, phone, customer_id, COALESCE(sent_at, accepted_at, delivered_at, read_at) FROM old_rows;
  ELSE
    INSERT INTO rollup_changes (campaign_id, phone, customer_id, at)
    SELECT x.campaign_id, x.phone, x.customer_id, x.at
    FROM old_rows o JOIN new_rows n ON n.send_id = o.send_id
    CROSS JOIN LATERAL (VALUES
      (o.campaign_id,
       CASE WHEN COALESCE(o.sent_at, o.accepted_at, o.delivered_at, o.read_at) IS DISTINCT FROM COALESCE(n.sent_at, n.accepted_at, n.delivered_at, n.read_at) OR o.phone IS DISTINCT FROM n.phone THEN o.phone END,
       CASE WHEN COALESCE(o.sent_at, o.accepted_at, o.delivered_at, o.read_at) IS DISTINCT FROM COALESCE(n.sent_at, n.accepted_at, n.delivered_at, n.read_at) OR o.customer_id IS DISTINCT FROM n.customer_id
         OR (o.state IN ('delivered', 'read') OR COALESCE(o.delivered_at, o.read_at) IS NOT NULL) IS DISTINCT FROM (n.state IN ('delivered', 'read') OR COALESCE(n.delivered_at, n.read_at) IS NOT NULL) THEN o.customer_id END,
       COALESCE(o.sent_at, o.accepted_at, o.delivered_at, o.read_at)),
      (n.campaign_id,
       CASE WHEN COALESCE(n.sent_at, n.accepted_at, n.delivered_at, n.read_at) IS DISTINCT FROM COALESCE(o.sent_at, o.accepted_at, o.delivered_at, o.read_at) OR n.phone IS DISTINCT FROM o.phone THEN n.phone END,
       CASE WHEN COALESCE(n.sent_at, n.accepted_at, n.delivered_at, n.read_at) IS DISTINCT FROM COALESCE(o.sent_at, o.accepted_at, o.delivered_at, o.read_at) OR n.customer_id IS DISTINCT FROM o.customer_id
         OR (n.state IN ('delivered', 'read') OR COALESCE(n.delivered_at, n.read_at) IS NOT NULL) IS DISTINCT FROM (o.state IN ('delivered', 'read') OR COALESCE(o.delivered_at, o.read_at) IS NOT NULL) THEN n.customer_id END,
       COALESCE(n.sent_at, n.accepted_at, n.delivered_at, n.read_at))
    ) AS x (campaign_id, phone, customer_id, at)
    WHERE (o.state, o.error_code, o.accepted_at, o.sent_at, o.delivered_at, o.read_at, o.campaign_id, o.phone,
           o.customer_id)
          IS DISTINCT FROM
          (n.state, n.error_code, n.accepted_at, n.sent_at, n.delivered_at, n.read_at, n.campaign_id, n.phone,
           n.customer_id);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER sends_rollup_insert AFTER INSERT ON sends REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION sends_rollup_changes();

CREATE TRIGGER sends_rollup_update AFTER UPDATE ON sends REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION sends_rollup_changes();

CREATE TRIGGER sends_rollup_delete AFTER DELETE ON sends REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION sends_rollup_changes();

CREATE FUNCTION inbound_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollup_changes (phone, at) SELECT n.phone, n.timestamp FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO rollup_changes (phone, at) SELECT o.phone, o.timestamp FROM old_rows o;
  ELSE
    INSERT INTO rollup_changes (phone, at)
    SELECT x.phone, x.at FROM old_rows o JOIN new_rows n ON n.wamid = o.wamid
    CROSS JOIN LATERAL (VALUES (o.phone, o.timestamp), (n.phone, n.timestamp)) AS x (phone, at)
    WHERE (o.phone, o.timestamp) IS DISTINCT FROM (n.phone, n.timestamp);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER inbound_rollup_insert AFTER INSERT ON inbound_messages REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inbound_rollup_changes();

CREATE TRIGGER inbound_rollup_update AFTER UPDATE ON inbound_messages
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION inbound_rollup_changes();

CREATE TRIGGER inbound_rollup_delete AFTER DELETE ON inbound_messages REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION inbound_rollup_changes();

CREATE FUNCTION conversions_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollup_changes (customer_id, at) SELECT customer_id, at FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO rollup_changes (customer_id, at) SELECT customer_id, at FROM old_rows;
  ELSE
    INSERT INTO rollup_changes (customer_id, at)
    SELECT x.customer_id, x.at FROM old_rows o JOIN new_rows n ON n.order_id = o.order_id
    CROSS JOIN LATERAL (VALUES (o.customer_id, o.at), (n.customer_id, n.at)) AS x (customer_id, at)
    WHERE (o.customer_id, o.at, o.amount, o.currency) IS DISTINCT FROM (n.customer_id, n.at, n.amount, n.currency);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER conversions_rollup_insert AFTER INSERT ON conversions REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversions_rollup_changes();

CREATE TRIGGER conversions_rollup_update AFTER UPDATE ON conversions
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversions_rollup_changes();

CREATE TRIGGER conversions_rollup_delete AFTER DELETE ON conversions REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION conversions_rollup_changes();
