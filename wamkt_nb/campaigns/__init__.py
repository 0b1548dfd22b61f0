"""Campaigns: plan → dry-run report → send."""
