"""sla_lib: hold a hospital's maintenance vendor to its contract.

Layers (docs/tables.md): raw exports -> canonical tables (tickets, ...) -> findings
(ticket_sla, ...) -> notebooks -> HTML reports.
"""

__version__ = "0.1.0"
