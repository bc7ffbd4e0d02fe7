"""What keeps the app fast on a big registry, as behaviour (the figures are bench/tui.py's):
a sync of an unavailable component plans nothing, one job rebuilds only its own panels, the
registry is read once per file version, a filter reaches every panel, and quitting never
waits for a running sync nor leaves the registry half-written."""

from __future__ import annotations

import threading

from functions_tui.registry.kinds import component_names

from functions_tui.app.service import SyncService
from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_bridge import SyncJob, build_view, load_dashboard, merged_copy, run_sync
from functions_tui.app.tui_sample import fixed_clock, sample_service
from functions_tui.registry.models import FunctionSpec
from tests.memory_component import MemoryComponent
from tests.tui_helpers import register, run_async, wait_for_sync, wait_until


class CountingDetect(MemoryComponent):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.detects = 0

    def detect(self):
        self.detects += 1
        return super().detect()


class PlanLog(SyncService):
    """A SyncService that remembers which components each plan() covered; ``gate``: every
    plan waits for it (a test decides when a sync may finish)."""

    def __init__(self, *args, gate: threading.Event | None = None, **kw) -> None:
        super().__init__(*args, **kw)
        self.planned: list[tuple[str, ...]] = []
        self.gate = gate
        self.entered = threading.Event()

    def plan(self, components=None, **kw):
        self.planned.append(tuple(components or ()))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(60)   # bounded only so a failing test ends instead of hanging a thread
        return super().plan(components, **kw)


def _service(tmp_path, gate=None, **adapters) -> PlanLog:
    comps = {c: adapters.get(c) or MemoryComponent(c, available=False) for c in component_names()}
    (tmp_path / "home").mkdir(parents=True, exist_ok=True)
    return PlanLog(tmp_path / "home", components=comps, gate=gate)


def test_a_job_for_an_unavailable_component_does_not_plan(tmp_path):
    service = _service(tmp_path, aws=MemoryComponent("aws"))
    register(service, FunctionSpec("api", "python3.12", targets={"gcp": {}, "aws": {}}))
    outcome = run_sync(service, SyncJob("gcp", ("gcp",)), fixed_clock)
    assert service.planned == []                       # nothing read or classified for it
    assert outcome.skipped == ("gcp",)
    assert "switched off" in outcome.plan.unknown["gcp"]
    data = merged_copy(load_dashboard(service, fixed_clock), outcome)
    assert data.state_of("api", "gcp")[0] == "unknown"   # its functions say unknown, with the reason
    assert "switched off" in data.unknown["gcp"]
    run_sync(service, SyncJob("aws", ("aws",)), fixed_clock)
    assert service.planned == [("aws",)]


def test_a_background_sync_does_not_detect_again_a_component_nothing_uses(tmp_path):
    gcp = CountingDetect("gcp", available=False)
    service = _service(tmp_path, gcp=gcp, aws=MemoryComponent("aws"))
    register(service, FunctionSpec("api", "python3.12", targets={"aws": {}}))
    service.detections()
    before = gcp.detects
    run_sync(service, SyncJob("gcp", ("gcp",)), fixed_clock, requested=False)
    assert gcp.detects == before                       # automatic, and no function is on gcp
    run_sync(service, SyncJob("gcp", ("gcp",)), fixed_clock, requested=True)
    assert gcp.detects == before + 1                   # the user asked: looked at again


def test_the_registry_is_read_once_per_file_version(tmp_path):
    service = _service(tmp_path, aws=MemoryComponent("aws"))
    register(service, *(FunctionSpec(f"fn-{i}", "python3.12", targets={"aws": {}}) for i in range(5)))
    outcome = run_sync(service, SyncJob("aws", ("aws",)), fixed_clock)
    records = service.record_map()
    assert outcome.records is records                  # the plan's read, handed back, not a second one
    built = records["fn-1"]
    run_sync(service, SyncJob("aws", ("aws",)), fixed_clock)
    assert service.record_map() is records and service.record_map()["fn-1"] is built
    register(service, FunctionSpec("new", "python3.12", targets={"aws": {}}))
    assert service.record_map() is not records         # a write: a new read
    assert "new" in service.record_map()


