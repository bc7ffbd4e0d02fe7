"""The plan screen's rows are chosen one by one: safe rows start selected, destructive ones
unselected and marked, ASK rows point to the conflicts screen; `a` applies only the chosen
rows (the rest stays on screen, "not applied"), with a per-action progress line and each
row's result. Pure UI behaviour on the sample service; the apply itself against moto's
Lambda through the real SyncService, checked with the aws CLI."""

from __future__ import annotations

import threading

from textual.app import App
from textual.widgets import DataTable, Static

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import fixed_clock, sample_service
from functions_tui.components.aws import AwsComponent
from functions_tui.registry.models import FunctionSpec
from functions_tui.registry.plan_types import Action, ActionKind, ActionResult, ApplyResult, Plan
from functions_tui.screens.confirm import ConfirmScreen
from functions_tui.screens.plan_screen import ASK_HINT, PlanScreen
from tests.provider_clis import aws
from tests.tui_helpers import app_for, deploy_all, register, run_async, service_with, wait_for_sync, wait_until

SIZE = (140, 45)


# --- helpers -------------------------------------------------------------------------------------
async def open_plan(pilot) -> PlanScreen:
    app = pilot.app
    await pilot.press("p")
    assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.phase == "ready")
    return app.screen


def cell(screen: PlanScreen, row: int, column: str) -> str:
    return str(screen.query_one(DataTable).get_cell(str(row), column))


def row_of(screen: PlanScreen, function: str, kind: str | None = None) -> int:
    return next(i for i, a in enumerate(screen.plan.actions)
                if a.function == function and (kind is None or a.kind.value == kind))


def summary(screen: PlanScreen) -> str:
    return str(screen.query_one("#plan-summary", Static).render())


async def move_to(pilot, screen: PlanScreen, row: int) -> None:
    screen.query_one(DataTable).move_cursor(row=row)
    await pilot.pause()


class StepService:
    """The sample service; its apply reports through ``progress`` and stops after the first
    step until the test opens the gate (so the test sees the progress line, deterministically).
    ``outcomes`` (function -> ActionResult fields) makes chosen actions fail or be skipped."""

    def __init__(self, outcomes: dict | None = None, gated: bool = False) -> None:
        self.inner = sample_service()
        self.outcomes = outcomes or {}
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.started = threading.Event()
        self.applied: list[Plan] = []
        self.read_only = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def apply(self, plan, decisions=(), *, progress=None):
        from functions_tui.registry.apply import ApplyStep

        self.applied.append(plan)
        results = []
        for index, action in enumerate(plan.actions, 1):
            progress(ApplyStep(index, len(plan.actions), action))
            if index == 1:
                self.started.set()
                self.gate.wait(60)   # bounded only so a failing test ends instead of hanging
            result = ActionResult(action, **{"ok": True, **self.outcomes.get(action.function, {})})
            results.append(result)
            progress(ApplyStep(index, len(plan.actions), action, result))
        return ApplyResult(results)


# --- choosing: defaults, toggles, the confirmation -----------------------------------------------
@run_async
async def test_safe_rows_start_selected_destructive_unselected_and_asks_point_to_conflicts():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        actions = screen.plan.actions
        prune = row_of(screen, "payments-webhook", "prune")
        asks = [i for i, a in enumerate(actions) if a.kind is ActionKind.ASK]
        assert actions[prune].destructive and asks
        for i, action in enumerate(actions):
            if action.kind is ActionKind.ASK:
                assert cell(screen, i, "sel") == " - " and i not in screen.selected
                assert ASK_HINT in cell(screen, i, "reason")
            elif action.destructive:
                assert cell(screen, i, "sel") == "[ ]" and cell(screen, i, "mark") == "⚠"
                assert "destructive" in cell(screen, i, "action")
            else:
                assert cell(screen, i, "sel") == "[x]" and cell(screen, i, "mark") == " "
        assert screen.selected == {i for i, a in enumerate(actions)
                                   if a.kind is not ActionKind.ASK and not a.destructive}
        # the old hint told people to press c here, where c does nothing
        assert all("press c" not in cell(screen, i, "action") + cell(screen, i, "reason")
                   for i in range(len(actions)))
        assert "1 destructive (0 selected)" in summary(screen)


@run_async
async def test_space_toggles_the_row_under_the_cursor_and_x_selects_all_or_none():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        actions = screen.plan.actions
        runnable = {i for i, a in enumerate(actions) if a.kind is not ActionKind.ASK}
        prune = row_of(screen, "payments-webhook", "prune")
        await move_to(pilot, screen, prune)
        await pilot.press("space")
        assert prune in screen.selected and cell(screen, prune, "sel") == "[x]"
        assert "1 destructive (1 selected)" in summary(screen)
        await pilot.press("space")
        assert prune not in screen.selected and cell(screen, prune, "sel") == "[ ]"

        ask = next(i for i, a in enumerate(actions) if a.kind is ActionKind.ASK)
        await move_to(pilot, screen, ask)
        await pilot.press("space")                   # an ASK row cannot be chosen here
        assert ask not in screen.selected and cell(screen, ask, "sel") == " - "

        await pilot.press("x")                       # some unselected: all
        assert screen.selected == runnable
        await pilot.press("x")                       # all selected: none
        assert screen.selected == set()
        assert all(cell(screen, i, "sel") == "[ ]" for i in runnable)
        await pilot.press("a")                       # nothing chosen: nothing asked
        await pilot.pause()
        assert app.screen is screen


