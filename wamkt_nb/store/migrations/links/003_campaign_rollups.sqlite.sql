-- A link click changes its campaign's figures (the rollups of core/009_campaign_rollups.sql).
CREATE TRIGGER link_clicks_rollup_insert AFTER INSERT ON link_clicks BEGIN
  INSERT INTO rollup_changes (campaign_id) VALUES (NEW.campaign_id);
END;

CREATE TRIGGER link_clicks_rollup_update AFTER UPDATE OF campaign_id, customer_id, human ON link_clicks
WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.customer_id IS NOT NEW.customer_id OR OLD.human IS NOT NEW.human
BEGIN
  INSERT INTO rollup_changes (campaign_id) VALUES (OLD.campaign_id), (NEW.campaign_id);
END;

CREATE TRIGGER link_clicks_rollup_delete AFTER DELETE ON link_clicks BEGIN
  INSERT INTO rollup_changes (campaign_id) VALUES (OLD.campaign_id);
END;
