-- A step's own send options (JSON; today its pace). A step's run request takes the pace of its
-- campaign's run request, and these over it: '{}' goes at the campaign's pace.
ALTER TABLE journey_steps ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';
