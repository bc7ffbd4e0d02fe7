"""The journal of component changes in flight: written before a create/update/delete is sent,
cleared once the registry has recorded its outcome.

It is a file of its own (``journal.json`` next to the registry) holding one JSON object a
line, one line per event, only ever appended to (so an event costs the same however long
the journal is):

    {"event":"begin","id":"…","run":"…","function":"fn","component":"aws","kind":"create",
     "resource_id":"","status":"started","started_at":"…","pid":1234,"host":"…","user":"…"}
    {"event":"finish","id":"…","made":true}         made: the change happened (status done);
                                                     not made: it failed cleanly (entry gone)
    {"event":"clear","ids":["…", …]}                 the registry recorded these (or a person
    {"event":"clear","run":"…"}                      acknowledged them): gone

Reading folds the lines into the entries still open. A ``begin`` is fsynced before the change
is sent (the one guarantee the journal exists for); a ``finish`` is not (the next begin's or
clear's fsync makes it durable; lost in a crash, its entry reads as "may or may not have
happened", which is still true). A crash mid-append leaves a torn last line: it is ignored
when reading and cut off before the next append. Finished runs' lines are dropped by
compaction (the file rewritten atomically with only the open entries, or removed when none
are left) at the end of each apply and before the next one starts. Every write holds the
journal's lock (``journal.json.lock``, an flock), so a compaction never loses another
process's append. Files are 0600.

What a crash leaves behind is reported at the next start by :meth:`Journal.pending`: a
``started`` entry means the change may or may not have been made; a ``done`` entry that the
change was made but the registry never recorded it. Either way the next sync's three-way
comparison sees the component as it is now; the report tells the person why it looks the way
it does.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from functions_tui.registry.models import utc_now

try:  # an flock on the lock file (what filelock does on Unix, without its per-call overhead)
    import fcntl
except ImportError:  # pragma: no cover - Windows: filelock's own lock
    fcntl = None  # type: ignore[assignment]

JOURNAL_FILE = "journal.json"
JOURNAL_VERSION = 2          # 1: one JSON object rewritten whole; 2: one event a line
FILE_MODE = 0o600
LOCK_TIMEOUT_S = 10.0

STARTED = "started"   # sent (or about to be sent) to the component; outcome unknown if it stays
DONE = "done"         # the component made the change; the registry has not recorded it yet

#: How every line starts (orjson keeps key order): a torn last line is a prefix of a line
#: written this way; anything else that does not parse is damage, not a crash mid-append.
LINE_HEAD = b'{"event":"'
_ENTRY_FIELDS = ("id", "run", "function", "component", "kind", "resource_id", "status",
                 "started_at", "pid", "host", "user")


class JournalError(Exception):
    """The journal cannot be read or written; the message names the file and what to do."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class JournalEntry:
    function: str
    component: str
    kind: str                      # create / update / delete / claim
    resource_id: str = ""
    status: str = STARTED
    run: str = ""                  # one id per apply, so a run clears only its own entries
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_at: str = field(default_factory=utc_now)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    user: str = field(default_factory=lambda: os.environ.get("USER", "unknown"))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "run": self.run, "function": self.function, "component": self.component,
                "kind": self.kind, "resource_id": self.resource_id, "status": self.status,
                "started_at": self.started_at, "pid": self.pid, "host": self.host, "user": self.user}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JournalEntry":
        known = {k: data[k] for k in _ENTRY_FIELDS if k in data}
        return cls(**known)

    def describe(self) -> str:
        """One line for a person: what was interrupted and what it means."""
        what = f"{self.kind} of {self.function} on {self.component}"
        when = f"started {self.started_at} by {self.user} (pid {self.pid} on {self.host})"
        if self.status == DONE:
            return (f"{what} {when} was made but never recorded in the registry; "
                    f"the next sync will see {self.component} as it is now")
        return (f"{what} {when} was interrupted: it may or may not have happened; "
                f"check {self.component}, then run a sync")


