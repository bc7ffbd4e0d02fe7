"""Screens that cannot be closed into a crash: the result of a worker that finishes while
another screen is on top (the help, opened while applying) closes the right screen, once;
`esc` afterwards does nothing harmful. The apply waits on a gate the test opens, so the
order of events is the test's, not the machine's speed."""

from __future__ import annotations

import threading

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import fixed_clock, sample_service
from functions_tui.screens.conflict_screen import ConflictScreen
from functions_tui.screens.help_screen import HelpScreen
from functions_tui.screens.plan_screen import PlanScreen
from tests.tui_helpers import run_async, wait_for_sync, wait_until


class GatedService:
    """The sample service whose resolve / apply wait until the test opens the gate."""

    def __init__(self) -> None:
        self.inner = sample_service()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.read_only = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def resolve(self, decision):
        self.entered.set()
        self.gate.wait(60)   # bounded only so a failing test ends instead of hanging its worker
        return self.inner.resolve(decision)

    inner_applied = False

    def apply(self, plan, decisions=()):
        self.entered.set()
        self.gate.wait(60)
        result = self.inner.apply(plan, decisions)
        self.inner_applied = True
        return result


async def _help_over_a_running_apply(pilot, service, screen_type) -> None:
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, screen_type)
    await pilot.press("a")
    await pilot.press("y")
    assert await wait_until(pilot, service.entered.is_set)
    await pilot.press("question_mark")
    assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
    service.gate.set()                              # the apply ends while the help is on top
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)       # the help stays; nothing popped it
    await pilot.press("escape")                     # closing the help shows the finished screen
    # (a plan with rows left unapplied stays open) or the dashboard (all of it applied)
    assert await wait_until(pilot, lambda: app.screen in (screen, app.screen_stack[0]))
    for _ in range(3):                              # the finished screen closed itself, once
        await pilot.press("escape")
    await pilot.pause()
    assert app.is_running and screen not in app.screen_stack


@run_async
async def test_conflicts_help_during_apply_then_esc_never_crashes():
    service = GatedService()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("S")
        await wait_for_sync(pilot, after=0)
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
        await pilot.press("r")
        await _help_over_a_running_apply(pilot, service, ConflictScreen)


@run_async
async def test_plan_help_during_apply_then_esc_never_crashes():
    service = GatedService()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("S")
        await wait_for_sync(pilot, after=0)
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        await _help_over_a_running_apply(pilot, service, PlanScreen)


@run_async
async def test_a_double_confirm_and_a_double_escape_close_once():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("S")
        await wait_for_sync(pilot, after=0)
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
        await pilot.press("r", "a", "y", "y", "escape", "escape", "escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and app.screen is app.screen_stack[0]


@run_async
async def test_quitting_during_an_apply_says_so_and_lets_it_finish():
    service = GatedService()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("S")
        await wait_for_sync(pilot, after=0)
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        await pilot.press("a", "y")
        assert await wait_until(pilot, service.entered.is_set)
        await pilot.press("ctrl+c")
        assert await wait_until(pilot, lambda: any("quitting once apply" in n.message
                                                   for n in app._notifications))
        assert app.is_running and not service.inner_applied   # still waiting for the apply
        service.gate.set()
        assert await wait_until(pilot, lambda: not app.is_running)
    assert service.inner_applied
