"""Every request the emulator answered, in order: for tests (what did the client send, what came
back) and for users (``--request-log FILE``).

In memory, an entry holds the request and the response as JSON (``body``, ``response``), the
headers that matter to the API's contract (``content_type``, ``field_mask``, whether an
``Authorization`` header came, never its value) and, for an upload, the size of the bytes.
The newest ``capacity`` entries are kept (2,000: a listing of many functions is a large
answer), so a long-running sandbox does not grow without end; the emulator run alone keeps
none in memory (``capacity=0``: nothing could read them there).
The file gets one JSON line per request with only ``method``, ``path``, ``query``, ``status``
(and ``time``): bodies hold environment values, which must not land in a file.

``wait_for`` blocks until an entry matching a predicate arrives: tests wait on the emulator's
own record, never on elapsed time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

FILE_KEYS = ("time", "method", "path", "query", "status")


class RequestLog:
    def __init__(self, path: str | Path | None = None, capacity: int = 2_000):
        self.path = Path(path) if path else None
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._changed = threading.Condition()
        self._file = self.path.open("a", encoding="utf-8") if self.path else None

    def record(self, entry: dict[str, Any]) -> None:
        entry = {"time": round(time.time(), 6), **entry}
        with self._changed:
            self._entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps({k: entry[k] for k in FILE_KEYS if k in entry}) + "\n")
                self._file.flush()
            self._changed.notify_all()

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """A copy of the kept entries (``since``: skip that many of them)."""
        with self._changed:
            return list(self._entries)[since:]

    def __len__(self) -> int:
        with self._changed:
            return len(self._entries)

    def clear(self) -> None:
        with self._changed:
            self._entries.clear()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        """The first kept entry matching ``predicate``, waiting for it up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for entry in self._entries:
                    if predicate(entry):
                        return entry
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching request reached the emulator")
                self._changed.wait(remaining)

    def close(self) -> None:
        with self._changed:
            if self._file is not None:
                self._file.close()
                self._file = None
