"""Any number of component panels (issue 14: config.yaml names as many instances as a user has):
screens/panel_grid.py arranges them for the terminal's size, and the keyboard still reaches each.

The arrangement is a pure function of (width, height, count), tested over a range of sizes; the
app runs over the sample service (app/tui_sample.py) with 3, 6 or 12 instances, and every wait
is on the app's own state, never on time.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import fixed_clock, many_instances_service, sample_service, settle
from functions_tui.screens.component_panel import ComponentPanel
from functions_tui.screens.function_list import FunctionList
from functions_tui.screens.panel_grid import (MIN_EXPANDED_HEIGHT, MIN_PANEL_HEIGHT, MIN_PANEL_WIDTH,
                                              MIN_REGISTRY_WIDTH, PanelGrid, plan_layout)
from tests.tui_helpers import run_async, wait_until


# --- the arrangement ----------------------------------------------------------------------------
def test_the_default_three_components_keep_their_layout():
    # 120x40: the panels area is 29 high; registry 36 wide, then three columns (as before)
    wide = plan_layout(120, 29, 3)
    assert (wide.mode, wide.columns, wide.rows, wide.registry_width) == ("beside", 3, 1, 36)
    # 80x24: the 2x2 grid of registry, docker, gcp, aws
    narrow = plan_layout(80, 16, 3)
    assert (narrow.mode, narrow.columns, narrow.rows) == ("cells", 2, 2)


def test_more_instances_make_more_rows_spread_evenly_and_then_compact_lines():
    six = plan_layout(140, 29, 6)
    assert (six.mode, six.columns, six.rows) == ("beside", 3, 2)        # 3 and 3, not 4 and 2
    twelve = plan_layout(140, 29, 12)
    assert (twelve.mode, twelve.columns, twelve.rows) == ("beside", 3, 4)
    assert plan_layout(80, 16, 6).mode == "compact"
    assert plan_layout(80, 16, 12).mode == "compact"
    assert plan_layout(140, 12, 12).mode == "compact"                   # wide but short


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6, 9, 12, 20])
def test_no_panel_is_ever_narrower_or_lower_than_readable(count):
    for width in range(40, 241, 7):
        for height in range(6, 61, 3):
            plan = plan_layout(width, height, count)
            if plan.mode == "beside":
                assert plan.registry_width >= MIN_REGISTRY_WIDTH
                assert (width - plan.registry_width) // plan.columns >= MIN_PANEL_WIDTH, (width, plan)
                assert plan.columns * plan.rows >= count > plan.columns * (plan.rows - 1)
                assert height // plan.rows >= MIN_PANEL_HEIGHT
            elif plan.mode == "cells":
                assert plan.columns * plan.rows >= count + 1
                assert height // plan.rows >= MIN_PANEL_HEIGHT
            else:
                assert plan.mode == "compact" and 0 < plan.registry_width < width


# --- the app ------------------------------------------------------------------------------------
def make_app(count: int) -> FunctionsApp:
    service = sample_service() if count == 3 else many_instances_service(count)
    return FunctionsApp(service, clock=fixed_clock, autosync=False)


def panel_of(widget) -> ComponentPanel | None:
    return next((n for n in widget.ancestors_with_self if isinstance(n, ComponentPanel)), None)


@asynccontextmanager
async def loaded(app: FunctionsApp, size: tuple[int, int]):
    """The app running at ``size``, its registry loaded and the layout settled."""
    async with app.run_test(size=size) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        await settle(pilot)
        yield pilot


def assert_whole_and_visible(app: FunctionsApp, panel: ComponentPanel) -> None:
    grid = app.dashboard.query_one(PanelGrid)
    assert not panel.compact
    lst = panel.function_list
    assert lst.size.height >= 1, f"{panel.component}: its list has no line on screen"
    # on screen: inside the grid's visible region (it may have scrolled), not cut by its edges
    assert grid.region.contains_region(panel.region), (panel.component, panel.region, grid.region)
    assert panel.region.height >= min(MIN_EXPANDED_HEIGHT, MIN_PANEL_HEIGHT)


@pytest.mark.parametrize("count,size", [(3, (120, 40)), (3, (80, 24)), (6, (140, 40)), (6, (80, 24)),
                                        (12, (140, 40)), (12, (80, 24)), (12, (70, 18))])
@run_async
async def test_tab_reaches_every_panel_in_order_and_the_focused_one_is_whole_on_screen(count, size):
    app = make_app(count)
    async with loaded(app, size) as pilot:
        registry_list = app.dashboard.registry_panel.function_list
        assert app.focused is registry_list
        visited: list[str] = []
        for _ in range(count + 3):                         # round the focus chain, back to the registry
            await pilot.press("tab")
            await settle(pilot)
            if app.focused is registry_list:
                break
            panel = panel_of(app.focused)
            if panel is None:
                continue                                   # the activity log
            visited.append(panel.component)
            assert isinstance(app.focused, FunctionList)
            assert_whole_and_visible(app, panel)
            assert app.dashboard.focused_component() == panel.component
        assert visited == app.components                   # each once, in config order
        # and back: shift+tab from the first component's panel reaches the registry
        while panel_of(app.focused) is None or panel_of(app.focused).component != app.components[-1]:
            await pilot.press("shift+tab")
            await settle(pilot)
        for expected in reversed(app.components[:-1]):
            await pilot.press("shift+tab")
            await settle(pilot)
            assert panel_of(app.focused).component == expected
            assert_whole_and_visible(app, panel_of(app.focused))
        await pilot.press("shift+tab")
        await settle(pilot)
        assert app.focused is registry_list


@run_async
async def test_compact_lines_keep_every_instance_counted_and_a_click_expands_one():
    app = make_app(12)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        for job in app.jobs:
            app.start_sync(job)
            await settle(pilot)
        grid = app.dashboard.query_one(PanelGrid)
        assert grid.layout_plan.mode == "compact"
        panels = {p.component: p for p in app.dashboard.query(ComponentPanel)}
        assert [c for c, p in panels.items() if not p.compact] == ["aws-prod"]   # the first, until focus moves
        for component, panel in panels.items():
            line = panel.query_one(".panel-summary")
            if panel.compact:
                assert line.size.height == 1 and grid.region.contains_region(panel.region), component
        laptop = str(panels["laptop"].query_one(".panel-summary").render())
        assert laptop.startswith("▸ laptop") and "?5" in laptop and "unavailable" in laptop
        assert "~1" in str(panels["edge"].query_one(".panel-summary").render())
        await pilot.click(panels["gcp-eu"].query_one(".panel-summary"))
        await settle(pilot)
        assert app.dashboard.focused_component() == "gcp-eu"
        assert_whole_and_visible(app, panels["gcp-eu"])
        assert panels["aws-prod"].compact


@run_async
async def test_the_layout_follows_a_resize():
    app = make_app(12)
    async with loaded(app, (80, 24)) as pilot:
        grid = app.dashboard.query_one(PanelGrid)
        assert grid.layout_plan.mode == "compact"
        await pilot.resize_terminal(140, 40)
        assert await wait_until(pilot, lambda: grid.layout_plan.mode == "beside")
        await settle(pilot)
        assert not any(p.compact for p in app.dashboard.query(ComponentPanel))
        widths = {p.region.width for p in app.dashboard.query(ComponentPanel)}
        assert min(widths) >= MIN_PANEL_WIDTH
        registry = app.dashboard.registry_panel
        assert registry.function_list.badge_counts        # twelve names do not fit: counts per state
        assert "12 components" in str(registry.query_one("#registry-columns").render())


@run_async
async def test_the_registry_names_its_columns_while_they_fit():
    app = make_app(3)
    async with loaded(app, (80, 24)):
        registry = app.dashboard.registry_panel
        assert not registry.function_list.badge_counts
        assert str(registry.query_one("#registry-columns").render()) == "docker gcp aws"


@pytest.mark.parametrize("count,size", [(3, (120, 40)), (12, (80, 24)), (12, (70, 18))])
@run_async
async def test_number_keys_jump_to_a_panel_and_it_is_whole_on_screen(count, size):
    """0 is the registry, 1-9 the component panels in config order (lazygit's panel keys);
    a key past the last panel does nothing."""
    app = make_app(count)
    async with loaded(app, size) as pilot:
        for number in (3, 1, min(9, count)):
            await pilot.press(str(number))
            await settle(pilot)
            panel = panel_of(app.focused)
            assert panel is not None and panel.component == app.components[number - 1]
            assert_whole_and_visible(app, panel)
        await pilot.press("0")
        await settle(pilot)
        assert app.focused is app.dashboard.registry_panel.function_list
        if count < 9:
            await pilot.press(str(count + 1))
            await settle(pilot)
            assert app.focused is app.dashboard.registry_panel.function_list
