"""The one DuckDB file every layer lives in. Table names are a public interface (docs/tables.md).

**Readers never block the writer, and never see half a load** (docs/decisions.md, "One writer,
many readers"). DuckDB lets one process write a file, or several read it, never both. So the
published file ``data/processed/sla.duckdb`` is never written in place:

- a writer (:func:`writing`, used by ``sla ingest`` and ``sla scheduled``) takes the writer lock
  ``sla.duckdb.lock``, copies the published file to a private ``.sla.duckdb.<pid>.new``, does its
  whole run there (every file, then the findings), checkpoints, and renames the copy over the
  published name in one atomic step. A run that fails, is killed or meets a full disk leaves the
  published file exactly as it was, and its copy is removed (by the next writer if it was killed);
- readers open the published file read-only. One held open (a plain DuckDB client, DBeaver) goes
  on seeing the state it opened, whole, and the writer does not wait for it;
  :func:`open_db` (``sla_lib.open_db``, the documented way) re-opens the newest state on its next
  query after a publication;
- on Windows, a file that is open cannot be replaced: when the rename fails because a reader holds
  the published file, the new state is kept under a name of its own, ``sla.duckdb.pending-<n>``,
  and published by a later run; :func:`open_db` and every ``sla`` command read the newest pending
  state meanwhile.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

from sla_lib import config
from sla_lib.errors import DatabaseBusy, DiskError, SlaError
from sla_lib.store.locks import FileLock
from sla_lib.store.schema import FINDINGS_TABLES, REBUILD_TICKETS, SCHEMA, VIEWS

MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
PINS_ENV = "SLA_DB_PINS"  # JSON {published path: pinned snapshot}: what a report being rendered reads
_DISK_FULL = ("no space left on device", "disk is full", "not enough space on the disk", "disk quota exceeded")
_READ_ONLY = ("read-only file system", "permission denied", "access is denied")


# -- which file holds the current state ------------------------------------------------------------------
def pending_paths(path: Path) -> list[Path]:
    """The states waiting to be put in place (Windows), oldest first: ``sla.duckdb.pending-<n>``."""
    def n(p: Path) -> int:
        tail = p.name.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else -1
    return sorted(Path(path).parent.glob(f"{Path(path).name}.pending-*"), key=n)


def lock_path(path: Path) -> Path:
    return Path(f"{path}.lock")


def file_state(path: str | Path) -> tuple[int, int, int, int]:
    """The identity of the state a database file holds: (device, inode, size, modification time).
    A state is never rewritten in place (a load publishes a new file), so the same identity is the
    same state; what is read of one state can be kept for it. Raises OSError when there is no file."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def current_file(path: str | Path) -> Path:
    """The file holding the newest published state of database ``path``: ``path`` itself, or the
    newest ``path.pending-<n>`` that a Windows reader kept from being renamed into place. A report
    being rendered reads its pinned snapshot instead (:func:`snapshot`)."""
    path = Path(path)
    pinned = _pinned(path)
    if pinned is not None:
        return pinned
    waiting = pending_paths(path)
    if not waiting:
        return path
    try:  # a pending state left after a later publication (it was open then) is older: not current
        if path.exists() and path.stat().st_mtime_ns > waiting[-1].stat().st_mtime_ns:
            return path
    except FileNotFoundError:
        pass
    return waiting[-1]


