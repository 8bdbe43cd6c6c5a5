"""Default paths, in one place: where the exports, the database, the contract file, the reports and
the report notebooks are when a command is not told otherwise. Paths are relative to the working
folder (the project folder), except the notebooks, which ship beside the package."""

from __future__ import annotations

from pathlib import Path

RAW_DIR = Path("data/raw")
DB_PATH = Path("data/processed/sla.duckdb")
CONTRACT_PATH = Path("contract.yaml")
REPORTS_DIR = Path("reports")
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
