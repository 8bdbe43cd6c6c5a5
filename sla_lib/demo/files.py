"""Byte-stable demo files: the same data give the same bytes, whenever they are written."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile


def zip_entry(name: str, when: dt.datetime) -> zipfile.ZipInfo:
    """A zip entry with a fixed time and mode, deflated: the bytes depend on the contents only."""
    zi = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zi


def fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """Re-pack an xlsx with fixed entry times and document dates, so the bytes depend on the data only."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              lambda m: m.group(1) + stamp.encode() + m.group(2), body)
            zout.writestr(zip_entry(info.filename, when), body)
    return out.getvalue()
