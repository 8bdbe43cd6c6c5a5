"""A lock held by the operating system: the scheduled job's run lock and the database's writer lock."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from pathlib import Path


class FileLock:
    """An exclusive, non-blocking lock on ``path`` held by the operating system for this process.

    POSIX: ``flock`` on the file; Windows: ``msvcrt.locking`` of one byte far past the text. The
    kernel drops the lock when the process ends, however it ends, so a crashed run never leaves a
    stale lock behind; the file itself stays and says who held it last.
    """

    _WIN_OFFSET = 1 << 20

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.name == "nt":
                import msvcrt

                os.lseek(fd, self._WIN_OFFSET, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        info = (f"pid {os.getpid()} on {socket.gethostname()}, started "
                f"{dt.datetime.now().replace(microsecond=0).isoformat(sep=' ')}\n").encode()
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, info)
        if os.name != "nt":
            os.ftruncate(fd, len(info))
        return True

    def holder(self) -> str:
        try:
            text = self.path.read_bytes()[:200].decode("utf-8", errors="replace").strip("\x00 \n")
            return text.splitlines()[0] if text else "unknown process"
        except OSError:
            return "unknown process"

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if os.name == "nt":
                import msvcrt

                os.lseek(self.fd, self._WIN_OFFSET, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def wait(self, seconds: float, poll: float = 0.2) -> bool:
        """Acquire, waiting up to ``seconds`` for another holder to let go."""
        deadline = time.monotonic() + seconds
        while not self.acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        return True
