-- Tracked links: one row per (send, destination). The URL a customer sees carries only the opaque
-- token; what it stands for (campaign, recipient, destination, UTM parameters) stays here.
-- recipient_key is the send's ledger key (sends.recipient_key); there is no foreign key because
-- components do not reference each other's tables. Times are UTC epoch seconds (REAL).
CREATE TABLE links (
  token         TEXT PRIMARY KEY,
  campaign_id   TEXT NOT NULL,
  recipient_key TEXT NOT NULL,
  customer_id   TEXT NOT NULL,
  destination   TEXT NOT NULL,
  utm_source    TEXT,
  utm_medium    TEXT,
  utm_campaign  TEXT,
  utm_content   TEXT,
  utm_term      TEXT,
  created_at    REAL NOT NULL
);
CREATE INDEX links_campaign ON links (campaign_id);
CREATE INDEX links_recipient ON links (recipient_key);

-- Every request of a tracked link. agent is mobile | desktop (a person's browser), preview (a link
-- preview fetcher such as WhatsApp's), bot (other automated clients, no user agent) or head (a HEAD
-- request); human = 1 for mobile and desktop only, and only those count as clicks.
CREATE TABLE link_clicks (
  click_id      TEXT PRIMARY KEY,
  token         TEXT NOT NULL,
  campaign_id   TEXT NOT NULL,
  recipient_key TEXT NOT NULL,
  customer_id   TEXT NOT NULL,
  at            REAL NOT NULL,
  agent         TEXT NOT NULL CHECK (agent IN ('mobile','desktop','preview','bot','head')),
  human         INTEGER NOT NULL
);
CREATE INDEX link_clicks_token ON link_clicks (token);
CREATE INDEX link_clicks_campaign ON link_clicks (campaign_id, human);

-- A person's click is an interaction like a read or a reply: the customers component's views get
-- the clicks (this component is migrated after 'customers', so the views exist; the definitions
-- below are those of customers/001 plus the clicks).
DROP VIEW customer_interactions;
DROP VIEW flowback_interactions;

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
FROM inbound_messages m JOIN customers c ON c.phone = m.phone
UNION ALL
SELECT customer_id, at, 'click' FROM link_clicks WHERE human = 1;

CREATE VIEW customer_interactions AS
SELECT customer_id, at, kind, 'import' AS source FROM interactions
UNION ALL
SELECT customer_id, at, kind, 'webhook' FROM flowback_interactions;
