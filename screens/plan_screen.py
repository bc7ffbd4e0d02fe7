"""PlanScreen: the actions a sync would take, with reasons; a person picks which to apply.

Each runnable row has a selection mark: safe rows start selected, destructive ones (delete,
prune: whatever the engine marks destructive) start unselected and carry a ⚠. ASK rows are
never applied from here: they are decided on the conflicts screen. `a` applies only the
selected rows (after a confirmation that lists them) through the service's usual apply, with
a plan holding just those actions; the rest stays on screen as "not applied".
"""

from __future__ import annotations

import inspect
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Header, LoadingIndicator, Static

from functions_tui.registry.plan_types import Action, ActionKind, Plan
from functions_tui.screens.confirm import ConfirmScreen
from functions_tui.screens.read_only import GuardedScreen
from functions_tui.screens.states import rich_style_for
from functions_tui.screens.keys_footer import KeysFooter
from functions_tui.screens.service_protocol import ScreenService

KIND_STYLES = {
    "pull": "$text-warning", "create": "$text-success", "update": "$text-primary", "prune": "$text-error",
    "delete": "$text-error", "adopt": "$text-secondary", "rebase": "$text-muted", "ask": "$text-error",
    "claim": "$text-muted",
}

#: A row's outcome -> (text in the result column, theme variable of its colour).
RESULTS = {
    "queued": ("queued", "$text-muted"),
    "applying": ("applying…", "$text-primary"),
    "done": ("done", "$text-success"),
    "failed": ("failed", "$text-error"),
    "skipped": ("skipped", "$text-warning"),
    "not applied": ("not applied", "$text-muted"),
}

#: How many chosen actions the confirmation lists by name (the rest are counted).
CONFIRM_LIST = 10

ASK_HINT = "decide on the conflicts screen (esc, then c)"

# The screen's phases: which keys do something in each (see check_action).
PLANNING, READY, APPLYING, APPLIED, FAILED = "planning", "ready", "applying", "applied", "failed"


