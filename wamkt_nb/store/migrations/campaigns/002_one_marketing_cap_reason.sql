-- The sender wrote 'marketing_24h' for the 24 h marketing cap while the compliance engine used
-- 'marketing_cap_24h': one code everywhere now, old ledger rows moved to it.
UPDATE sends SET reason = 'marketing_cap_24h' WHERE reason = 'marketing_24h';
