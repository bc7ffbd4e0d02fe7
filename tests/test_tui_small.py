"""The dashboard's small behaviours (issue 11, point 9): filter counts, esc on a kept filter,
the saved theme, read-only feedback, per-screen help, 80-column panels, the unavailable
panel's retry line, the header icon.

UI wiring only, so the deterministic in-memory sample service (app/tui_sample.py) stands in
for the engine; every wait is on the app's own state (wait_until), never on time.
"""

from __future__ import annotations

import json
import logging
import os
import stat

from functions_tui.app import ui_state
from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import fixed_clock, sample_service, sample_service_unavailable_gcp, settle
from functions_tui.screens.states import GLYPHS, HEADER_ICON
from tests.tui_helpers import run_async, wait_until


def make_app(service=None, **kw) -> FunctionsApp:
    return FunctionsApp(service or sample_service(), clock=fixed_clock, autosync=False, **kw)


async def loaded(pilot) -> None:
    assert await wait_until(pilot, lambda: pilot.app.loaded)
    await settle(pilot)


def subtitles(app: FunctionsApp) -> dict[str, str]:
    dash = app.dashboard
    out = {"registry": str(dash.registry_panel.border_subtitle)}
    out.update({c: str(dash.component_panel(c).border_subtitle) for c in app.components})
    return out