@run_async
async def test_the_confirmation_lists_what_is_applied_and_counts_the_destructive_ones():
    service = StepService()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        chosen = [screen.plan.actions[i] for i in sorted(screen.selected)]
        await pilot.press("a")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question
        assert question.startswith(f"Apply {len(chosen)} actions, none destructive?")
        for action in chosen:
            assert f"{action.kind.value} {action.function} on {action.component}" in question
        assert "payments-webhook" not in question
        left = len(screen.plan.actions) - len(chosen)
        assert f"{left} others stay in the plan, not applied." in question
        await pilot.press("n")
        assert await wait_until(pilot, lambda: app.screen is screen)

        await move_to(pilot, screen, row_of(screen, "payments-webhook", "prune"))
        await pilot.press("space", "a")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question
        assert f"Apply {len(chosen) + 1} actions, [$error]1 of them destructive[/]?" in question
        assert "⚠ prune payments-webhook on aws (destructive)" in question
        await pilot.press("n")
        await pilot.pause()
        assert service.applied == []                 # declined twice: nothing applied


class _Host(App):
    """A bare app holding one PlanScreen built on a given plan (no dashboard needed)."""

    def __init__(self, screen: PlanScreen) -> None:
        super().__init__()
        self.plan_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.plan_screen)


@run_async
async def test_a_chosen_action_that_runs_after_an_unchosen_one_is_said_in_the_confirmation():
    plan = Plan(actions=[
        Action("db-migrate", "aws", ActionKind.DELETE, "marked, not in the registry"),
        Action("api", "aws", ActionKind.UPDATE, "registry changed", depends_on=["db-migrate"]),
    ])
    screen = PlanScreen(sample_service(), ["aws"], plan=plan)
    async with _Host(screen).run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: screen.phase == "ready")
        assert screen.selected == {1}                # the delete is destructive: not chosen
        [line] = screen.unmet_dependencies()
        assert line == "api runs after db-migrate, whose delete on aws is not applied: api is applied anyway"
        assert line in screen.confirm_question()
        await pilot.press("x")                       # both chosen: nothing to say
        assert screen.unmet_dependencies() == []


@run_async
async def test_a_destructive_action_asked_for_by_name_starts_selected():
    # e.g. "delete this function from aws" from the dashboard: the person chose it already
    plan = Plan(actions=[Action("old-report", "aws", ActionKind.DELETE, "delete it from aws")])
    screen = PlanScreen(sample_service(), ["aws"], plan=plan, select_destructive=True)
    async with _Host(screen).run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: screen.phase == "ready")
        assert screen.selected == {0} and cell(screen, 0, "mark") == "⚠"
        assert screen.confirm_question().startswith("Apply 1 action, [$error]1 of them destructive[/]?")


# --- applying: progress, results, the rest stays ------------------------------------------------
@run_async
async def test_applying_shows_progress_then_each_rows_result_and_keeps_the_rest():
    service = StepService(gated=True, outcomes={
        "billing-export": {"ok": False, "error": "AccessDenied: no permission"},
        "mail-sender": {"ok": False, "skipped": True, "error": "skipped: billing-export did not succeed"},
    })
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        chosen = sorted(screen.selected)
        first = screen.plan.actions[chosen[0]]
        await pilot.press("a", "y")
        assert await wait_until(pilot, service.started.is_set)
        line = f"applying 1/{len(chosen)}: {first.kind.value} {first.function} on {first.component}"
        assert await wait_until(pilot, lambda: summary(screen) == line)
        assert cell(screen, chosen[0], "result") == "applying…"
        assert cell(screen, chosen[1], "result") == "queued"
        assert screen.check_action("toggle", ()) is None and screen.check_action("apply_plan", ()) is None
        service.gate.set()
        assert await wait_until(pilot, lambda: screen.phase == "applied"), (screen.phase, summary(screen))

        assert app.screen is screen                  # not everything was applied: the screen stays
        [applied] = service.applied
        assert [a.function for a in applied.actions] == [screen.plan.actions[i].function for i in chosen]
        failed, skipped = row_of(screen, "billing-export"), row_of(screen, "mail-sender")
        prune = row_of(screen, "payments-webhook", "prune")
        assert cell(screen, failed, "result") == "failed"
        assert "AccessDenied: no permission" in cell(screen, failed, "reason")
        assert cell(screen, skipped, "result") == "skipped"
        assert "billing-export did not succeed" in cell(screen, skipped, "reason")
        assert cell(screen, prune, "result") == "not applied" and cell(screen, prune, "sel") == "[ ]"
        others = [i for i in chosen if i not in (failed, skipped)]
        assert all(cell(screen, i, "result") == "done" for i in others)
        assert summary(screen).startswith(f"applied: {len(others)} done, 1 failed, 1 skipped, 1 not applied")
        # the plan is spent: choosing and applying wait for a new plan
        assert screen.check_action("apply_plan", ()) is None and screen.check_action("replan", ()) is True

        await pilot.press("r")                       # plan again: a fresh plan to choose from
        assert await wait_until(pilot, lambda: screen.phase == "ready")
        assert screen.outcomes == {}
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.screen is app.screen_stack[0])


