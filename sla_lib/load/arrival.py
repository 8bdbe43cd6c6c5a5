"""Exports still being copied into ``data/raw/`` (issue 15): skipped, loaded by the next run.

A file found by scanning the exports folder is *incomplete* when

- it was modified in the last few seconds and its size or modification time changes while we
  watch it for a moment (a copy in progress);
- a workbook (``.xlsx``, ``.xlsm``) is not yet a whole zip archive (the directory at its end is
  written last), or an old ``.xls`` is not a whole number of 512-byte sectors;
- a text export (``.csv``, ``.txt``, ``.tsv``, ``.dat``) ends in the middle of a record: no line
  break after the last line, and that line has fewer separators than the header line or an
  unclosed quote.

Such a file is listed as ``正在写入，下次再载入`` with the reason and is never loaded half; it
loads whole on the next run. A file named on the command line is loaded as it is (its cut last
row, if any, rejected with the reason as before).
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

SETTLE_SECONDS = 1.0  # a file modified this recently is watched for a moment
WATCH_SECONDS = 0.3
TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}
ZIP_SUFFIXES = {".xlsx", ".xlsm"}
MESSAGE = "正在写入，下次再载入"


def _signature(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _cut_text(path: Path) -> str | None:
    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb") as f:
        head = f.read(65536)
        f.seek(max(0, size - 65536))
        tail = f.read()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: lines end in two bytes; not judged here
        return None
    if tail.endswith((b"\n", b"\r", b"\x00", b"\x1a")):
        return None
    first = head.splitlines()[0] if head.splitlines() else b""
    last = tail.splitlines()[-1] if tail.splitlines() else b""
    if not first or first is last:
        return None
    sep = max((b",", b"\t", b";", b"|"), key=first.count)
    if last.count(b'"') % 2 == 1:
        return "the last line ends inside a quoted value"
    if first.count(sep) and last.count(sep) < first.count(sep):
        return (f"the last line has {last.count(sep) + 1} of the header's {first.count(sep) + 1} fields "
                "and no line break after it")
    return None


def incomplete(path: Path) -> str | None:
    """Why ``path`` looks like an export still being copied, or None when it looks whole."""
    suffix = path.suffix.lower()
    if suffix in ZIP_SUFFIXES and not zipfile.is_zipfile(path):
        return "the workbook is not whole yet (its zip directory is missing)"
    if suffix == ".xls":
        size = path.stat().st_size
        with open(path, "rb") as f:
            ole = f.read(8) == bytes.fromhex("d0cf11e0a1b11ae1")
        if ole and size % 512:
            return f"the workbook is not whole yet ({size} bytes, not a whole number of sectors)"
    if suffix in TEXT_SUFFIXES:
        return _cut_text(path)
    return None


def still_arriving(paths: list[Path]) -> dict[Path, str]:
    """Of the files found in the exports folder, those still being written, with the reason. Files
    modified in the last :data:`SETTLE_SECONDS` are watched together for :data:`WATCH_SECONDS`."""
    out: dict[Path, str] = {}
    now = time.time()
    recent = {}
    for p in paths:
        try:
            sig = _signature(p)
        except OSError:
            continue
        if now - sig[1] / 1e9 < SETTLE_SECONDS:
            recent[p] = sig
    if recent:
        time.sleep(WATCH_SECONDS)
        for p, before in recent.items():
            try:
                after = _signature(p)
            except OSError:
                out[p] = "the file went away while it was read"
                continue
            if after != before:
                out[p] = f"its size is still changing ({before[0]:,} → {after[0]:,} bytes)"
    for p in paths:
        if p not in out:
            try:
                why = incomplete(p)
            except OSError:
                why = None  # unreadable: the loader says so
            if why:
                out[p] = why
    return out
