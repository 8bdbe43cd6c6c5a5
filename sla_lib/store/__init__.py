"""The DuckDB file: every table and view as data (schema), connecting, meta, transactions."""
