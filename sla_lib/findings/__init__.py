"""Canonical tables -> findings: each clause's statuses, rebuilt in one transaction after every ingest (recompute)."""
