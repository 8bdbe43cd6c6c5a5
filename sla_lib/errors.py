"""Errors a user sees as one clear message (no traceback unless --debug)."""


class SlaError(Exception):
    """Base class: the message names the file, row/column or key, and what was expected."""


class ContractError(SlaError):
    """The contract file is missing a key or has a wrong value."""


class InputError(SlaError):
    """An export file cannot be read as a whole (unreadable, unknown headers, missing column)."""


class DatabaseBusy(SlaError):
    """Another sla process holds the database."""


class DiskError(SlaError):
    """The disk is full or read-only; the message names the path, the space needed and free."""