def test_one_job_rebuilds_its_own_panel_and_keeps_the_others(tmp_path):
    service = _service(tmp_path, aws=MemoryComponent("aws"), docker=MemoryComponent("docker"))
    register(service, *(FunctionSpec(f"fn-{i}", "python3.12", targets={"aws": {}, "docker": {}})
                        for i in range(5)))
    data = load_dashboard(service, fixed_clock)
    view = build_view(data)
    outcome = run_sync(service, SyncJob("aws", ("aws",)), fixed_clock)
    new = merged_copy(data, outcome)
    new_view = build_view(new, (data, view), ("aws",))
    assert new_view.rows["docker"] is view.rows["docker"]   # untouched by the aws job
    assert new_view.rows["aws"] is not view.rows["aws"]
    assert [r.state for r in new_view.rows["aws"]] == ["missing"] * 5
    assert new_view.rows["aws"] == build_view(new).rows["aws"]   # the same rows a full build makes
    assert new_view.rows["registry"] == build_view(new).rows["registry"]


@run_async
async def test_a_filter_applies_to_every_panel_and_typing_ahead_ends_on_the_last_text():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        await pilot.press("slash")
        await pilot.press(*"api")
        assert await wait_until(pilot, lambda: app.filter_text == "api")
        for lst in app.dashboard.lists():
            assert lst.filter_text == "api"
            assert all(r.matches("api") for r in lst.rows)
        assert app.dashboard.registry_panel.function_list.row_count > 0
        # keystrokes queued faster than they are handled: one filter pass, on the last text
        from functions_tui.screens.filter_bar import FilterBar
        bar = app.query_one(FilterBar)
        for text in ("a", "ap", "x"):
            bar.post_message(FilterBar.Changed(bar, text, None))
        assert await wait_until(pilot, lambda: app.filter_text == "x")
        await pilot.pause()
        assert app.filter_text == "x"
        assert all(lst.filter_text == "x" for lst in app.dashboard.lists())
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.filter_text == "")
        assert all(lst.row_count == len(lst._rows) for lst in app.dashboard.lists())


@run_async
async def test_quit_with_a_running_sync_exits_and_leaves_the_registry_intact(tmp_path):
    gate = threading.Event()
    service = _service(tmp_path, gate=gate, aws=MemoryComponent("aws"))
    register(service, *(FunctionSpec(f"fn-{i}", "python3.12", targets={"aws": {}}) for i in range(3)))
    before = service.store.path.read_bytes()
    app = FunctionsApp(service, clock=fixed_clock, jobs=[SyncJob("aws", ("aws",), interval=3600)])
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert await wait_until(pilot, lambda: "aws" in app.syncing and service.entered.is_set())
            await pilot.press("q")
            await pilot.pause()
            assert app.return_code == 0
        # the app has closed with the sync still inside plan(): nothing waited for it
        assert not gate.is_set() and "aws" in app.syncing
    finally:
        gate.set()   # let the abandoned thread end (it only reads)
    assert service.store.path.read_bytes() == before
    assert sorted(service.store.load().functions) == ["fn-0", "fn-1", "fn-2"]


@run_async
async def test_a_sync_on_real_components_shows_rows_and_skips_the_unavailable_one(tmp_path):
    service = _service(tmp_path, aws=MemoryComponent("aws"))
    register(service, FunctionSpec("api", "python3.12", targets={"aws": {}, "gcp": {}}))
    app = FunctionsApp(service, clock=fixed_clock,
                       jobs=[SyncJob("aws", ("aws",), interval=3600), SyncJob("gcp", ("gcp",), interval=3600)])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_sync(pilot, after=1)
        assert ("gcp",) not in service.planned
        assert [r.state for r in app.dashboard.component_panel("aws").function_list.rows] == ["missing"]
        assert [r.state for r in app.dashboard.component_panel("gcp").function_list.rows] == ["unknown"]
        assert any("sync gcp: skipped" in str(e) for e in app.dashboard.activity.entries)


def test_a_job_that_skipped_an_unavailable_component_again_redraws_nothing(tmp_path):
    service = _service(tmp_path, aws=MemoryComponent("aws"))
    register(service, FunctionSpec("api", "python3.12", targets={"aws": {}, "gcp": {}}))
    data = load_dashboard(service, fixed_clock)
    data = merged_copy(data, run_sync(service, SyncJob("aws", ("aws",)), fixed_clock))
    view = build_view(data)
    again = merged_copy(data, run_sync(service, SyncJob("gcp", ("gcp",)), fixed_clock))
    new_view = build_view(again, (data, view), ("gcp",))
    assert all(new_view.rows[panel] is view.rows[panel] for panel in view.rows)
    assert new_view.rows["gcp"] == build_view(again).rows["gcp"]
