"""The journal of component changes in flight: written before a create/update/delete is sent,
cleared once the registry has recorded its outcome.

It is a small JSON file of its own (``journal.json`` next to the registry), rewritten
atomically (temp file, fsync, os.replace) under a file lock, so a crash at any point leaves
either the old or the new journal. What a crash leaves behind is reported at the next start
by :meth:`Journal.pending`: a ``started`` entry means the change may or may not have been
made; a ``done`` entry that the change was made but the registry never recorded it. Either
way the next sync's three-way comparison sees the component as it is now; the report tells
the person why it looks the way it does.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from filelock import FileLock

from registry.models import utc_now

JOURNAL_FILE = "journal.json"
JOURNAL_VERSION = 1

STARTED = "started"   # sent (or about to be sent) to the component; outcome unknown if it stays
DONE = "done"         # the component made the change; the registry has not recorded it yet


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
    kind: str                      # create / update / delete
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
        known = {k: data[k] for k in ("id", "run", "function", "component", "kind", "resource_id", "status",
                                      "started_at", "pid", "host", "user") if k in data}
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
    """``journal.json``: begin() before a component change, finish() after it, clear_run() once
    the registry has recorded the run, pending() for what an earlier run left behind."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=10)

    @classmethod
    def for_store(cls, store: Any) -> "Journal":
        """The journal that sits next to a RegistryStore's file (the config dir)."""
        return cls(Path(store.path).parent / JOURNAL_FILE)

    @classmethod
    def in_dir(cls, config_dir: str | Path) -> "Journal":
        return cls(Path(config_dir) / JOURNAL_FILE)

    # --- reading ---------------------------------------------------------------------------
    def entries(self) -> list[JournalEntry]:
        """Everything in the journal, in the order it was written."""
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "null")
            if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
                raise ValueError("not a journal (expected an object with an entries list)")
            return [JournalEntry.from_dict(e) for e in data["entries"]]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise JournalError(
                f"cannot read the operations journal {self.path}: {exc}. It lists cloud changes in flight; "
                f"check your components, then move the file away to continue") from exc

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

    # --- writing ---------------------------------------------------------------------------
    def begin(self, function: str, component: str, kind: str, *, resource_id: str = "",
              run: str = "") -> JournalEntry:
        """Record a component change about to be made (call before making it)."""
        entry = JournalEntry(function, component, str(kind), resource_id=resource_id, run=run)
        with self._lock:
            self._write(self.entries() + [entry])
        return entry

    def finish(self, entry: JournalEntry, *, made: bool) -> None:
        """The component call returned: ``made`` marks it done (awaiting the registry write);
        otherwise (it failed cleanly, nothing changed) the entry goes."""
        with self._lock:
            entries = self.entries()
            if made:
                for e in entries:
                    if e.id == entry.id:
                        e.status = DONE
                entry.status = DONE
            else:
                entries = [e for e in entries if e.id != entry.id]
            self._write(entries)

    def clear_run(self, run: str) -> None:
        """The registry recorded this run: its entries are history now."""
        with self._lock:
            entries = self.entries()
            kept = [e for e in entries if e.run != run]
            if len(kept) != len(entries):
                self._write(kept)

    def acknowledge(self, ids: Iterable[str] | None = None) -> int:
        """Drop interrupted entries a person has seen (all pending ones when ``ids`` is None)."""
        with self._lock:
            entries = self.entries()
            gone = {e.id for e in self.pending()} if ids is None else set(ids)
            kept = [e for e in entries if e.id not in gone]
            self._write(kept)
            return len(entries) - len(kept)

    def _write(self, entries: list[JournalEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not entries and not self.path.exists():
            return
        payload = json.dumps({"version": JOURNAL_VERSION, "entries": [e.to_dict() for e in entries]},
                             indent=1, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
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


# Runs in progress in this very process (an apply marks its run here while it goes), so
# pending() can tell this process's interrupted runs (e.g. an exception escaped) from live ones.
_LIVE_RUNS: set[str] = set()


def mark_live(run: str) -> None:
    _LIVE_RUNS.add(run)


def mark_over(run: str) -> None:
    _LIVE_RUNS.discard(run)
