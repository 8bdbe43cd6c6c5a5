"""sla_lib.store.frames: loads and renders build their frames with text as Python strings (pandas
3's Arrow strings cost more on small frames), give the same findings either way, and leave the
caller's pandas setting as it was."""

from __future__ import annotations

import re
import shutil
import warnings

import duckdb
import pandas as pd
import pytest

from sla_lib.findings.recompute import compute_findings
from sla_lib.store import schema
from sla_lib.store.frames import object_strings

OPTION = "future.infer_string"


def _option():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.get_option(OPTION)


def _set(value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.set_option(OPTION, value)


pytestmark = pytest.mark.skipif(int(pd.__version__.split(".")[0]) != 3, reason="pandas 3 only offers the choice")


def test_text_is_python_strings_inside_and_the_callers_setting_after():
    before = _option()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation warning reaches the caller
        with object_strings():
            assert pd.Series(["HIS"]).dtype == object
            with object_strings():
                assert pd.DataFrame({"a": ["x"]})["a"].dtype == object
            assert pd.Series(["HIS"]).dtype == object  # still, after the inner block
        assert _option() == before
        assert pd.Series(["HIS"]).dtype == ("str" if before else object)
    _set(False)
    try:
        with object_strings():
            pass
        assert _option() is False  # a caller who chose object strings keeps them
    finally:
        _set(before)


def test_the_setting_is_restored_when_the_block_raises():
    before = _option()
    with pytest.raises(ValueError, match="a cell failed"), object_strings():
        raise ValueError("a cell failed")
    assert _option() == before


def test_findings_are_the_same_with_arrow_strings(shared_demo, contract, tmp_path):
    """Every findings table of the demo, recomputed with pandas' default (Arrow) strings and as a
    load computes them (Python strings): the same rows."""
    assert _option() is True
    tables = ["ticket_sla", *re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", schema.FINDINGS_TABLES)]
    assert len(tables) == 10
    out = []
    for name, python_strings in (("arrow", False), ("python", True)):
        db = tmp_path / f"{name}.duckdb"
        shutil.copy(shared_demo["db"], db)
        con = duckdb.connect(str(db))
        try:
            compute_findings(con, contract, python_strings=python_strings)
            out.append({t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables})
        finally:
            con.close()
    arrow, python = out
    assert sum(len(v) for v in arrow.values()) > 30_000  # the demo's clocks and findings
    assert {t for t in tables if arrow[t] != python[t]} == set()
