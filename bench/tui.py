"""TUI figures, measured headless with App.run_test() and Pilot.

- ``first_paint_10k_s``: from creating the app to its first full paint of a 10,000-function
  registry (three components, 30,000 states): compose, the load worker, building rows, and
  the paint. Goal 0.6 s (a DataTable filled with 10k rows alone takes ~1.1 s here); the panels
  render only visible rows (screens/function_list.py).
- ``cursor_during_sync_median_ms``: one cursor move (key press handled + repaint) in the
  10k registry while a background sync runs: the sync thread burns CPU the whole time
  (observe) and then rebuilds 40k rows, competing with the event loop for the GIL. Goal 50 ms.

Both use app/tui_sample.py's in-memory service, so the figure is the UI's, not a backend's.
``first_paint_10k_real_registry_s`` is the same first paint through the real SyncService and
a 10k-function registry file (the store's load included), components with nothing deployed.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Iterator

from textual import events

from app.tui import FunctionsApp
from app.tui_bridge import SyncJob
from app.tui_sample import big_sample_service, fixed_clock

SIZE = (120, 40)
N = 10_000


async def _time_first_paint(service) -> float:
    """From creating the app to its first full paint, checked to show all N registry rows."""
    started = time.perf_counter()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        while app.first_paint_at is None:
            await asyncio.sleep(0.001)
        elapsed = app.first_paint_at - started
        rows = app.dashboard.registry_panel.function_list.row_count
        assert rows == N, f"registry panel shows {rows} rows, expected {N}"
        await pilot.pause()
    return elapsed


async def _first_paint() -> float:
    return await _time_first_paint(big_sample_service(N))


async def _cursor_during_sync(presses: int = 40) -> list[float]:
    """Key event posted -> the new cursor row painted, timed by hooking the list's render_line.

    (Pilot.press is not used for timing: it waits for the whole process to go idle, which a
    CPU-bound sync thread never lets happen, so it would measure the sync, not the UI.)
    """
    service = big_sample_service(N, observe_delay=0.4, busy_work=True)
    jobs = [SyncJob("all", ("docker", "gcp", "aws"), interval=0.01)]  # a sync always running
    app = FunctionsApp(service, clock=fixed_clock, jobs=jobs)
    timings: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        while app.first_paint_at is None:
            await asyncio.sleep(0.005)
        lst = app.dashboard.registry_panel.function_list
        lst.focus()
        await pilot.pause()
        painted: dict[int, float] = {}
        render_line = lst.render_line

        def timed_render_line(y: int):
            strip = render_line(y)
            row = lst.scroll_offset.y + y
            if row == lst.cursor and row not in painted:
                painted[row] = time.perf_counter()
            return strip

        lst.render_line = timed_render_line
        tries = 0
        give_up = time.perf_counter() + 120  # a bench must end even if presses go unmeasured
        direction = 1
        while len(timings) < presses and tries < presses * 50 and time.perf_counter() < give_up:
            tries += 1
            if not app.syncing:
                await asyncio.sleep(0.01)
                continue
            # Walk down then back up within the first rows; the direction comes from the cursor,
            # so a press that went unmeasured can never aim above row 0 (never painted: a 5 s wait).
            if lst.cursor >= 10:
                direction = -1
            elif lst.cursor <= 0:
                direction = 1
            key = "down" if direction == 1 else "up"
            target = lst.cursor + direction
            painted.pop(target, None)
            started = time.perf_counter()
            app.post_message(events.Key(key, None))
            deadline = started + 5
            while target not in painted and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if target in painted and app.syncing:
                timings.append((painted[target] - started) * 1000)
            await asyncio.sleep(0.02)   # a person does not press 1000 keys a second
    return timings


class _IdleComponent:
    """A component with nothing deployed, so the figure below is the registry's and the UI's."""

    def __init__(self, name: str) -> None:
        self.name = name

    def detect(self):
        from registry.component import Detection
        return Detection(self.name, True, version="bench")

    def observe(self):
        from registry.component import Observation
        return Observation(self.name)


async def _first_paint_real_registry(home) -> float:
    from app.service import SyncService
    from registry.models import COMPONENTS

    return await _time_first_paint(SyncService(home, components={c: _IdleComponent(c) for c in COMPONENTS}))


def _seed_registry(home) -> None:
    from app.service import SyncService
    from registry.models import COMPONENTS, FunctionRecord, FunctionSpec

    home.mkdir(parents=True, exist_ok=True)
    service = SyncService(home, components={c: _IdleComponent(c) for c in COMPONENTS})
    with service.store.transaction("import") as txn:
        for i in range(N):
            spec = FunctionSpec(name=f"fn-{i:05d}", runtime="python3.12", targets={c: {} for c in COMPONENTS})
            txn.put(FunctionRecord(spec), action="add")


def run() -> Iterator[dict]:
    paints = [asyncio.run(_first_paint()) for _ in range(3)]
    print(f"first paints: {', '.join(f'{p:.3f}' for p in paints)} s", file=sys.stderr)
    yield {"bench": "tui", "figure": "first_paint_10k_s", "value": round(statistics.median(paints), 3),
           "unit": "s", "goal": 0.6}
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        _seed_registry(home)
        real = [asyncio.run(_first_paint_real_registry(home)) for _ in range(3)]
    print(f"first paints from a real 10k registry file: {', '.join(f'{p:.3f}' for p in real)} s",
          file=sys.stderr)
    yield {"bench": "tui", "figure": "first_paint_10k_real_registry_s", "value": round(statistics.median(real), 3),
           "unit": "s", "goal": 0.6}
    timings = asyncio.run(_cursor_during_sync())
    print(f"cursor moves during sync: {len(timings)}, max {max(timings, default=0):.1f} ms", file=sys.stderr)
    yield {"bench": "tui", "figure": "cursor_during_sync_median_ms",
           "value": round(statistics.median(timings), 1) if timings else None, "unit": "ms", "goal": 50}
