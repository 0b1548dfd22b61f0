-- The order the import wrote its rows in, numbered by the writer: the tables are read whole in
-- that order on every database (PostgreSQL has no SQLite rowid to stand in for it). Rows written
-- before this migration have none and read first, in no set order, until the next import.

ALTER TABLE customers ADD COLUMN row_no INTEGER;
ALTER TABLE orders ADD COLUMN row_no INTEGER;
ALTER TABLE interactions ADD COLUMN row_no INTEGER;
