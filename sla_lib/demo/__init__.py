"""Deterministic demo exports (sla demo); imported by the CLI only."""
