"""Snapshot of the per-function actions menu (`x` on the dashboard): fixed data, fixed clock.

Regenerate after an intended change with
``python -m pytest tests/snapshots/test_actions_snapshot.py --snapshot-update`` and look at it.
"""

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import fixed_clock, loaded_and_synced, sample_service, settle


def _actions_on(panel: str, name: str):
    async def run(pilot) -> None:
        await loaded_and_synced(pilot)
        dash = pilot.app.dashboard
        lst = dash.registry_panel.function_list if panel == "registry" else dash.component_panel(panel).function_list
        lst.focus()
        assert lst.move_to(name)
        await pilot.press("x")
        await settle(pilot)
    return run


def test_actions_menu_on_a_registry_row(snap_compare):
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_actions_on("registry", "orders-api"))


def test_actions_menu_on_a_docker_row(snap_compare):
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_actions_on("docker", "orders-api"))
