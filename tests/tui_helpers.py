"""Helpers for the TUI's Pilot tests: a real SyncService on real backends, and waiting for workers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from functions_tui.registry.kinds import component_names

from functions_tui.app.service import SyncService
from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_bridge import SyncJob
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from tests.memory_component import MemoryComponent


def service_with(home: Path, read_only: bool = False, **adapters: Any) -> SyncService:
    """A SyncService on ``home`` using the given real adapters; the other components are
    switched off (an unavailable in-memory component, so nothing probes a real cloud)."""
    components = {name: adapters.get(name) or MemoryComponent(name, available=False) for name in component_names()}
    home.mkdir(parents=True, exist_ok=True)
    return SyncService(home, read_only=read_only, components=components)


def register(service: SyncService, *specs: FunctionSpec) -> None:
    with service.store.transaction("import") as txn:
        for spec in specs:
            txn.put(FunctionRecord(spec), action="add")


def deploy_all(service: SyncService, component: str) -> None:
    """Create every registered function on ``component`` through a plan, as a user's first sync."""
    result = service.apply(service.plan([component]))
    assert not result.failed, [r.error for r in result.failed]


def change_registry(service: SyncService, name: str, **fields: Any) -> None:
    """Edit a function's spec in the registry (what `functions-tui add` after an edit does)."""
    with service.store.transaction("user") as txn:
        record = txn.get(name)
        txn.put(FunctionRecord(replace(record.spec, **fields), record.components), action="update")


def app_for(service: SyncService, component: str, interval: float = 3600.0, **kw: Any) -> FunctionsApp:
    """The app with one background sync job for ``component`` every ``interval`` seconds."""
    return FunctionsApp(service, jobs=[SyncJob(component, (component,), interval, sync=component)], **kw)


async def wait_until(pilot: Any, condition: Callable[[], bool], rounds: int = 600) -> bool:
    """Let the app run until ``condition()`` holds (bounded, so a broken flow fails, not hangs)."""
    for _ in range(rounds):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


async def wait_for_sync(pilot: Any, after: int) -> None:
    app = pilot.app
    assert await wait_until(pilot, lambda: app.sync_count > after and not app.syncing), \
        f"no sync finished (activity: {app.dashboard.activity.entries[-5:]})"


def row_state(app: FunctionsApp, panel: str, name: str) -> str | None:
    lst = app.dashboard.registry_panel.function_list if panel == "registry" \
        else app.dashboard.component_panel(panel).function_list
    return next((r.state for r in lst.rows if r.key == name), None)


def run_async(test: Callable) -> Callable:
    """Run an async test body with asyncio.run (no pytest async plugin needed)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))
    return wrapper
