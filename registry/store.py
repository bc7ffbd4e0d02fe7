"""The registry store: TinyDB on a crash-safe storage of our own.  (CONTRACT SKELETON)

Implemented by the store work (issue 2). Other modules code against exactly this API.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from registry.models import FunctionRecord, HistoryEntry

SCHEMA_VERSION = 1


class RegistryError(Exception):
    """Any registry failure. The message names the file and the way to fix it."""


class CorruptRegistryError(RegistryError):
    """0-byte, truncated, garbage or wrong-shaped file: never read as an empty registry."""


class StaleWriteError(RegistryError):
    """A write based on a read whose serial/lineage is no longer current."""


class LockTimeoutError(RegistryError):
    """Another process holds the registry lock; the message says who (pid, host, command, since)."""


@dataclass
class RegistrySnapshot:
    """A consistent read of the whole registry (no lock held after it returns)."""

    path: Path
    serial: int
    lineage: str
    schema: int
    functions: dict[str, FunctionRecord] = field(default_factory=dict)


class Transaction:
    """A read-modify-write under the inter-process lock; written once, atomically, on exit."""

    serial: int
    lineage: str

    def get(self, name: str) -> FunctionRecord | None: ...
    def names(self) -> list[str]: ...
    def records(self) -> Iterable[FunctionRecord]: ...
    def put(self, record: FunctionRecord, *, action: str = "update", component: str = "") -> None:
        """Insert or replace; appends a history entry with before/after and the txn's source."""
    def remove(self, name: str, *, action: str = "delete", component: str = "") -> None: ...


class RegistryStore:
    """Owns one registry file (``registry.json``), its ``.bak`` and its lock."""

    def __init__(self, path: str | Path, *, lock_timeout: float = 10.0) -> None:
        self.path = Path(path)

    def exists(self) -> bool: ...
    def load(self) -> RegistrySnapshot: ...

    @contextmanager
    def transaction(self, source: str, *, expected_serial: int | None = None,
                    expected_lineage: str | None = None) -> Iterator[Transaction]:
        """``source`` is one of sync / user / import (recorded in history).

        With ``expected_serial`` (from an earlier load), a registry changed since then is
        refused with StaleWriteError. Nothing is written when the block raises.
        """
        raise NotImplementedError
        yield  # pragma: no cover

    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]: ...
    def restore(self) -> Path:
        """Replace the registry with its last good backup; returns the backup path used."""
