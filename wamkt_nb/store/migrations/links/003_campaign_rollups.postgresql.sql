-- A link click changes its campaign's figures (the rollups of core/009_campaign_rollups.sql),
-- noted once per statement from its transition tables.
CREATE FUNCTION link_clicks_rollup_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO rollup_changes (campaign_id) SELECT DISTINCT campaign_id FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO rollup_changes (campaign_id) SELECT DISTINCT campaign_id FROM old_rows;
  ELSE
    INSERT INTO rollup_changes (campaign_id)
    SELECT DISTINCT x.campaign_id FROM old_rows o JOIN new_rows n ON n.click_id = o.click_id
    CROSS JOIN LATERAL (VALUES (o.campaign_id), (n.campaign_id)) AS x (campaign_id)
    WHERE (o.campaign_id, o.customer_id, o.human) IS DISTINCT FROM (n.campaign_id, n.customer_id, n.human);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER link_clicks_rollup_insert AFTER INSERT ON link_clicks REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION link_clicks_rollup_changes();

CREATE TRIGGER link_clicks_rollup_update AFTER UPDATE ON link_clicks
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION link_clicks_rollup_changes();

CREATE TRIGGER link_clicks_rollup_delete AFTER DELETE ON link_clicks REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION link_clicks_rollup_changes();
