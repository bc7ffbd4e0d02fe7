"""Pausing Python's cyclic garbage collector around bursts of small acyclic objects.

Loading or saving a large registry, planning 10k functions and building the TUI's rows each
make ~100k fresh dicts and tuples with no cycles; the collector would rescan them again and
again (a collection also holds the GIL, stalling the UI's event loop). One mechanism for the
store, the engine and the app: nestable and thread-safe, so a pause that ends in one thread
never re-enables the collector while another thread still wants it paused.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def gc_paused(long_lived: bool = False) -> Iterator[None]:
    """Pause the collector for the block (process-wide; restored when the last pause ends).

    With ``long_lived`` (e.g. the parsed registry, kept as a snapshot), the objects built are
    then filed straight into the oldest generation (``freeze`` + ``unfreeze``: two list
    splices) instead of being scanned by the young-generation collection that the next
    allocation would trigger: that scan of a million fresh containers is a third of a load.
    They stay collectable; a process that froze objects itself is left alone.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        if long_lived and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


def freeze_long_lived() -> None:
    """Move every object alive now out of the collector's sight (``gc.freeze``).

    For a long-running process holding a large heap that lives as long as it does (the TUI:
    imported SDKs, the parsed registry, its records and rows), where each full collection
    rescans all of it: ~0.2 s at 10k functions, holding the GIL, so a key press waits for
    it. Frozen objects are still freed by reference counting (the rows and records a sync
    replaces are acyclic); only cyclic garbage among them is never reclaimed, so callers
    freeze when what is alive is meant to stay (not while a short-lived screen is open).
    """
    gc.freeze()
