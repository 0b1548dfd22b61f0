-- Customers known by a BSUID: an imported BSUID is a column (it links the customer to the
-- webhooks' identities); a customer's messages are found under their customer key
-- (identities.wa_key, see core/006), which is the phone if the customer has one, else the key of
-- their BSUID's identity. core/006 dropped the two views below; they are created again here.
ALTER TABLE customers ADD COLUMN bsuid TEXT;
CREATE INDEX customers_bsuid ON customers (bsuid);

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
  ON c.phone = m.phone OR c.bsuid IN (SELECT i.bsuid FROM identities i WHERE i.wa_key = m.phone);

CREATE VIEW customer_interactions AS
SELECT customer_id, at, kind, 'import' AS source FROM interactions
UNION ALL
SELECT customer_id, at, kind, 'webhook' FROM flowback_interactions;
