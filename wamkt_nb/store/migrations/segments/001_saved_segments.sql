-- Named segments an analyst saved from the builder: the rule as JSON, whether inactive-90-day
-- customers are deliberately included, and when it was created and last changed (epoch s).
CREATE TABLE saved_segments (
    name             TEXT PRIMARY KEY CHECK (length(trim(name)) > 0),
    rule_json        TEXT NOT NULL,
    include_inactive INTEGER NOT NULL DEFAULT 0 CHECK (include_inactive IN (0, 1)),
    description      TEXT NOT NULL DEFAULT '',
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