def is_database_file(path: Path) -> bool:
    """True when ``path`` starts like a DuckDB database file (not empty, not truncated to nothing)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[8:12] == MAGIC


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def disk_error(e: BaseException, path: Path, needed: int | None = None, denied: bool = True) -> DiskError | None:
    """A clear :class:`DiskError` for ``e`` when it is a full or read-only disk (or, with
    ``denied``, a folder we may not write), else None."""
    text = str(e).lower()
    code = getattr(e, "errno", None)
    folder = Path(path).parent
    try:
        free = shutil.disk_usage(folder if folder.exists() else Path.cwd()).free
    except OSError:
        free = None
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) or any(t in text for t in _DISK_FULL):
        need = f"about {_mib(needed)} needed, " if needed else ""
        has = f"{_mib(free)} free" if free is not None else "free space unknown"
        return DiskError(f"{folder}: the disk is full ({need}{has}); nothing was changed: the database "
                         f"{path.name} is as it was before this run. Free some space and run again.")
    read_only = code == errno.EROFS or "read-only file system" in text
    if read_only or (denied and (code in (errno.EACCES, errno.EPERM) or any(t in text for t in _READ_ONLY))):
        return DiskError(f"{folder}: cannot write there ({'read-only disk' if read_only else 'permission denied'}); "
                         f"nothing was changed: the database {path.name} is as it was before this run.")
    return None


# -- connections -------------------------------------------------------------------------------------------
def connect(path: str | Path = config.DB_PATH, read_only: bool = False, wait_seconds: float | None = None,
            threads: int | None = None) -> Connection:
    """Open a DuckDB file as it is, creating it and its tables when new and not ``read_only``.

    Read-only connections open the current state (:func:`current_file`). Writing in place is for
    files no reader sees (tests, benchmarks, the writer's own copy); ``sla`` writes through
    :func:`writing`. Waits up to ``wait_seconds`` (default 30 s, ``SLA_DB_WAIT_SECONDS``) while
    another process holds the file for writing, then stops with a clear message. With ``threads``,
    DuckDB runs on at most that many threads while the connection is open (the setting is the
    process's: the fewest any open connection asked for).
    """
    path = Path(path)
    if wait_seconds is None:  # SLA_DB_WAIT_SECONDS overrides the default 30 s (tests, impatient jobs)
        wait_seconds = float(os.environ.get("SLA_DB_WAIT_SECONDS", "30"))
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _new_file(path)
    else:
        path = current_file(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no database yet; run `sla ingest` first")
        if not is_database_file(path):
            raise SlaError(f"{path}: not a DuckDB database ({path.stat().st_size} bytes; left by an interrupted "
                           "run of an older version?); the next `sla ingest` sets it aside and loads again")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = _attach(path, read_only, threads)
            break
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusy(
                    f"{path}: the database is held for writing by another process (a DuckDB client that "
                    f"opened it read-write?); waited {wait_seconds:.0f} s. Open it read-only (sla_lib.open_db) "
                    "and try again."
                ) from None
            time.sleep(0.25)
    if not read_only and _schema_version(con) != SCHEMA_VERSION:
        _make_schema(con)
    return con


# -- one DuckDB instance per process, each file attached to it -------------------------------------------
# Starting a DuckDB instance costs ~25-35 ms (its catalog of built-in functions is built and torn
# down again), more than most of our statements: a load opened three, a report two. So a process has
# one in-memory instance (made on the first connection), and a connection is a cursor of it with the
# file ATTACHed and made its default database (USE): the statements are the same, the tables and
# views of the file are read unqualified, temporary tables and macros stay the cursor's own. The file
# is DETACHed (checkpointed and its lock released, as closing an instance did) when the last
# connection to it closes (docs/decisions.md, "One DuckDB instance per process").
_HOST_LOCK = threading.RLock()
_HOST: dict = {"con": None, "pid": None, "n": 0, "threads": None}
_ATTACHED: dict[str, list] = {}  # resolved path -> [alias, read_only, open connections]
_THREADS: dict[int, int] = {}  # id of an open Connection -> the threads it asked for
_STALE: dict[str, str] = {}  # resolved path -> alias whose DETACH failed (full disk): retried before reuse


def _host():
    """The process's in-memory DuckDB instance (a forked child makes its own)."""
    if _HOST["con"] is None or _HOST["pid"] != os.getpid():
        _ATTACHED.clear()
        _THREADS.clear()
        _STALE.clear()
        # spilled intermediate results: under the system's temporary folder (an in-memory instance
        # would spill to .tmp in the working folder); a load's statements rarely spill at all
        spill = Path(tempfile.gettempdir()) / f"sla-duckdb-{os.getpid()}.tmp"
        _HOST.update(con=duckdb.connect(":memory:", config={"temp_directory": str(spill)}), pid=os.getpid(),
                     threads=None)
    return _HOST["con"]


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class Connection:
    """A connection to one database file (made by :func:`connect`): a cursor of the process's DuckDB
    instance whose default database is the file. Use it as a DuckDB connection (``execute``, ``sql``,
    ``register``, ...: every attribute is the cursor's); ``close`` detaches the file when this was
    its last connection in the process."""

    __slots__ = ("_cur", "_key", "_closed", "path")

    def __init__(self, cur, key: str, path: Path):
        self._cur, self._key, self._closed, self.path = cur, key, False, path

    def execute(self, query, parameters=None):
        return self._cur.execute(query, parameters)

    def sql(self, query, *args, **kwargs):
        return self._cur.sql(query, *args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._cur, name)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._cur.close()
        finally:
            _release(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):  # a connection dropped unclosed releases its file, as a DuckDB connection did
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown, or the disk: nothing to tell anyone
            pass


def _apply_threads() -> None:
    """The instance's thread count: the fewest any open connection asked for (a small load, a
    report), else DuckDB's default (one per core)."""
    want = min(_THREADS.values()) if _THREADS else None
    if want != _HOST["threads"]:
        _host().execute("RESET threads" if want is None else f"SET threads = {int(want)}")
        _HOST["threads"] = want


def _attach(path: Path, read_only: bool, threads: int | None = None) -> Connection:
    key = str(Path(path).resolve())
    with _HOST_LOCK:
        host = _host()
        entry = _ATTACHED.get(key)
        if entry is not None and entry[1] != read_only:
            raise duckdb.ConnectionException(
                f"{path}: already open in this process {'read-only' if entry[1] else 'for writing'}; "
                f"cannot open it {'read-only' if read_only else 'for writing'} as well")
        if entry is None:
            stale = _STALE.pop(key, None)
            if stale is not None:
                host.execute(f"DETACH DATABASE IF EXISTS {stale}")
            _HOST["n"] += 1
            alias = f"sla_db_{_HOST['n']}"
            host.execute(f"ATTACH {_sql_text(key)} AS {alias}{' (READ_ONLY)' if read_only else ''}")
            entry = _ATTACHED[key] = [alias, read_only, 0]
        cur = host.cursor()
        try:
            cur.execute(f"USE {entry[0]}")
            cur.execute("SET enable_progress_bar = false")  # none on the terminal
        except BaseException:
            cur.close()
            if entry[2] == 0:
                _detach(key)
            raise
        entry[2] += 1
        con = Connection(cur, key, Path(path))
        if threads is not None:
            _THREADS[id(con)] = threads
            _apply_threads()
        return con


def _detach(key: str) -> None:
    alias = _ATTACHED.pop(key)[0]
    try:
        _host().execute(f"DETACH DATABASE {alias}")
    except duckdb.Error:
        _STALE[key] = alias  # e.g. its checkpoint met a full disk: tried again before the path is reused
        raise


def _release(con: Connection) -> None:
    with _HOST_LOCK:
        if _HOST["pid"] != os.getpid():
            return
        if _THREADS.pop(id(con), None) is not None:
            _apply_threads()
        entry = _ATTACHED.get(con._key)
        if entry is None:
            return
        entry[2] -= 1
        if entry[2] <= 0:
            _detach(con._key)


@functools.cache
def _empty_database() -> bytes:
    """The bytes of a new database file holding every table and view of this version (made once
    per process: a new file is this copy, not 40 ms of DDL)."""
    with tempfile.TemporaryDirectory(prefix="sla-empty-") as d:
        f = Path(d) / "empty.duckdb"
        con = _attach(f, read_only=False)
        try:
            _make_schema(con)
        finally:
            con.close()
        return f.read_bytes()


def _new_file(path: Path) -> None:
    """Put the empty database in place at ``path`` (never over a file another process made meanwhile)."""
    tmp = path.with_name(f".{path.name}.empty-{os.getpid()}-{time.monotonic_ns()}")
    try:
        tmp.write_bytes(_empty_database())
        os.link(tmp, path)
    except (OSError, duckdb.Error):  # made meanwhile, no hard links (FAT), no room: DuckDB opens or
        pass                         # makes the file, or says why
    finally:
        tmp.unlink(missing_ok=True)


def _make_schema(con) -> None:
    # a file of an earlier version holds `tickets` as a view: it becomes the table (filled now, as
    # the view read) before the tables are made
    was_view = bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'tickets' "
                                "AND database_name = current_database()").fetchall()[0][0])
    if was_view:
        con.execute("DROP VIEW IF EXISTS ticket_conflicts; DROP VIEW tickets")
    con.execute(SCHEMA)
    con.execute(_UPGRADE)
    con.execute(FINDINGS_TABLES)
    con.execute(VIEWS)
    if was_view:
        con.execute(REBUILD_TICKETS)
    set_meta(con, "schema_version", SCHEMA_VERSION)


