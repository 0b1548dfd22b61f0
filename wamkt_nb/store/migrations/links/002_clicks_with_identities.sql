-- The interaction views in full: reads, inbound messages found under the customer's key (the phone,
-- or the key of their BSUID's identity, see core/006 and customers/002) and people's clicks on
-- tracked links (links/001). Defined last, so a database reaches the same views whichever of
-- customers/002 and links/001 it applied first.
DROP VIEW IF EXISTS customer_interactions;
DROP VIEW IF EXISTS flowback_interactions;

CREATE VIEW flowback_interactions AS
SELECT customer_id, read_at AS at, 'read' AS kind FROM sends WHERE read_at IS NOT NULL
UNION ALL
SELECT c.customer_id, m.timestamp,
       CASE WHEN m.type IN ('button', 'interactive') THEN 'click'
            WHEN m.context_wamid IS NOT NULL OR EXISTS (
                 SELECT 1 FROM sends s WHERE s.phone = m.phone
                   AND s.delivered_at <= m.timestamp AND s.delivered_at > m.timestamp - 86400)
            THEN 'reply'
            ELSE 'inbound' END
FROM inbound_messages m JOIN customers c
  ON c.phone = m.phone OR c.bsuid IN (SELECT i.bsuid FROM identities i WHERE i.wa_key = m.phone)
UNION ALL
SELECT customer_id, at, 'click' FROM link_clicks WHERE human = 1;

CREATE VIEW customer_interactions AS
SELECT customer_id, at, kind, 'import' AS source FROM interactions
UNION ALL
SELECT customer_id, at, kind, 'webhook' FROM flowback_interactions;
