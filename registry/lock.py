"""The registry's inter-process lock, with a note saying who holds it.

The lock itself is ``filelock`` (an ``flock`` on ``<registry>.lock``). The kernel drops an
flock when its process dies, however it dies, so a crashed or SIGKILLed holder never
blocks the next writer; on filesystems without flock, filelock falls back to a marker file
and breaks it when its pid is gone. Waiting is bounded by a timeout.

Next to the lock, ``<registry>.lock.json`` records the holder (pid, host, command, start
time) while it holds the lock, so a process that times out can say who is in the way. The
note left behind by a killed holder is simply overwritten by the next one.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from functions_tui.registry.errors import LockTimeoutError
from functions_tui.registry.storage import FILE_MODE, pid_alive, secure_dir, write_temp


def command_line(limit: int = 300) -> str:
    """This process's command as a person typed it (``functions-tui add fns``), shortened."""
    prog = os.path.basename(sys.argv[0] or "python") if sys.argv else "python"
    if prog == "__main__.py":  # python -m app
        prog = "functions-tui"
    return " ".join([prog, *sys.argv[1:]])[:limit]


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the registry lock."""

    pid: int
    host: str
    command: str
    since: str

    @classmethod
    def current(cls) -> "LockHolder":
        command = command_line()
        since = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return cls(pid=os.getpid(), host=socket.gethostname(), command=command, since=since)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LockHolder":
        return cls(pid=int(data.get("pid", 0)), host=str(data.get("host", "?")),
                   command=str(data.get("command", "?")), since=str(data.get("since", "?")))

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "command": self.command, "since": self.since}

    def is_dead(self) -> bool:
        """True only when we can tell: same host and the pid is gone."""
        return self.host == socket.gethostname() and not pid_alive(self.pid)

    def describe(self) -> str:
        text = f"pid {self.pid} on {self.host} ({self.command!r}) since {self.since}"
        if self.pid == os.getpid() and self.host == socket.gethostname():
            text += " — this very process (a transaction still open on another RegistryStore?)"
        if self.is_dead():
            text += (" — that process has exited; if the lock is still held, a process it"
                     " started still has the lock file open")
        return text


def lock_path(registry: Path) -> Path:
    return registry.with_name(registry.name + ".lock")


def holder_path(registry: Path) -> Path:
    return registry.with_name(registry.name + ".lock.json")


def read_holder(registry: Path) -> LockHolder | None:
    """The recorded holder, or None when there is no (readable) note."""
    try:
        return LockHolder.from_dict(orjson.loads(holder_path(registry).read_bytes()))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


class RegistryLock:
    """``with RegistryLock(path, timeout):`` holds the registry's lock for the block."""

    def __init__(self, registry: Path, timeout: float) -> None:
        self.registry = Path(registry)
        self.timeout = timeout
        import filelock   # here: a command that only reads never pays for its import (~10 ms)

        self._timeout = filelock.Timeout
        self._lock = filelock.FileLock(str(lock_path(self.registry)), timeout=timeout,
                                       mode=FILE_MODE, thread_local=False)

    def acquire(self) -> None:
        secure_dir(self.registry.parent)
        started = time.monotonic()
        try:
            self._lock.acquire()
        except self._timeout:
            raise self._timeout_error(time.monotonic() - started) from None
        try:
            self._record_holder()
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        try:
            holder_path(self.registry).unlink(missing_ok=True)
        finally:
            self._lock.release()

    def __enter__(self) -> "RegistryLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _record_holder(self) -> None:
        # Informational only, so no fsync; written atomically so a reader never sees half.
        note = holder_path(self.registry)
        tmp = write_temp(note.parent, note.name, orjson.dumps(LockHolder.current().to_dict()), durable=False)
        os.replace(tmp, note)

    def _timeout_error(self, waited: float) -> LockTimeoutError:
        holder = read_holder(self.registry)
        who = holder.describe() if holder else "a process that left no holder note"
        return LockTimeoutError(
            f"registry {self.registry} is locked by {who}; gave up after {waited:.1f}s. "
            f"Wait for it to finish or stop it, then retry (lock file: {lock_path(self.registry)})."
        )
