"""Findings -> the tables, texts and charts of the reports (Chinese); read-only over the database."""