class Journal:
    """``journal.json``: begin() before a component change, finish() after it, clear() once the
    registry has recorded it (clear_run() for a whole run), pending() for what an earlier run
    left behind, compact() to drop finished entries' lines."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.lock_path = Path(str(self.path) + ".lock")
        self._dir_ready = False

    @classmethod
    def for_store(cls, store: Any) -> "Journal":
        """The journal that sits next to a RegistryStore's file (the config dir)."""
        return cls(Path(store.path).parent / JOURNAL_FILE)

    @classmethod
    def in_dir(cls, config_dir: str | Path) -> "Journal":
        return cls(Path(config_dir) / JOURNAL_FILE)

    # --- reading ---------------------------------------------------------------------------
    def entries(self) -> list[JournalEntry]:
        """The open entries (begun, not cleared), in the order they were begun."""
        return list(self._read()[0].values())

    def pending(self, *, include_live: bool = False) -> list[JournalEntry]:
        """Entries left by runs that are over (their process is gone): interrupted operations.

        A process still running on this host is mid-apply, not interrupted; ``include_live``
        lists its entries too.
        """
        here = socket.gethostname()

        def interrupted(e: JournalEntry) -> bool:
            if include_live or e.host != here:  # another host's process cannot be checked: report it
                return True
            if int(e.pid) == os.getpid():       # this process: over unless an apply is still running it
                return e.run not in _LIVE_RUNS
            return not _pid_alive(int(e.pid))

        return [e for e in self.entries() if interrupted(e)]

    def _read(self) -> tuple[dict[str, JournalEntry], int]:
        """(open entries by id, number of lines read); raises JournalError on damage."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}, 0
        except OSError as exc:
            raise self._error(exc) from exc
        try:
            return _fold(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> JournalError:
        return JournalError(
            f"cannot read the operations journal {self.path}: {exc}. It lists cloud changes in flight; "
            f"check your components, then move the file away to continue")

    # --- writing ---------------------------------------------------------------------------
    def begin(self, function: str, component: str, kind: str, *, resource_id: str = "",
              run: str = "") -> JournalEntry:
        """Record a component change about to be made (call before making it): on disk
        (fsynced) when this returns."""
        entry = JournalEntry(function, component, str(kind), resource_id=resource_id, run=run)
        self._append({"event": "begin", **entry.to_dict()}, durable=True)
        return entry

    def finish(self, entry: JournalEntry, *, made: bool) -> None:
        """The component call returned: ``made`` marks it done (awaiting the registry write);
        otherwise (it failed cleanly, nothing changed) the entry goes."""
        self._append({"event": "finish", "id": entry.id, "made": bool(made)}, durable=False)
        if made:
            entry.status = DONE

    def clear(self, ids: Iterable[str]) -> None:
        """The registry recorded these entries' changes: they are history now."""
        ids = [str(i) for i in ids]
        if ids:
            self._append({"event": "clear", "ids": ids}, durable=True)

    def clear_run(self, run: str) -> None:
        """The registry recorded this run: its entries are history now (and the file is
        compacted)."""
        with self._locked():
            entries, lines = self._read()
            if any(e.run == run for e in entries.values()):
                entries = {i: e for i, e in entries.items() if e.run != run}
            if lines:
                self._rewrite(entries, lines)

    def acknowledge(self, ids: Iterable[str] | None = None) -> int:
        """Drop interrupted entries a person has seen (all pending ones when ``ids`` is None)."""
        with self._locked():
            entries, lines = self._read()
            gone = {e.id for e in self.pending()} if ids is None else set(ids)
            kept = {i: e for i, e in entries.items() if i not in gone}
            if lines:
                self._rewrite(kept, lines)
            return len(entries) - len(kept)

    def compact(self) -> int:
        """Rewrite the file with only its open entries (finished runs' lines dropped; no file
        when nothing is open). Reads it first: a damaged journal raises JournalError.
        Returns the number of open entries."""
        with self._locked():
            entries, lines = self._read()
            if lines:
                self._rewrite(entries, lines)
            return len(entries)

    # --- the file ---------------------------------------------------------------------------
    def _ensure_dir(self) -> None:
        if not self._dir_ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._dir_ready = True

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dir()
        if fcntl is None:  # pragma: no cover - Windows
            from filelock import FileLock

            with FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S):
                yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            deadline = None
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    now = time.monotonic()
                    deadline = deadline or now + LOCK_TIMEOUT_S
                    if now >= deadline:
                        raise JournalError(f"the operations journal {self.path} is locked by another process"
                                           f" for more than {LOCK_TIMEOUT_S:.0f}s ({self.lock_path}); retry") from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _append(self, event: dict[str, Any], *, durable: bool) -> None:
        line = orjson.dumps(event) + b"\n"
        with self._locked():
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    _cut_torn_tail(fd, size)  # a crash mid-append: the torn line goes
                os.write(fd, line)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def _rewrite(self, entries: dict[str, JournalEntry], lines: int) -> None:
        """Replace the file (under the lock) with one begin line per open entry; none: remove it.
        Temp files a killed rewrite left behind go first (every rewrite holds the lock, so
        any such file now is garbage)."""
        for stale in self.path.parent.glob(".journal-*.tmp"):
            stale.unlink(missing_ok=True)
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        if len(entries) == lines:
            return  # nothing to drop
        payload = b"".join(orjson.dumps({"event": "begin", **e.to_dict()}) + b"\n" for e in entries.values())
        fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def _cut_torn_tail(fd: int, size: int) -> None:
    """Truncate the file after its last newline (the torn line is not an event)."""
    end, chunk = size, 4096
    while end > 0:
        start = max(0, end - chunk)
        data = os.pread(fd, end - start, start)
        at = data.rfind(b"\n")
        if at >= 0:
            os.ftruncate(fd, start + at + 1)
            return
        end = start
    os.ftruncate(fd, 0)