class PlanScreen(GuardedScreen):
    """Computes the plan in a worker (observing is network), shows it, applies the chosen rows."""

    DEFAULT_CSS = """
    PlanScreen #plan-summary { height: auto; padding: 0 1; background: $panel; }
    PlanScreen #plan-table { height: 1fr; }
    PlanScreen #plan-note { height: auto; padding: 0 1; color: $text-muted; }
    PlanScreen LoadingIndicator { height: 3; }
    """

    BINDINGS = [
        Binding("space", "toggle", "Select", id="plan.toggle"),
        Binding("x", "toggle_all", "All/none", id="plan.toggle_all"),
        Binding("a", "apply_plan", "Apply", id="plan.apply"),
        Binding("r", "replan", "Plan again", id="plan.replan"),
        Binding("escape,q", "close", "Back", id="plan.back"),
    ]

    class Progress(Message):
        """One step of the running apply (a registry.apply.ApplyStep), posted from its thread."""

        def __init__(self, step: Any) -> None:
            super().__init__()
            self.step = step

    def __init__(self, service: ScreenService, components: list[str] | None = None, *, plan: Plan | None = None,
                 clock: Any = None, select_destructive: bool = False) -> None:
        """``select_destructive``: the person asked for exactly these actions (e.g. "delete this
        function from aws"), so destructive rows start selected too; the confirmation still
        counts them."""
        super().__init__()
        self.select_destructive = select_destructive
        self.service = service
        self.components = components
        self.plan: Plan | None = plan
        self.applied = False
        self.phase = PLANNING
        self.selected: set[int] = set()           # row indexes (into plan.actions) to apply
        self.outcomes: dict[int, str] = {}        # row -> a RESULTS key, once an apply started
        self.errors: dict[int, str] = {}          # row -> why it failed or was skipped
        self.touched: set[str] = set()            # components the last apply changed
        self._rows: dict[int, int] = {}           # id(action) -> row (the engine hands the same objects back)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("computing the plan…", id="plan-summary")
            yield LoadingIndicator()
            yield DataTable(id="plan-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="plan-note")
        yield KeysFooter()

    def on_mount(self) -> None:
        # Worker threads reach the app through this: a thread has no active-app context, and
        # `self.app` walks up the DOM, which a screen closed mid-apply has left.
        self._host = self.app
        scope = ", ".join(self.components) if self.components else "all components"
        self.sub_title = f"plan — {scope}"
        table = self.query_one(DataTable)
        for label, key in (("", "sel"), ("", "mark"), ("function", "function"), ("component", "component"),
                           ("action", "action"), ("result", "result")):
            table.add_column(label, key=key)
        # the reason column takes the rest of the width and wraps (reasons are sentences)
        self.reason_width = max(30, self.app.size.width - 76)
        table.add_column("reason", width=self.reason_width, key="reason")
        if self.plan is None:
            self.compute()
        else:
            self.show_plan(self.plan)

    # --- the plan ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def compute(self) -> None:
        try:
            comps = self.components
            plan = self.service.plan(comps) if comps else self.service.plan()
        except Exception as exc:
            self._host.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self._host.call_from_thread(self._planned, plan)

    def _planned(self, plan: Plan) -> None:
        if self in self.app.screen_stack:   # closed while planning: nothing to show it on
            self.show_plan(plan)

    def _failed(self, error: str) -> None:
        """The plan or the apply raised. Either way only planning again makes sense: a plan
        that failed has nothing to apply, and an apply that stopped left the registry moved."""
        applying = self.phase == APPLYING
        what = "the apply failed" if applying else "the plan failed"
        self.applied = self.applied or applying
        self.notify(error, title=what, severity="error")
        if self not in self.app.screen_stack:
            return   # closed meanwhile: the notification is all there is to show
        if applying:
            self._finish_rows()
            self._render_rows()
            self.query_one("#plan-note", Static).update("the apply stopped: r plans again · esc goes back")
        self._set_phase(FAILED)
        self.query_one(LoadingIndicator).display = False
        self.query_one("#plan-summary", Static).update(
            f"[$error]{what}:[/] {escape(error)} · r plans again · esc goes back")

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.outcomes, self.errors = {}, {}
        self._rows = {id(a): i for i, a in enumerate(plan.actions)}
        # safe rows start chosen; destructive ones must be chosen on purpose; ASK rows never
        self.selected = {i for i, a in enumerate(plan.actions)
                         if self._selectable(a) and (self.select_destructive or not a.destructive)}
        self.query_one(LoadingIndicator).display = False
        self._render_rows()
        self._set_phase(READY)
        self._show_summary()
        note = "nothing to do: everything is in sync" if not plan.actions else (
            "space selects a row · x all/none · a applies the selected (after confirmation); deletions run"
            " last · ask rows: " + ASK_HINT + " · esc goes back")
        if plan.warnings:
            note += "\n" + "\n".join(f"⚠ {w}" for w in plan.warnings)
        self.query_one("#plan-note", Static).update(Text(note))
        self.query_one(DataTable).focus()

    @staticmethod
    def _selectable(action: Action) -> bool:
        return action.kind is not ActionKind.ASK

    def _render_rows(self) -> None:
        """(Re)build every row: after a plan, and after an apply (errors change row heights)."""
        assert self.plan is not None
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for i, action in enumerate(self.plan.actions):
            reason = self._reason(i, action)
            height = len(reason.wrap(self.app.console, self.reason_width))
            table.add_row(self._mark(i), self._warning(action), action.function, action.component,
                          self._label(action), self._result(i), reason, key=str(i), height=max(height, 1))
        if self.plan.actions:
            table.move_cursor(row=min(cursor, len(self.plan.actions) - 1))

    def _mark(self, i: int) -> Text:
        assert self.plan is not None
        if not self._selectable(self.plan.actions[i]):
            return Text(" - ", style=rich_style_for(self.app, "$text-muted"))
        if i in self.selected:
            return Text("[x]", style="bold")
        return Text("[ ]")

    @staticmethod
    def _warning(action: Action) -> Text:
        return Text("⚠", style="bold red") if action.destructive else Text(" ")

    def _label(self, action: Action) -> Text:
        kind = action.kind.value
        label = f"{kind} (destructive)" if action.destructive else kind
        return self.app_markup(label, KIND_STYLES.get(kind, "$text"))

    def _result(self, i: int) -> Text:
        text, variable = RESULTS.get(self.outcomes.get(i, ""), ("", "$text"))
        return self.app_markup(text, variable)

    def _reason(self, i: int, action: Action) -> Text:
        fields = f" [{', '.join(action.fields)}]" if action.fields else ""
        reason = Text(action.reason + fields)
        if action.kind is ActionKind.ASK:
            reason = Text.assemble((ASK_HINT + ": ", "bold"), reason)
        if i in self.errors:
            reason.append("\n✗ " + self.errors[i], style=rich_style_for(self.app, "$text-error"))
        return reason

    def app_markup(self, text: str, variable: str) -> Text:
        # theme variables resolved to the current theme's colours for a DataTable cell
        return Text(text, style=rich_style_for(self.app, variable))

    def _show_summary(self) -> None:
        assert self.plan is not None
        actions = self.plan.actions
        runnable = [i for i, a in enumerate(actions) if self._selectable(a)]
        destructive = [i for i in runnable if actions[i].destructive]
        chosen_destructive = [i for i in destructive if i in self.selected]
        asks = len(actions) - len(runnable)
        parts = [f"{len(runnable)} action{'s' * (len(runnable) != 1)} to apply",
                 f"{len(self.selected)} selected"]
        if destructive:
            parts.append(f"[$error]{len(destructive)} destructive ({len(chosen_destructive)} selected)[/]")
        if asks:
            parts.append(f"[$warning]{asks} need a decision: conflicts screen (esc, then c)[/]")
        for comp, reason in self.plan.unknown.items():
            parts.append(f"[$text-muted]{escape(comp)} unknown: {escape(reason)} (nothing planned there)[/]")
        self.query_one("#plan-summary", Static).update(" · ".join(parts))

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.refresh_bindings()   # the footer dims what this phase does not allow

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)   # read-only first
        if allowed is not True:
            return allowed
        if action in ("toggle", "toggle_all", "apply_plan"):
            # choosing and applying need a fresh plan: not while planning or applying, and not
            # after an apply (the registry moved on: plan again)
            return True if self.phase == READY else None
        if action == "replan":
            return True if self.phase in (READY, APPLIED, FAILED) else None
        return True

    # --- choosing ---------------------------------------------------------------------------
    def action_toggle(self) -> None:
        if self.plan is None or not self.plan.actions:
            return
        table = self.query_one(DataTable)
        i = table.cursor_row
        if not 0 <= i < len(self.plan.actions):
            return
        if not self._selectable(self.plan.actions[i]):
            self.notify(f"{self.plan.actions[i].function}: {ASK_HINT}", title="needs a decision")
            return
        self.selected ^= {i}
        table.update_cell(str(i), "sel", self._mark(i))
        self._show_summary()

    def action_toggle_all(self) -> None:
        if self.plan is None:
            return
        runnable = {i for i, a in enumerate(self.plan.actions) if self._selectable(a)}
        self.selected = set() if runnable <= self.selected else runnable
        table = self.query_one(DataTable)
        for i in runnable:
            table.update_cell(str(i), "sel", self._mark(i))
        self._show_summary()

    def action_replan(self) -> None:
        self._set_phase(PLANNING)
        self.query_one("#plan-summary", Static).update("computing the plan…")
        self.query_one(LoadingIndicator).display = True
        self.compute()

    # --- applying ---------------------------------------------------------------------------
    def chosen_plan(self) -> Plan:
        """The plan with only the selected actions (the observed values it was decided on
        travel with it)."""
        assert self.plan is not None
        return self.plan.with_actions(a for i, a in enumerate(self.plan.actions) if i in self.selected)

    def unmet_dependencies(self) -> list[str]:
        """A chosen action whose function runs after one with an unchosen action: the engine
        only skips it when that action *fails*, so left out it runs anyway. Said, not hidden."""
        assert self.plan is not None
        actions = self.plan.actions
        left_out: dict[str, list[Action]] = {}
        for i, a in enumerate(actions):
            if i not in self.selected:
                left_out.setdefault(a.function, []).append(a)
        lines, seen = [], set()
        for i in sorted(self.selected):
            for dep in actions[i].depends_on:
                if dep in left_out and (actions[i].function, dep) not in seen:
                    seen.add((actions[i].function, dep))
                    what = ", ".join(f"{a.kind.value} on {a.component}" for a in left_out[dep])
                    lines.append(f"{actions[i].function} runs after {dep}, whose {what} is not applied:"
                                 f" {actions[i].function} is applied anyway")
        return lines

    def confirm_question(self) -> str:
        """What the confirmation says: the chosen actions, how many destructive, what stays."""
        assert self.plan is not None
        chosen = [a for i, a in enumerate(self.plan.actions) if i in self.selected]
        destructive = sum(1 for a in chosen if a.destructive)
        n = len(chosen)
        head = f"Apply {n} action{'s' * (n != 1)}, "
        head += f"[$error]{destructive} of them destructive[/]?" if destructive else "none destructive?"
        lines = [head]
        for a in chosen[:CONFIRM_LIST]:
            line = f"  {a.kind.value} {escape(a.function)} on {escape(a.component)}"
            lines.append(f"[$error]⚠{line[1:]} (destructive)[/]" if a.destructive else line)
        if n > CONFIRM_LIST:
            lines.append(f"  … and {n - CONFIRM_LIST} more")
        rest = len(self.plan.actions) - n
        if rest:
            lines.append(f"{rest} other{'s' * (rest != 1)} stay{'s' * (rest == 1)} in the plan, not applied.")
        lines += [f"[$warning]⚠ {escape(w)}[/]" for w in self.unmet_dependencies()]
        return "\n".join(lines)

    def action_apply_plan(self) -> None:
        if self.plan is None or self.phase != READY:
            return
        if not self.selected:
            runnable = any(self._selectable(a) for a in self.plan.actions)
            self.notify("nothing selected: space selects a row" if runnable else "nothing to apply", title="plan")
            return
        self.app.push_screen(ConfirmScreen(self.confirm_question()), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.phase != READY or self.plan is None:
            return
        chosen = self.chosen_plan()
        self.outcomes = {i: "queued" if i in self.selected else "not applied" for i in range(len(self.plan.actions))
                         if self._selectable(self.plan.actions[i])}
        self._render_rows()
        self._set_phase(APPLYING)
        self.query_one("#plan-summary", Static).update(f"applying 0/{len(chosen.actions)}…")
        self.query_one(LoadingIndicator).display = True
        self.apply(chosen)

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def apply(self, plan: Plan) -> None:
        try:
            result = self._call_apply(plan)
        except Exception as exc:
            self._host.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self._host.call_from_thread(self._applied, result)

    def _call_apply(self, plan: Plan) -> Any:
        """service.apply, with a progress listener when the service takes one (a stand-in
        service in a test may not): the listener only posts to this screen, never blocks."""
        try:
            params = inspect.signature(self.service.apply).parameters.values()
        except (TypeError, ValueError):
            params = []
        if any(p.name == "progress" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            # post_message is thread-safe, and a message to a closed screen is dropped
            return self.service.apply(plan, progress=lambda step: self.post_message(self.Progress(step)))
        return self.service.apply(plan)

    def on_plan_screen_progress(self, message: Progress) -> None:
        step = message.step
        if self.phase != APPLYING:
            return   # a step that arrives after the final result has nothing to add
        i = self._rows.get(id(step.action))
        verb = "applying" if step.result is None else "applied"
        what = f"{step.action.kind.value} {step.action.function} on {step.action.component}"
        self.query_one("#plan-summary", Static).update(escape(f"{verb} {step.index}/{step.total}: {what}"))
        if i is None:
            return
        self.outcomes[i] = "applying" if step.result is None else _outcome(step.result)
        self.query_one(DataTable).update_cell(str(i), "result", self._result(i))

    def _applied(self, result: Any) -> None:
        results = list(getattr(result, "results", []))
        failed = getattr(result, "failed", [])
        total = len(results)
        self.applied = True
        if failed:
            self.notify("\n".join(f"{r.action.function}/{r.action.component}: {r.error}" for r in failed),
                        title=f"{len(failed)} of {total} actions failed", severity="error")
        else:
            self.notify(f"{total} actions applied", title="plan applied")
        log = getattr(self.app, "log_activity", None)
        if log:
            log(f"plan applied: {total - len(failed)} ok, {len(failed)} failed", "error" if failed else "ok")
        warnings = list(getattr(result, "warnings", None) or [])
        for warning in warnings:  # e.g. a pulled value that could not be written to its function.yaml
            if log:
                log(warning, "warning")
        if warnings:
            self.notify("\n".join(warnings), title="declarations", severity="warning")
        self.touched = {r.action.component for r in results}
        if self not in self.app.screen_stack or self.plan is None:
            return   # closed while applying: the notifications above are all there is to show
        for r in results:
            i = self._rows.get(id(r.action))
            if i is not None:
                self.outcomes[i] = _outcome(r)
                if r.error:
                    self.errors[i] = r.error
        self._finish_rows()
        everything = len(self.outcomes) == len(self.plan.actions) and all(
            o == "done" for o in self.outcomes.values())
        if everything:   # nothing left to show: back to the dashboard, which re-syncs what changed
            self.close_with(self.touched or True)
            return
        self._set_phase(APPLIED)
        self.query_one(LoadingIndicator).display = False
        self._render_rows()
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        done = ", ".join(f"{counts[k]} {k}" for k in ("done", "failed", "skipped", "not applied") if counts.get(k))
        asks = sum(1 for a in self.plan.actions if not self._selectable(a))
        if asks:
            done += f", {asks} need a decision"
        self.query_one("#plan-summary", Static).update(
            f"applied: {done} · r plans again for the rest · esc goes back (and re-syncs)")
        # the keys that chose rows do nothing now: say what does
        self.query_one("#plan-note", Static).update(
            "this plan was applied: r plans again to choose from what is left · ask rows: " + ASK_HINT)

    def _finish_rows(self) -> None:
        """Rows the apply never reported on (it stopped, or was refused) were not applied."""
        for i, outcome in self.outcomes.items():
            if outcome in ("queued", "applying"):
                self.outcomes[i] = "not applied"

    def action_close(self) -> None:
        # after an apply the dashboard re-syncs what it changed; otherwise nothing changed
        self.close_with((self.touched or True) if self.applied and self.phase != APPLYING else None)


def _outcome(result: Any) -> str:
    if result.ok:
        return "done"
    return "skipped" if result.skipped else "failed"
