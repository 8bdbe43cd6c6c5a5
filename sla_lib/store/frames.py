"""How sla_lib's own computations build pandas frames.

pandas 3 stores text as Arrow arrays by default (the ``str`` dtype). On the small frames that a
finding or a report works with (tens to thousands of rows), every operation on such a column goes
through pyarrow and costs more than on Python strings: the demo's findings took 1.14 s against
0.70 s, and its 16 monthly reports 16.9 s against 13.7 s, with the same values (the databases and
the pages compare equal; docs/decisions.md, "Text columns as Python strings"). So a load and a
render run with pandas' earlier default, text as Python objects, while pandas offers that choice,
and restore the caller's setting afterwards: an analyst's own code in the same session is not
affected. The choice goes away in pandas 4; then :func:`object_strings` does nothing.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

_OPTION = "future.infer_string"


def _set(value: bool) -> None:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 says the option goes in pandas 4
        pd.set_option(_OPTION, value)


@contextmanager
def object_strings():
    """Within the block, text columns that pandas makes are ``object`` (Python strings), not Arrow
    strings; usable as a decorator. Nested blocks and pandas without the option are fine. (pandas
    is imported here, not with this module: importing the renderer stays light.)"""
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = pd.get_option(_OPTION)
    except (KeyError, pd.errors.OptionError):  # pandas 4: nothing to choose
        yield
        return
    _set(False)
    try:
        yield
    finally:
        _set(before)