def _torn(tail: bytes) -> bool:
    """A last line without its newline that a crash mid-append could have left: a prefix of
    a line we write, or the zeros a filesystem shows for data that never reached the disk."""
    stripped = tail.rstrip(b"\x00")
    return not stripped or LINE_HEAD.startswith(stripped[:len(LINE_HEAD)])


def _fold(data: bytes) -> tuple[dict[str, JournalEntry], int]:
    """The open entries the events add up to, and how many lines there were."""
    entries: dict[str, JournalEntry] = {}
    if not data.strip():
        return entries, 0
    if data.lstrip()[:1] == b"{" and not data.startswith(LINE_HEAD):
        legacy = _legacy(data)
        if legacy is not None:
            return legacy, len(legacy) + 1  # +1: always rewritten in today's format
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, as it should
    if tail and not _torn(tail):
        raise ValueError(f"line {len(lines) + 1} is not a journal event (and not a torn last line)")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            event = orjson.loads(raw)
            kind = event["event"]
            if kind == "begin":
                entry = JournalEntry.from_dict(event)
                entries[entry.id] = entry
            elif kind == "finish":
                entry = entries.get(event["id"])
                if entry is not None:
                    if event.get("made"):
                        entry.status = DONE
                    else:
                        del entries[entry.id]
            elif kind == "clear":
                for i in event.get("ids") or ():
                    entries.pop(i, None)
                run = event.get("run")
                if run:
                    for i in [i for i, e in entries.items() if e.run == run]:
                        del entries[i]
            else:
                raise ValueError(f"unknown event {kind!r}")
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"line {number} is not a journal event: {exc}") from None
    return entries, len(lines)


def _legacy(data: bytes) -> dict[str, JournalEntry] | None:
    """Version 1: one object ``{"version": 1, "entries": [...]}`` (None: not that format)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise ValueError("not a journal (expected one event a line)")
    out = {}
    for item in doc["entries"]:
        entry = JournalEntry.from_dict(item)
        out[entry.id] = entry
    return out


# Runs in progress in this very process (an apply marks its run here while it goes), so
# pending() can tell this process's interrupted runs (e.g. an exception escaped) from live ones.
_LIVE_RUNS: set[str] = set()


def mark_live(run: str) -> None:
    _LIVE_RUNS.add(run)


def mark_over(run: str) -> None:
    _LIVE_RUNS.discard(run)
