"""sla_lib: hold a hospital's maintenance vendor to its contract.

Layers (docs/architecture.md), each a folder; imports only point down the list:
cli -> publish (render, scheduled job) -> reports, load -> findings -> rules, store -> config, errors.
"""

__version__ = "0.1.0"


def open_db(path=None, wait_seconds=None):
    """A read-only connection to the project database: the documented way for notebooks and
    analysts (docs/tables.md). ``path`` defaults to ``data/processed/sla.duckdb``."""
    from sla_lib.store.db import open_db as _open_db

    return _open_db(path, wait_seconds)