@run_async
async def test_closing_while_applying_is_safe_and_the_apply_still_finishes():
    service = StepService(gated=True)
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        await pilot.press("a", "y")
        assert await wait_until(pilot, service.started.is_set)
        await pilot.press("escape")                  # closed mid-apply
        assert await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        service.gate.set()                           # the remaining progress goes to a closed screen
        assert await wait_until(pilot, lambda: screen.applied)   # its result still arrives, harmlessly
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.is_running and app.screen is app.screen_stack[0] and screen not in app.screen_stack
        assert any("plan applied" in str(entry) for entry in app.dashboard.activity.entries)


# --- against a real backend: only the chosen action happens ------------------------------------------
def aws_spec(name: str) -> FunctionSpec:
    return FunctionSpec(name=name, runtime="python3.12", entry_point="main.main", memory=256, timeout=30,
                        env={"GREETING": "hello"}, labels={"team": "core"}, targets={"aws": {}})


def lambda_names(backend) -> set[str]:
    return {f["FunctionName"] for f in aws(backend, "lambda", "list-functions")["Functions"]}


@run_async
async def test_only_the_safe_create_is_applied_and_the_destructive_delete_stays_in_the_plan(home, aws_clean):
    # registry-wins on aws: a marked function the registry no longer has is planned for deletion
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text("policies:\n  aws: registry-wins\n")
    service = service_with(home, aws=AwsComponent(role_arn=aws_clean.role_arn))
    register(service, aws_spec("orders-api"), aws_spec("old-report"))
    deploy_all(service, "aws")
    with service.store.transaction("user") as txn:
        txn.remove("old-report")                     # still on aws, with our mark: a delete
    register(service, aws_spec("thumbnailer"))       # not deployed yet: a create
    assert lambda_names(aws_clean) == {"orders-api", "old-report"}

    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        screen = await open_plan(pilot)
        kinds = {(a.function, a.kind.value) for a in screen.plan.actions}
        assert kinds == {("thumbnailer", "create"), ("old-report", "delete")}
        create, delete = row_of(screen, "thumbnailer", "create"), row_of(screen, "old-report", "delete")
        assert screen.selected == {create}
        assert cell(screen, delete, "sel") == "[ ]" and cell(screen, delete, "mark") == "⚠"

        await pilot.press("a")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.question.startswith("Apply 1 action, none destructive?")
        await pilot.press("y")
        assert await wait_until(pilot, lambda: screen.phase == "applied")

        assert app.screen is screen                  # the unchosen delete is still shown
        assert cell(screen, create, "result") == "done"
        assert cell(screen, delete, "result") == "not applied"
        assert cell(screen, delete, "sel") == "[ ]"
        assert summary(screen).startswith("applied: 1 done, 1 not applied")
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.screen is app.screen_stack[0])

    assert lambda_names(aws_clean) == {"orders-api", "old-report", "thumbnailer"}
    tags = aws(aws_clean, "lambda", "get-function", "--function-name", "old-report")["Tags"]
    assert tags                                      # untouched: still there, still marked


class RefusingService(StepService):
    """An apply that stops before any action (e.g. the registry changed since the plan)."""

    def apply(self, plan, decisions=(), *, progress=None):
        raise RuntimeError("registry changed since the plan; plan again")


@run_async
async def test_an_apply_that_stops_leaves_every_row_not_applied_and_offers_to_plan_again():
    app = FunctionsApp(RefusingService(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_plan(pilot)
        chosen = sorted(screen.selected)
        await pilot.press("a", "y")
        assert await wait_until(pilot, lambda: screen.phase == "failed")
        assert "the apply failed:" in summary(screen) and "plan again" in summary(screen)
        assert all(cell(screen, i, "result") == "not applied" for i in chosen)
        assert screen.check_action("apply_plan", ()) is None and screen.check_action("replan", ()) is True
        await pilot.press("r")
        assert await wait_until(pilot, lambda: screen.phase == "ready")
        assert screen.selected == set(chosen) and screen.outcomes == {}


class SlowPlanService(StepService):
    """Planning waits until the test opens the gate (so the screen can be closed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.plan_gate = threading.Event()
        self.planning = threading.Event()

    def plan(self, *args, **kwargs):
        self.planning.set()
        self.plan_gate.wait(60)
        return self.inner.plan(*args, **kwargs)


@run_async
async def test_closing_while_planning_is_safe():
    service = SlowPlanService()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and service.planning.is_set())
        screen = app.screen
        assert screen.check_action("apply_plan", ()) is None and screen.check_action("toggle", ()) is None
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        service.plan_gate.set()
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and screen.plan is None and screen not in app.screen_stack
