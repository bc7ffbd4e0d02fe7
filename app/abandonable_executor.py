"""The executor behind the app's thread workers: reads can be abandoned at exit, writes cannot.

Textual runs a thread worker with ``loop.run_in_executor(None, …)``, on the event loop's
default executor, which asyncio joins when the loop closes. Quitting then waited for whatever a
worker was doing: at 50k functions a background sync still observing held the exit 5–11 s.
With this executor every worker still is a Textual worker (state, group, cancel, the one error
path in ``FunctionsApp.on_worker_state_changed``), and at shutdown it joins every thread but
those whose work said it only reads (``abandonable()``): a sync observes and plans, so
dropping it loses nothing, while an apply stopped halfway would leave a component changed and
the registry not knowing it — those are joined, whatever way the app ends.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

_abandonable: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def abandonable() -> None:
    """Said from a worker's thread whose work only reads: the app may exit without it."""
    _abandonable.add(threading.current_thread())


class AbandonableExecutor(ThreadPoolExecutor):
    """A thread per call (no pool: the app runs a few workers at a time). A ThreadPoolExecutor
    only because asyncio's set_default_executor accepts nothing else; its pool is never used."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self._running: set[threading.Thread] = set()
        self._running_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()

        def run() -> None:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            finally:
                with self._running_lock:
                    self._running.discard(threading.current_thread())

        # Daemon: a thread that said it only reads must not hold the interpreter's exit either.
        thread = threading.Thread(target=run, name="functions-tui-worker", daemon=True)
        with self._running_lock:
            self._running.add(thread)
        thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Joins every running thread except the abandonable ones."""
        if not wait:
            return
        with self._running_lock:
            running = list(self._running)
        for thread in running:
            if thread not in _abandonable:
                thread.join()
