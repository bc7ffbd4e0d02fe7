"""The app's own machinery with the in-memory sample service: workers that never overlap,
errors as notifications, the focused component's sync, the palette, themes, the 10k list.

(The flows against real backends are in test_tui_flows.py; this service is app/tui_sample.py,
deterministic and instant, so these tests are about the UI's wiring only.)
"""

from __future__ import annotations

import threading

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_bridge import SyncJob
from functions_tui.app.tui_sample import big_sample_service, fixed_clock, sample_service
from functions_tui.screens.palette import FunctionsCommands
from tests.tui_helpers import run_async, wait_for_sync, wait_until


class CountingService:
    """Wraps a sample service: counts plan() calls per component and the most at once.
    ``gate``: an Event every plan() waits for, so a test decides when a sync may finish
    (instead of hoping a delay is long enough)."""

    def __init__(self, inner, fail: str = "", gate: threading.Event | None = None) -> None:
        self.inner = inner
        self.fail = fail
        self.gate = gate
        self.running: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.plans: list[str] = []
        self._lock = threading.Lock()
        self.read_only = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def plan(self, components=None, **kw):
        key = ",".join(components or [])
        with self._lock:
            self.running[key] = self.running.get(key, 0) + 1
            self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.running[key])
            self.plans.append(key)
        try:
            if self.gate is not None:
                self.gate.wait()
            if self.fail and key == self.fail:
                raise RuntimeError(f"listing {key} exploded")
            return self.inner.plan(components, **kw)
        finally:
            with self._lock:
                self.running[key] -= 1


@run_async
async def test_a_sync_job_never_overlaps_itself_and_reruns_once_after():
    gate = threading.Event()                    # the first sync runs until the presses are in
    service = CountingService(sample_service(), gate=gate)
    app = FunctionsApp(service, clock=fixed_clock, jobs=[SyncJob("aws", ("aws",), interval=3600)])
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: "aws" in app.syncing and service.plans == ["aws"])
        for _ in range(3):                      # impatient presses while it runs
            await pilot.press("S")
        gate.set()
        assert await wait_until(pilot, lambda: app.sync_count >= 2 and not app.syncing)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert service.most_at_once["aws"] == 1
        assert service.plans == ["aws", "aws"]  # the first run, then exactly one rerun
        assert "aws" in app._sync_timers         # rescheduled only after finishing


@run_async
async def test_a_failing_sync_is_a_notification_not_a_crash():
    service = CountingService(sample_service(), fail="gcp")
    app = FunctionsApp(service, clock=fixed_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.sync_count >= 2 and not app.syncing)
        assert await wait_until(pilot, lambda: any("exploded" in n.message for n in app._notifications))
        assert any("sync gcp failed: RuntimeError: listing gcp exploded" in line
                   for line in app.dashboard.activity.entries)
        assert app.is_running and "gcp" in app._sync_timers   # and it will try again later
        # the other components still show their states
        assert app.dashboard.component_panel("aws").function_list.row_count == 9   # 8 ours + 1 foreign


@run_async
async def test_s_syncs_only_the_focused_component():
    service = CountingService(sample_service())
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.dashboard.component_panel("gcp").function_list.focus()
        await pilot.press("s")
        await wait_for_sync(pilot, after=0)
        assert service.plans == ["gcp"]
        app.dashboard.registry_panel.function_list.focus()
        await pilot.press("s")                   # on the registry panel: everything
        assert await wait_until(pilot, lambda: len(service.plans) == 4 and not app.syncing)
        assert sorted(service.plans[1:]) == ["aws", "docker", "gcp"]


@run_async
async def test_palette_offers_syncs_and_jumps_to_functions():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.loaded)
        provider = FunctionsCommands(app.screen)
        discovered = [hit.text async for hit in provider.discover()]
        assert {"Sync all components", "Sync docker", "Resolve conflicts", "Show plan"} <= set(discovered)
        hits = [hit async for hit in provider.search("orders")]
        jump = next(h for h in hits if h.text == "Open orders-api")
        jump.command()
        await pilot.pause()
        assert app.screen.__class__.__name__ == "DetailScreen"
        assert app.dashboard.registry_panel.function_list.current_key == "orders-api"


@run_async
async def test_t_cycles_themes_and_states_keep_their_colour_names():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = app.theme
        await pilot.press("t")
        assert app.theme != first
        lst = app.dashboard.registry_panel.function_list
        # a state's style comes from the theme: it changes with the theme, it is never hard-coded
        assert lst.get_component_rich_style("function-list--drifted", partial=True).color is not None


@run_async
async def test_a_10k_registry_renders_only_the_visible_rows():
    app = FunctionsApp(big_sample_service(10_000), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.first_paint_at is not None)
        lst = app.dashboard.registry_panel.function_list
        rendered = []
        original = lst.render_line
        lst.render_line = lambda y: (rendered.append(y), original(y))[1]
        await pilot.press("end")
        await pilot.pause()
        assert lst.current_key == "fn-09999"
        assert rendered and len(rendered) <= 2 * lst.size.height   # a screenful, not 10k


@run_async
async def test_a_sync_with_after_waits_for_the_one_it_follows():
    service = CountingService(sample_service(observe_delay=0.2))
    jobs = [SyncJob("docker", ("docker",), 3600), SyncJob("aws", ("aws",), 3600, after=("docker",))]
    app = FunctionsApp(service, clock=fixed_clock, jobs=jobs)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.sync_count >= 2 and not app.syncing)
        assert service.plans == ["docker", "aws"]      # never both at once, docker first
        assert max(service.most_at_once.values()) == 1


@run_async
async def test_interrupted_cloud_operations_are_reported_at_start():
    service = sample_service()
    service.interrupted = lambda: ["update orders-api on aws (started 2026-01-15T09:00:00+00:00)"]
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        assert any("interrupted earlier: update orders-api on aws" in line
                   for line in app.dashboard.activity.entries)
        assert any("interrupted" in (n.title or "") for n in app._notifications)


@run_async
async def test_clicking_a_row_moves_the_cursor_and_a_second_click_opens_it():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        lst = app.dashboard.registry_panel.function_list
        await pilot.click(lst, offset=(3, 3))
        assert lst.current_key == lst.rows[3].key
        await pilot.click(lst, offset=(3, 3))
        assert await wait_until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
        assert app.screen.function_name == lst.rows[3].key


@run_async
async def test_a_component_that_comes_back_is_seen_at_the_next_sync(tmp_path):
    """gcp is down at start (cached as unavailable); it comes back; the user's next sync
    detects it again instead of skipping it for good."""
    from functions_tui.registry.models import FunctionSpec
    from tests.memory_component import MemoryComponent
    from tests.tui_helpers import register, row_state, service_with

    gcp = MemoryComponent("gcp", available=False)
    service = service_with(tmp_path / "home", gcp=gcp)
    register(service, FunctionSpec("api", "python3.12", targets={"gcp": {}}))
    app = FunctionsApp(service, clock=fixed_clock, jobs=[SyncJob("gcp", ("gcp",), interval=3600, sync=None)])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_sync(pilot, after=0)
        assert service.detections()["gcp"].available is False
        gcp.available = True                    # the backend is back
        seen = app.sync_count
        await pilot.press("S")
        await wait_for_sync(pilot, after=seen)
        assert service.detections()["gcp"].available is True
        assert row_state(app, "gcp", "api") == "missing"   # seen again: not deployed there yet


@run_async
async def test_ctrl_c_quits_like_q():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.return_code is None          # running
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0             # asked to exit, as by q
