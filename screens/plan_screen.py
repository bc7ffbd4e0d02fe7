"""PlanScreen: the actions a sync would take, with reasons; destructive ones marked; apply on confirm."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, LoadingIndicator, Static

from registry.plan_types import ActionKind, Plan
from screens.confirm import ConfirmScreen
from screens.read_only import GuardedScreen
from screens.states import rich_style_for

KIND_STYLES = {
    "pull": "$text-warning", "create": "$text-success", "update": "$text-primary", "prune": "$text-error",
    "delete": "$text-error", "adopt": "$text-secondary", "rebase": "$text-muted", "ask": "$text-error",
    "claim": "$text-muted",
}


class PlanScreen(GuardedScreen):
    """Computes the plan in a worker (observing is network), shows it, applies on `a` + confirm."""

    DEFAULT_CSS = """
    PlanScreen #plan-summary { height: auto; padding: 0 1; background: $panel; }
    PlanScreen #plan-table { height: 1fr; }
    PlanScreen #plan-note { height: auto; padding: 0 1; color: $text-muted; }
    PlanScreen LoadingIndicator { height: 3; }
    """

    BINDINGS = [
        Binding("a", "apply_plan", "Apply"),
        Binding("escape,q", "close", "Back"),
    ]

    def __init__(self, service: Any, components: list[str] | None = None, *, plan: Plan | None = None,
                 clock: Any = None) -> None:
        super().__init__()
        self.service = service
        self.components = components
        self.plan: Plan | None = plan
        self.applied = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("computing the plan…", id="plan-summary")
            yield LoadingIndicator()
            yield DataTable(id="plan-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="plan-note")
        yield Footer()

    def on_mount(self) -> None:
        scope = ", ".join(self.components) if self.components else "all components"
        self.sub_title = f"plan — {scope}"
        table = self.query_one(DataTable)
        table.add_columns("", "function", "component", "action")
        # the reason column takes the rest of the width and wraps (reasons are sentences)
        self.reason_width = max(30, self.app.size.width - 62)
        table.add_column("reason", width=self.reason_width)
        if self.plan is None:
            self.compute()
        else:
            self.show_plan(self.plan)

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def compute(self) -> None:
        try:
            comps = self.components
            plan = self.service.plan(comps) if comps else self.service.plan()
        except Exception as exc:
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self.show_plan, plan)

    def _failed(self, error: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one("#plan-summary", Static).update(f"[$error]the plan failed:[/] {error}")
        self.notify(error, title="plan failed", severity="error")

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.query_one(LoadingIndicator).display = False
        table = self.query_one(DataTable)
        table.clear()
        for i, action in enumerate(plan.actions):
            kind = action.kind.value
            marker = Text("⚠", style="bold red") if action.destructive else Text(" ")
            label = f"{kind} (destructive)" if action.destructive else kind
            if action.kind is ActionKind.ASK:
                label = "ask → press c"
            fields = f" [{', '.join(action.fields)}]" if action.fields else ""
            reason = Text(action.reason + fields)
            height = len(reason.wrap(self.app.console, self.reason_width))
            table.add_row(marker, action.function, action.component,
                          self.app_markup(label, KIND_STYLES.get(kind, "$text")),
                          reason, key=str(i), height=max(height, 1))
        runnable = [a for a in plan.actions if a.kind is not ActionKind.ASK]
        destructive = [a for a in runnable if a.destructive]
        asks = len(plan.actions) - len(runnable)
        parts = [f"{len(runnable)} action{'s' * (len(runnable) != 1)} to apply"]
        if destructive:
            parts.append(f"[$error]{len(destructive)} destructive[/]")
        if asks:
            parts.append(f"[$warning]{asks} need a decision (conflicts screen)[/]")
        for comp, reason in plan.unknown.items():
            parts.append(f"[$text-muted]{comp} unknown: {reason} (nothing planned there)[/]")
        self.query_one("#plan-summary", Static).update(" · ".join(parts))
        note = "nothing to do: everything is in sync" if not plan.actions else \
            "a applies (after confirmation); deletions run last; esc goes back"
        if plan.warnings:
            note += "\n" + "\n".join(f"⚠ {w}" for w in plan.warnings)
        self.query_one("#plan-note", Static).update(note)
        table.focus()

    def app_markup(self, text: str, variable: str) -> Text:
        # theme variables resolved to the current theme's colours for a DataTable cell
        return Text(text, style=rich_style_for(self.app, variable))

    def action_apply_plan(self) -> None:
        if self.plan is None:
            return
        runnable = [a for a in self.plan.actions if a.kind is not ActionKind.ASK]
        if not runnable:
            self.notify("nothing to apply", title="plan")
            return
        destructive = sum(1 for a in runnable if a.destructive)
        question = f"Apply {len(runnable)} action{'s' * (len(runnable) != 1)}"
        question += f", {destructive} of them destructive?" if destructive else "?"
        self.app.push_screen(ConfirmScreen(question), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.query_one("#plan-summary", Static).update("applying…")
            self.query_one(LoadingIndicator).display = True
            self.apply()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def apply(self) -> None:
        try:
            result = self.service.apply(self.plan)
        except Exception as exc:
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._applied, result)

    def _applied(self, result: Any) -> None:
        failed = getattr(result, "failed", [])
        total = len(getattr(result, "results", []))
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
        touched = sorted({r.action.component for r in getattr(result, "results", [])}) or True
        self.close_with(touched)

    def action_close(self) -> None:
        self.close_with(None)
