"""Keyword auto-replies: rules stored in the database, matched case- and accent-insensitively."""