_UPGRADE = "ALTER TABLE ingest_log ADD COLUMN IF NOT EXISTS rows_merged INTEGER DEFAULT 0"
# the tables and views a file holds, by the text that made them: a read-write connection to a file
# made by this version does not run the DDL again (30 ms a connection)
SCHEMA_VERSION = hashlib.sha256("\n".join([SCHEMA, _UPGRADE, FINDINGS_TABLES, VIEWS, REBUILD_TICKETS]).encode()
                                ).hexdigest()[:16]


def _schema_version(con) -> str | None:
    try:
        return get_meta(con, "schema_version")
    except duckdb.CatalogException:  # a new file: no meta table yet
        return None


@functools.lru_cache(maxsize=8)
def _pins(text: str) -> dict[str, str]:
    return json.loads(text or "{}")


def _pinned(path: Path) -> Path | None:
    """The snapshot ``path`` is pinned to in this process (a report being rendered), or None."""
    text = os.environ.get(PINS_ENV)
    if not text:
        return None
    pinned = _pins(text).get(str(path.resolve()))
    return Path(pinned) if pinned and os.path.exists(pinned) else None


class Reader:
    """A read-only connection that follows the published state: before each query it checks (a
    few ``stat`` calls and a look for pending files; none for a pinned snapshot) whether a writer
    has published a newer file, and if so re-opens it. Each query
    sees one whole state. Use it like a DuckDB connection: ``execute``, ``sql``, ``close``; other
    attributes are those of the current DuckDB connection."""

    def __init__(self, path: str | Path, wait_seconds: float | None = None):
        self.path = Path(path)
        self._wait = wait_seconds
        self._con = self._previous = None
        self._stamp = None
        self._pin: Path | None = None
        self._pin_text: str | None = None  # the pins text (os.environ) the pin was read from
        self._tables: frozenset[str] | None = None
        self._closed = False
        self._refresh()

    def _signature(self, f: Path | None = None):
        return file_state(f or current_file(self.path))

    def _open(self):
        """A connection to the current file through a private hard link: DuckDB keeps one database
        instance per path in a process, so a plain ``duckdb.connect(path)`` here while another
        connection to ``path`` is open would get the old state again."""
        f = current_file(self.path)
        if _pinned(self.path) == f:  # a pinned snapshot never changes: shares the renderer's open instance
            return connect(f, read_only=True, wait_seconds=self._wait), self._signature(f)
        link = f.with_name(f".{self.path.name}.read-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.link(f, link)
        except OSError:
            return connect(self.path, read_only=True, wait_seconds=self._wait), self._signature(f)
        try:
            return connect(link, read_only=True, wait_seconds=self._wait), self._signature(link)
        finally:
            try:
                link.unlink()  # the open connection keeps the file (Windows: removed by the next writer)
            except OSError:
                pass

    def _refresh(self):
        if self._closed:
            raise duckdb.ConnectionException("Connection already closed!")
        if self._con is not None and self._pin is not None:  # a pinned snapshot never changes
            text = os.environ.get(PINS_ENV)
            if text == self._pin_text:  # the same pins text: the same snapshot, still held
                return self._con
            if _pinned(self.path) == self._pin:  # still pinned to it, among other pins now
                self._pin_text = text
                return self._con
        try:
            stamp = self._signature()
        except FileNotFoundError:
            stamp = None
        if self._con is None or (stamp is not None and stamp != self._stamp):
            con, stamp = self._open()
            # the state before stays open one more publication, for a relation made from it just now
            if self._previous is not None:
                try:
                    self._previous.close()
                except duckdb.Error:
                    pass
            self._previous, self._con, self._stamp = self._con, con, stamp
            self._pin, self._pin_text = _pinned(self.path), os.environ.get(PINS_ENV)
            self._tables = None
        return self._con

    def pinned_to(self) -> Path | None:
        """The pinned snapshot this reader reads (a report being rendered), or None."""
        self._refresh()
        return self._pin if self._pin is not None and os.environ.get(PINS_ENV) == self._pin_text else None

    def table_names(self) -> frozenset[str]:
        """The tables and views of the current state (read once per state)."""
        con = self._refresh()
        if self._tables is None:
            self._tables = frozenset(r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog IN (current_database(), 'temp')").fetchall())
        return self._tables

    def execute(self, query: str, parameters=None):
        return self._refresh().execute(query, parameters or [])

    def sql(self, query: str, *args, **kwargs):
        return self._refresh().sql(query, *args, **kwargs)

    def close(self) -> None:
        for con in (self._con, self._previous):
            if con is not None:
                con.close()
        self._con = self._previous = None
        self._closed = True

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._refresh(), name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_db(path: str | Path | None = None, wait_seconds: float | None = None) -> Reader:
    """A read-only connection to the project database (default ``data/processed/sla.duckdb``) that
    sees each new state on its next query and never stands in a writer's way: the documented way
    for notebooks, reports and analysts (docs/tables.md). Also ``sla_lib.open_db``."""
    return Reader(config.DB_PATH if path is None else path, wait_seconds)


# -- results kept for one pinned state --------------------------------------------------------------------------
_MEMOS: dict[str, dict] = {}  # pinned snapshot -> {call: result}; dropped when the snapshot ends


def state_memo(con) -> dict | None:
    """A dict kept for the state ``con`` reads when it is a :class:`Reader` of a pinned snapshot (a
    report being rendered: the notebook and the print edition ask the same questions of one state
    that never changes); None otherwise. Dropped when the snapshot ends."""
    if not isinstance(con, Reader) or con._closed:
        return None
    pin = con.pinned_to()
    return None if pin is None else _MEMOS.setdefault(str(pin), {})


_MISS = object()


def _memo_key(a):
    """A contract by its file's sha256 and its clauses (a copy changed in memory, such as the
    review's what-if contracts, has clauses of its own); anything else as it is."""
    sha = getattr(a, "sha256", None)
    return a if sha is None else ("contract", sha, id(getattr(a, "clauses", None)))


def per_state(fn):
    """Decorate a report function ``fn(con, ...)`` whose result depends only on the database state
    and its arguments: called once per pinned state and arguments (:func:`state_memo`). Every
    caller gets its own copy of a DataFrame, dict or list (one level deep: decorate only functions
    that return a frame, a scalar, or a flat dict or list of scalars). Unpinned connections call
    ``fn`` every time; so does an unhashable argument."""
    @functools.wraps(fn)
    def wrapper(con, *args, **kwargs):
        memo = state_memo(con)
        if memo is None:
            return fn(con, *args, **kwargs)
        key = (fn, *(_memo_key(a) for a in args), *sorted((k, _memo_key(v)) for k, v in kwargs.items()))
        try:
            hit = memo.get(key, _MISS)
        except TypeError:  # an unhashable argument (a list of months): not kept
            return fn(con, *args, **kwargs)
        if hit is _MISS:
            hit = memo[key] = fn(con, *args, **kwargs)
        return hit.copy() if hasattr(hit, "copy") and not isinstance(hit, str | bytes) else hit
    return wrapper


@contextmanager
def snapshot(path: str | Path):
    """Pin the current state of ``path`` for as long as the block runs (a report being rendered):
    a hard link to the current file, which a publication does not change, registered so that
    :func:`connect`, :func:`open_db` and a report's kernel read it. Without hard links (FAT), the
    file itself."""
    path = Path(path)
    source = current_file(path)
    pin = source.with_name(f".{path.name}.pin-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.link(source, pin)
    except OSError:
        yield source
        return
    before = os.environ.get(PINS_ENV)
    pins = json.loads(before or "{}")
    pins[str(path.resolve())] = str(pin.resolve())
    os.environ[PINS_ENV] = json.dumps(pins)
    try:
        yield pin
    finally:
        if before is None:
            os.environ.pop(PINS_ENV, None)
        else:
            os.environ[PINS_ENV] = before
        _MEMOS.pop(str(pin.resolve()), None)
        try:
            pin.unlink()
        except OSError:
            pass


# -- the writer ----------------------------------------------------------------------------------------------
def _set_aside(path: Path, echo) -> None:
    """A published file that is not a database (0 bytes or cut, left by an older version that met a
    full disk) is renamed out of the way, with a message, so that this run starts afresh."""
    if path.exists() and not is_database_file(path):
        aside = path.with_name(f"{path.name}.broken-{dt.datetime.now():%Y%m%d-%H%M%S}")
        os.replace(path, aside)
        Path(f"{path}.wal").unlink(missing_ok=True)
        echo(f"  ! {path}: not a DuckDB database ({aside.stat().st_size} bytes, left by an interrupted run); "
             f"set aside as {aside.name}; starting a new database")


def _leftovers(path: Path) -> None:
    """Copies left by writers that were killed (we hold the writer lock: none is in use)."""
    for stale in path.parent.glob(f".{path.name}.*.new*"):
        stale.unlink(missing_ok=True)
    for stale in [*path.parent.glob(f".{path.name}.pin-*"), *path.parent.glob(f".{path.name}.read-*")]:
        try:  # a pin of a report being rendered elsewhere is open: left alone (and fails on Windows)
            st = stale.stat()
            # a pin is a hard link: its mtime is the database's; making the link sets its ctime
            if time.time() - max(st.st_mtime, st.st_ctime) > 24 * 3600:
                stale.unlink()
        except OSError:
            pass


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _publish(new: Path, path: Path, echo, replace=os.replace, retries: int | None = None) -> Path:
    """Rename the finished copy over the published name. Where an open file cannot be replaced
    (Windows, while a reader holds ``sla.duckdb``), the copy is kept under a new name of its own,
    ``sla.duckdb.pending-<n>``, which no reader can have open: every reader opens the newest of
    those, and a later run puts the newest in place and removes the others it can."""
    _fsync(new)
    retries = (10 if os.name == "nt" else 1) if retries is None else retries
    for attempt in range(retries):
        try:
            replace(new, path)
            for old in pending_paths(path):
                try:
                    old.unlink()
                except OSError:  # still open by a reader (Windows): removed by a later run
                    pass
            _fsync(path.parent)
            return path
        except PermissionError:
            if os.name != "nt" and retries == 1 and replace is os.replace:
                raise
            time.sleep(0.1 * (attempt + 1))
    waiting = pending_paths(path)
    last = waiting[-1].name.rsplit("-", 1)[-1] if waiting else "0"
    pending = path.with_name(f"{path.name}.pending-{int(last) + 1 if last.isdigit() else 1}")
    replace(new, pending)
    echo(f"  ~ {path}: held open by a reader, so the new state waits in {pending.name}; "
         "sla commands and sla_lib.open_db() read it, and the next run puts it in place")
    return pending


# a load whose database and exports together are smaller than this runs DuckDB on one thread: its
# statements are many and small, and threads cost more than they give (the demo's 15 files 1.68 s
# -> 1.47 s, 40,000 tickets 0.72 s -> 0.59 s); 150,000 tickets (26 MB) are faster on all cores
# (1.46 s, 1.79 s on one)
SINGLE_THREAD_BYTES = 16 * 2**20


@contextmanager
def writing(path: str | Path = config.DB_PATH, wait_seconds: float | None = None, needed_bytes: int = 0,
            echo=print, input_bytes: int | None = None):
    """A connection to a private copy of database ``path`` that is published whole when the block
    ends without an error, and thrown away otherwise (see the module docstring).

    One writer at a time: a second waits up to ``wait_seconds`` (default 30 s,
    ``SLA_DB_WAIT_SECONDS``) for the writer lock, then stops with a clear message. A full or
    read-only disk is a :class:`DiskError` naming the folder, the space needed (the copy plus
    ``needed_bytes``) and the space free; the published file is left as it was. With ``input_bytes``
    (the size of the exports to load), a small load runs on one thread (SINGLE_THREAD_BYTES)."""
    path = Path(path)
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("SLA_DB_WAIT_SECONDS", "30"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise (disk_error(e, path) or SlaError(f"{path.parent}: cannot create the folder ({e})")) from None
    lock = FileLock(lock_path(path))
    try:
        got = lock.wait(wait_seconds)
    except OSError as e:
        raise (disk_error(e, path) or SlaError(f"{lock.path}: cannot take the writer lock ({e})")) from None
    if not got:
        raise DatabaseBusy(f"{path}: the database is being written by another sla process ({lock.holder()}); "
                           f"waited {wait_seconds:.0f} s. Try again when it has finished.")
    new = path.with_name(f".{path.name}.{os.getpid()}.new")
    con = None
    try:
        _leftovers(path)
        _set_aside(path, echo)
        base = current_file(path)
        size = base.stat().st_size if base.exists() else 0
        needed = size + needed_bytes + 16 * 2**20
        guard = None
        try:
            if base.exists():
                # a read-only connection while copying: it waits for (and then keeps out) a process
                # holding the file for writing, e.g. a DuckDB client opened read-write
                guard = connect(base, read_only=True, wait_seconds=wait_seconds)
                shutil.copyfile(base, new)
                wal = Path(f"{base}.wal")
                if wal.exists():  # an older version was stopped before its checkpoint: replayed in the copy
                    shutil.copyfile(wal, Path(f"{new}.wal"))
            small = input_bytes is not None and size + input_bytes < SINGLE_THREAD_BYTES
            con = connect(new, wait_seconds=wait_seconds, threads=1 if small else None)
        except (OSError, duckdb.Error) as e:
            raise (disk_error(e, path, needed) or e) from None
        finally:
            if guard is not None:
                guard.close()
        try:
            yield con
            con.execute("CHECKPOINT")
            con.close()
            con = None
        except (OSError, duckdb.Error) as e:
            err = disk_error(e, path, needed)
            if err is None:
                raise
            raise err from None
        if Path(f"{new}.wal").exists():
            raise SlaError(f"{new}: the database copy was not checkpointed; nothing was published")
        try:
            _publish(new, path, echo)
        except OSError as e:
            raise (disk_error(e, path, needed) or e) from None
    finally:
        if con is not None:
            try:
                con.close()
            except duckdb.Error:
                pass
        for leftover in (new, Path(f"{new}.wal"), Path(f"{new}.tmp")):
            try:
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
            except OSError:
                pass
        lock.release()


def table_exists(con, name: str) -> bool:
    """Whether the database holds a table or view ``name`` (older files may lack newer tables)."""
    if isinstance(con, Reader):
        return name in con.table_names()
    # duckdb_tables() and duckdb_views() are what information_schema.tables reads, at half the cost
    # (the file's own, not those of another file open in this process: see _attach)
    return bool(con.execute("SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = $1 "
                            "AND database_name IN (current_database(), 'temp')) + (SELECT count(*) FROM "
                            "duckdb_views() WHERE view_name = $1 AND NOT internal "
                            "AND database_name IN (current_database(), 'temp'))", [name]).fetchall()[0][0])


def scalar(con, sql: str, params: list | None = None):
    """First column of the first row, or None. Reads the whole (small) result, which DuckDB 2
    requires before the connection can run anything else."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def get_meta(con, key: str, default: str | None = None) -> str | None:
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return rows[0][0] if rows else default


def set_meta(con, key: str | dict[str, str], value: str | None = None) -> None:
    """meta[key] = value, or every key of a dict ``key`` in one statement."""
    items = list(key.items()) if isinstance(key, dict) else [(key, value)]
    if not items:
        return
    con.execute(f"INSERT OR REPLACE INTO meta VALUES {', '.join('(?, ?)' for _ in items)}",
                [v for kv in items for v in kv])


@contextmanager
def transaction(con):
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def project_relative(p: Path) -> str:
    """The path relative to the working folder when inside it, else absolute."""
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive on Windows
        return str(p.resolve())
    return str(p.resolve()) if rel.startswith("..") else rel.replace(os.sep, "/")
