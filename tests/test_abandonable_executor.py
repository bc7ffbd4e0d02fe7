"""The app's worker executor: work that only reads is abandoned at exit, any other is joined."""

from __future__ import annotations

import asyncio
import threading

from functions_tui.app.abandonable_executor import AbandonableExecutor, abandonable


def _blocked(executor: AbandonableExecutor, *, reads_only: bool):
    started, release, done = threading.Event(), threading.Event(), threading.Event()

    def work() -> str:
        if reads_only:
            abandonable()
        started.set()
        release.wait()
        done.set()
        return "result"

    future = executor.submit(work)
    started.wait()
    return future, release, done


def test_shutdown_abandons_a_thread_that_only_reads():
    executor = AbandonableExecutor()
    future, release, done = _blocked(executor, reads_only=True)
    executor.shutdown(wait=True)            # returns although the work is still blocked
    assert not done.is_set() and not future.done()
    release.set()
    assert future.result() == "result"


def test_shutdown_waits_for_a_thread_that_writes():
    executor = AbandonableExecutor()
    future, release, done = _blocked(executor, reads_only=False)
    order = []
    closing = threading.Thread(target=lambda: (executor.shutdown(wait=True), order.append("shutdown returned")))
    closing.start()
    closing.join(timeout=0.2)               # (only ever too short to prove it, never a false failure)
    assert closing.is_alive() and order == []
    release.set()
    closing.join()
    assert done.is_set() and order == ["shutdown returned"] and future.result() == "result"


def test_asyncio_closes_its_loop_without_waiting_for_abandoned_work():
    """What the app relies on: asyncio.run joins the default executor when the loop closes."""
    release = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(AbandonableExecutor())
        started = threading.Event()

        def sync_like() -> None:
            abandonable()
            started.set()
            release.wait()

        loop.run_in_executor(None, sync_like)
        await loop.run_in_executor(None, started.wait)

    asyncio.run(main())                     # returns with sync_like still blocked
    assert not release.is_set()
    release.set()
