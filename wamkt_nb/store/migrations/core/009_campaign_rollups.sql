-- Per-campaign rollups of the dashboards' figures (ledger/rollups.py): the stage counts, the
-- attributed revenue per currency and the failures per Meta code of one campaign, for one pair of
-- reply and attribution windows, stamped with the campaign's version when they were computed.
--
-- A campaign's version counts the writes that may have changed its figures. The triggers (in the
-- dialect files beside this one) only append what a write touched to rollup_changes, one small row,
-- so bulk imports and COPY stay fast; ledger/rollups.py folds the pending changes into versions:
--   campaign_id      that campaign's figures (its sends, its link clicks);
--   phone + at       reply attribution: the campaigns of the sends to that phone out within the
--                    longest rolled-up window before `at` (an inbound message, or a send whose
--                    out time moved there or away, which a later reply may have moved to or from);
--   customer_id + at order attribution, the same for the customer's sends.
CREATE TABLE campaign_versions (
  campaign_id TEXT PRIMARY KEY,
  version     INTEGER NOT NULL
);

CREATE TABLE rollup_changes (
  change_id   INTEGER PRIMARY KEY,
  campaign_id TEXT,
  phone       TEXT,
  customer_id TEXT,
  at          REAL
);

CREATE TABLE campaign_rollups (
  campaign_id        TEXT NOT NULL,
  reply_window       REAL NOT NULL,
  attribution_window REAL NOT NULL,
  version            INTEGER NOT NULL,
  figures            TEXT NOT NULL,   -- JSON: counts, revenue per currency, failures per code
  PRIMARY KEY (campaign_id, reply_window, attribution_window)
);