def text_of(static) -> str:
    """What a Static shows, as plain text (its content may be a Rich table)."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(static.content)
    return console.export_text()


def notices(app: FunctionsApp) -> list[str]:
    return [n.message for n in app._notifications]


# --- 1. the filter count -------------------------------------------------------------------
@run_async
async def test_each_panel_counts_what_the_filter_shows_out_of_all():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert subtitles(app)["registry"] == "12 functions"
        await pilot.press("slash", *"thumb")     # thumbnailer: on docker only
        assert await wait_until(pilot, lambda: subtitles(app)["registry"] == "1 of 12 functions")
        subs = subtitles(app)
        assert subs["docker"] == "1 of 9 functions", subs
        assert subs["aws"] == "0 of 9 functions", subs
        await pilot.press("enter")   # kept: the counts stay
        assert subtitles(app)["registry"] == "1 of 12 functions"


# --- 2. esc clears a kept filter -------------------------------------------------------------
@run_async
async def test_esc_on_the_dashboard_clears_a_kept_filter_and_says_so():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert "app.clear_filter" not in {b.binding.action for b in app.screen.active_bindings.values()}
        await pilot.press("slash", *"mail", "enter")
        assert app.filter_text == "mail"
        assert "esc clears" in str(app.dashboard.query_one("#sync-status").render())
        footer_actions = {b.binding.action: b.enabled for b in app.screen.active_bindings.values()}
        assert footer_actions.get("app.clear_filter") is True   # "esc Clear filter" in the footer
        assert app.focused is app.dashboard.registry_panel.function_list
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.filter_text == "")
        assert subtitles(app)["registry"] == "12 functions"
        assert app.dashboard.registry_panel.function_list.row_count == 12
        assert "filter cleared" in notices(app)


# --- 3. the theme is saved and restored ------------------------------------------------------
@run_async
async def test_the_theme_chosen_with_t_is_restored_at_the_next_start(tmp_path):
    home = tmp_path / "home"
    service = sample_service()
    service.home = home          # the real service's config dir; the sample has none
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        chosen = app.theme
    path = home / ui_state.UI_STATE_FILE
    assert json.loads(path.read_text())["theme"] == chosen
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert not [p for p in home.iterdir() if p.name.endswith(".tmp")]

    again = make_app(service)
    async with again.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert again.theme == chosen


@run_async
async def test_a_bad_ui_state_file_is_ignored_with_a_warning(tmp_path, caplog):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / ui_state.UI_STATE_FILE).write_text("{not json")
    service = sample_service()
    service.home = home
    app = make_app(service)
    with caplog.at_level(logging.WARNING, logger="functions_tui.app.ui_state"):
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            assert app.theme == "textual-dark"
    assert any("ignoring UI state" in r.getMessage() for r in caplog.records)


def test_ui_state_rejects_wrong_shapes_and_unknown_themes_are_not_applied(tmp_path, caplog):
    home = tmp_path / "h"
    assert ui_state.load(home) == {}                       # no file: no warning needed
    home.mkdir()
    for text in ("[1, 2]", '{"theme": "nord"}', '{"version": 99, "theme": "nord"}'):
        (home / ui_state.UI_STATE_FILE).write_text(text)
        assert ui_state.load(home) == {}
    assert ui_state.save({"theme": "nord"}, home)
    assert ui_state.save({"other": 1}, home)               # merges, keeps the theme
    assert ui_state.load(home) == {"theme": "nord", "other": 1}


@run_async
async def test_a_saved_theme_that_no_longer_exists_is_ignored(tmp_path):
    home = tmp_path / "home"
    ui_state.save({"theme": "no-such-theme"}, home)
    service = sample_service()
    service.home = home
    app = make_app(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.theme == "textual-dark"


# --- 4. read-only keys say why they do nothing ----------------------------------------------
@run_async
async def test_a_disabled_key_in_read_only_mode_says_it_is_read_only():
    app = make_app(sample_service(read_only=True), read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("p")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "PlanScreen")
        await settle(pilot)
        await pilot.press("a")
        assert await wait_until(pilot, lambda: any(m.startswith("read-only: apply is disabled") for m in notices(app)))
        assert "read-only: apply is disabled (started with --read-only; start without it to change things)" in notices(app)
        assert type(app.screen).__name__ == "PlanScreen"    # nothing was applied or confirmed


@run_async
async def test_enabled_keys_give_no_read_only_notice():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("p")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "PlanScreen")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert not [m for m in notices(app) if m.startswith("read-only")]


# --- 7. an unavailable component says when it was checked and how to retry -------------------
@run_async
async def test_an_unavailable_panel_says_when_it_was_checked_and_how_to_retry():
    app = make_app(sample_service_unavailable_gcp())
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        status = str(app.dashboard.component_panel("gcp").query_one(".panel-status").render())
        assert "unavailable: no credentials" in status
        assert "checked 09:30:00 · press s to retry" in status


# --- 8. the header icon -----------------------------------------------------------------------
@run_async
async def test_every_screen_has_the_portable_header_icon():
    from textual.widgets import Header

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        assert app.screen.query_one(Header).icon == HEADER_ICON
        await pilot.press("p")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "PlanScreen")
        await settle(pilot)
        assert app.screen.query_one(Header).icon == HEADER_ICON


# --- 5. help per screen, from the bindings ---------------------------------------------------
def help_lines(app: FunctionsApp) -> dict[str, dict[str, tuple[str, bool]]]:
    return {section: {keys: (what, enabled) for keys, what, enabled in rows}
            for section, rows in app.screen.groups}


@run_async
async def test_help_on_the_dashboard_lists_its_keys_and_every_symbol_including_the_dot():
    from functions_tui.screens.help_screen import HelpScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = help_lines(app)
        dash = lines["Dashboard"]
        assert dash["s"][0].startswith("sync the focused component")
        assert dash["/"][0].startswith("filter")
        assert "esc" not in dash                     # no filter on: nothing for esc to clear
        assert "In a list" in lines                  # the focused list's keys
        assert app.screen.legend
        legend = text_of(app.screen.query_one(".help-states"))
        for state, glyph in GLYPHS.items():
            assert glyph in legend, state
        assert "· not targeted" in legend


@run_async
async def test_help_on_the_plan_screen_is_the_plan_screens_keys_without_the_dashboards():
    from functions_tui.screens.help_screen import HelpScreen

    app = make_app(sample_service(read_only=True), read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("p")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "PlanScreen")
        await settle(pilot)
        plan_keys = {app.get_key_display(b.binding) for b in app.screen.active_bindings.values()}
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = help_lines(app)
        assert "Dashboard" not in lines and not app.screen.legend
        assert lines["Plan"]["a"] == ("apply the chosen actions (asks first; ⚠ marks destructive ones)", False)
        shown = {k for rows in lines.values() for keys in rows for k in keys.replace(" / ", " ").split()}
        assert shown <= plan_keys | {"^p"}             # nothing listed that the screen lacks
        assert "disabled: read-only" in text_of(app.screen.query_one(".help-keys"))
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "PlanScreen")


# --- 6. nothing in a panel's header wraps at 80x24 --------------------------------------------
@run_async
async def test_at_80_columns_status_lines_stay_one_line_and_the_unavailable_one_two():
    app = make_app(sample_service_unavailable_gcp(read_only=True), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"a-rather-long-filter-text", "enter")
        await settle(pilot)
        dash = app.dashboard
        assert dash.query_one("#sync-status").size.height == 1
        assert dash.registry_panel.query_one(".registry-header").size.height == 1
        for comp in app.components:
            line = dash.component_panel(comp).query_one(".panel-status")
            assert line.size.height == (2 if comp == "gcp" else 1), (comp, str(line.render()))
            assert line.size.width < 40                # the 2x2 grid: half the screen each
        gcp = str(dash.component_panel("gcp").query_one(".panel-status").render())
        assert gcp.splitlines()[1] == "checked 09:30:00 · press s to retry"


@run_async
async def test_help_at_80x24_scrolls_with_the_arrow_keys():
    from textual.containers import VerticalScroll

    from functions_tui.screens.help_screen import HelpScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await settle(pilot)
        scroll = app.screen.query_one("#help-columns", VerticalScroll)
        assert scroll.max_scroll_y > 0                  # the legend is below the keys
        await pilot.press("end")
        assert await wait_until(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y)
