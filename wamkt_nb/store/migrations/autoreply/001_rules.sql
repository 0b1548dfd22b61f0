-- Keyword auto-reply rules, what each inbound message triggered, and tags added by rules.

CREATE TABLE autoreply_rules (
  rule_id           TEXT PRIMARY KEY,
  name              TEXT NOT NULL DEFAULT '',
  match_type        TEXT NOT NULL CHECK (match_type IN ('exact','contains','starts_with','regex')),
  pattern           TEXT NOT NULL,
  languages         TEXT NOT NULL DEFAULT '',      -- comma-separated codes; empty = any language
  priority          INTEGER NOT NULL DEFAULT 100,  -- lower numbers are tried first
  action            TEXT NOT NULL
                    CHECK (action IN ('text','template','tag','opt_out','opt_in','faq','handover')),
  reply_text        TEXT NOT NULL DEFAULT '',
  template_name     TEXT NOT NULL DEFAULT '',
  template_language TEXT NOT NULL DEFAULT '',
  template_params   TEXT NOT NULL DEFAULT '[]',    -- JSON list of body parameters
  tag               TEXT NOT NULL DEFAULT '',
  enabled           INTEGER NOT NULL DEFAULT 1,
  updated_at        REAL NOT NULL
);

CREATE TABLE autoreply_log (
  wamid      TEXT PRIMARY KEY,                     -- the inbound message
  phone      TEXT NOT NULL,
  rule_id    TEXT,
  action     TEXT,
  outcome    TEXT NOT NULL,                        -- replied | no_reply | cooldown | hourly_cap | no_match
  reply_id   INTEGER,
  at         REAL NOT NULL
);
CREATE INDEX autoreply_log_phone ON autoreply_log (phone, at);

CREATE TABLE customer_tags (
  phone    TEXT NOT NULL,
  tag      TEXT NOT NULL,
  added_at REAL NOT NULL,
  source   TEXT NOT NULL,                          -- e.g. autoreply:<rule_id>
  PRIMARY KEY (phone, tag)
);

INSERT INTO autoreply_rules (rule_id, name, match_type, pattern, languages, priority, action, reply_text, updated_at) VALUES
 ('opt_out', 'Abmelden / Stop', 'exact', 'stop, stopp, abmelden, unsubscribe', '', 10, 'opt_out',
  'Sie erhalten von uns keine Werbenachrichten mehr. Mit START melden Sie sich wieder an.', 0),
 ('opt_in', 'Wieder anmelden', 'exact', 'start', '', 10, 'opt_in',
  'Willkommen zurück! Sie erhalten wieder unsere Angebote. Mit STOP melden Sie sich ab.', 0),
 ('human', 'An einen Mitarbeiter', 'contains', 'mitarbeiter, mensch, agent, human', '', 20, 'handover',
  'Einen Moment bitte, ein Mitarbeiter meldet sich gleich bei Ihnen.', 0),
 ('rabatt', 'Rabattcode', 'contains', 'rabatt, rabattcode, discount', '', 50, 'text',
  'Ihr Rabattcode: WILLKOMMEN10 – 10 % auf Ihre nächste Bestellung, 7 Tage gültig.', 0),
 ('faq_lieferzeit', 'FAQ Lieferzeit', 'contains', 'lieferzeit, wann kommt, versand, delivery', '', 60, 'faq',
  'Wir liefern innerhalb von 2–4 Werktagen. Den Status sehen Sie jederzeit unter „Meine Bestellungen“.', 0);
