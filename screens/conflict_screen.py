"""ConflictScreen: resolve conflicts by keyboard, field by field, with a visible undo stack.

For each conflict (changed in the registry and on the component since the last sync) it
shows base / registry / component per field, secrets masked. Keys: r keep the registry's
values, c take the component's, 1 / 2 (or space to toggle) pick one field, x skip, u undo
the last decision (the stack is on screen), n / p next / previous, a apply: the registry is
written and the component pushed where the choice needs it (SyncService.resolve).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from app.tui_bridge import ConflictItem, resolve_all
from registry.merge import decided_sides
from screens.confirm import ConfirmScreen
from screens.read_only import GuardedScreen

MASK = "••••"


def display_value(value: Any, secret: bool) -> str:
    """One cell: dicts one key a line; secret values masked (a short hash tail tells changes apart)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "\n".join(f"{k}={display_value(v, secret)}" for k, v in sorted(value.items()))
    if value is None:
        return "—"
    if secret:
        text = str(value)
        if text.startswith("h:"):
            return f"{MASK}{text[2:6]}"
        return text if text.startswith(MASK) else MASK
    return str(value)


def _decision_type() -> Any:
    from app.service import Decision
    return Decision


#: The "changed on" column: each field's three-way merge side (registry.merge), so a person
#: sees which fields merge by themselves and which are the question.
CHANGED_ON = {"registry": ("registry", "green"), "component": ("component", "yellow"),
              "conflict": ("both ⚡", "bold red")}


class ConflictScreen(GuardedScreen):
    DEFAULT_CSS = """
    ConflictScreen #conflict-body { height: 1fr; }
    ConflictScreen #conflict-list {
        width: 30; height: 1fr; border: round $panel-lighten-2; border-title-color: $text;
    }
    ConflictScreen #conflict-list:focus { border: round $accent; }
    ConflictScreen #conflict-main { width: 1fr; }
    ConflictScreen #conflict-title { height: auto; padding: 0 1; background: $panel; text-style: bold; }
    ConflictScreen #conflict-fields { height: 1fr; border: round $panel-lighten-2; }
    ConflictScreen #conflict-fields:focus { border: round $accent; }
    ConflictScreen #conflict-decision { height: auto; padding: 0 1; }
    ConflictScreen #undo-stack {
        height: 7; border: round $panel-lighten-2; border-title-color: $text-muted; padding: 0 1;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("r", "keep_registry", "Keep reg"),
        Binding("c", "take_component", "Take comp"),
        Binding("1", "pick_field('registry')", "Field←reg"),
        Binding("2", "pick_field('component')", "Field←comp"),
        Binding("space", "pick_field('toggle')", "Toggle field", show=False),
        Binding("x", "skip", "Skip"),
        Binding("u", "undo", "Undo"),
        Binding("n", "move(1)", "Next"),
        Binding("p", "move(-1)", "Prev", show=False),
        Binding("a", "apply_resolutions", "Apply"),
        Binding("escape", "close", "Back"),
    ]

    def __init__(self, service: Any, conflicts: list[ConflictItem]) -> None:
        super().__init__()
        self.service = service
        self.conflicts = conflicts
        self.index = 0
        self.decisions: dict[tuple[str, str], Any] = {}
        self.undo_stack: list[tuple[tuple[str, str], Any, str]] = []   # (key, previous, what)

    # --- layout ---------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="conflict-body"):
            yield OptionList(id="conflict-list")
            with Vertical(id="conflict-main"):
                yield Static("", id="conflict-title")
                yield DataTable(id="conflict-fields", cursor_type="row")
                yield Static("", id="conflict-decision")
                yield Static("", id="undo-stack")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{len(self.conflicts)} to decide (conflicts, and drift under the ask policy)"
        self.query_one("#conflict-list").border_title = "to decide"
        self.query_one("#undo-stack").border_title = "undo stack (u)"
        table = self.query_one("#conflict-fields", DataTable)
        table.add_columns("field", "base", "registry", "component", "changed on", "keep")
        self._refresh_list()
        self._show_current()
        table.focus()

    @property
    def current(self) -> ConflictItem | None:
        return self.conflicts[self.index] if self.conflicts else None

    def _key(self, item: ConflictItem) -> tuple[str, str]:
        return (item.function, item.component)

    def _label(self, item: ConflictItem) -> Text:
        decision = self.decisions.get(self._key(item))
        mark, style = ("○ undecided", "dim") if decision is None else {
            "registry": ("● registry", "green"), "component": ("● component", "yellow"),
            "merge": ("◐ merge", "cyan"), "skip": ("– skip", "dim"),
        }[decision.choice]
        text = Text(f"{item.function} · {item.component}\n")
        text.append(f"  {mark}", style=style)
        return text

    def _refresh_list(self) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(self._label(item), id=f"{i}") for i, item in enumerate(self.conflicts)])
        if self.conflicts:
            options.highlighted = self.index

    @staticmethod
    def _sides(item: ConflictItem) -> dict[str, str]:
        """Each field's three-way merge side (the engine's, registry.merge)."""
        return {d.field: d.side or "conflict" for d in item.diffs}

    def _picks(self, item: ConflictItem) -> dict[str, str]:
        """What each field will take: the engine's rule (registry.merge.decided_sides), so a
        choice answers the conflicting fields and the fields that merge keep their side."""
        decision = self.decisions.get(self._key(item))
        if decision is None:
            return {}
        if decision.choice == "skip":
            return {d.field: "skip" for d in item.diffs}
        picks = decided_sides(self._sides(item), decision.choice, decision.fields)
        return {f: ("" if side == "conflict" else side) for f, side in picks.items()}

    def _show_current(self) -> None:
        item = self.current
        table = self.query_one("#conflict-fields", DataTable)
        row = table.cursor_row
        table.clear()
        if item is None:
            self.query_one("#conflict-title", Static).update("no conflicts left")
            return
        self.query_one("#conflict-title", Static).update(
            f"{item.function} on {item.component} — {item.reason}  ({self.index + 1}/{len(self.conflicts)})"
            + ("  · secret values masked" if any(d.secret for d in item.diffs) else ""))
        picks = self._picks(item)
        for diff in item.diffs:
            cells = [display_value(getattr(diff, side), diff.secret) for side in ("base", "registry", "component")]
            pick = picks.get(diff.field, "")
            keep = Text(pick or "—", style={"registry": "green", "component": "yellow",
                                             "skip": "dim"}.get(pick, "dim"))
            height = max(c.count("\n") + 1 for c in cells)
            table.add_row(Text(diff.field, style="bold"),
                          Text(cells[0], style="dim"), Text(cells[1], style="green" if pick == "registry" else ""),
                          Text(cells[2], style="yellow" if pick == "component" else ""),
                          Text(*CHANGED_ON.get(diff.side or "conflict", ("", ""))), keep,
                          key=diff.field, height=height)
        if item.diffs:
            table.move_cursor(row=min(max(row, 0), len(item.diffs) - 1), animate=False)
        decision = self.decisions.get(self._key(item))
        if decision is None:
            text = "undecided: r keep registry · c take component · 1/2 per field · x skip"
        elif decision.choice == "merge":
            text = "merge: " + ", ".join(f"{f} ← {s or '? (1/2 to choose)'}" for f, s in picks.items())
        else:
            text = {"registry": "keep the registry's values for the conflicts (the other fields merge)",
                    "component": "take the component's values for the conflicts (the other fields merge)",
                    "skip": "skipped: left as a conflict"}[decision.choice]
        decided = len(self.ready_decisions())
        self.query_one("#conflict-decision", Static).update(
            f"{text}\n{decided} of {len(self.conflicts)} decided — a applies")
        self._show_undo()

    def _show_undo(self) -> None:
        lines = [f"{i + 1}. {what}" for i, (_, _, what) in enumerate(self.undo_stack)][-5:]
        self.query_one("#undo-stack", Static).update("\n".join(reversed(lines)) or "(empty)")

    # --- decisions ------------------------------------------------------------------------
    def _decide(self, decision: Any, what: str) -> None:
        item = self.current
        key = self._key(item)
        self.undo_stack.append((key, self.decisions.get(key), what))
        self.decisions[key] = decision
        self._refresh_list()
        self._show_current()

    def action_keep_registry(self) -> None:
        if item := self.current:
            self._decide(_decision_type()(item.function, item.component, "registry"),
                         f"{item.function}/{item.component}: keep registry")

    def action_take_component(self) -> None:
        if item := self.current:
            self._decide(_decision_type()(item.function, item.component, "component"),
                         f"{item.function}/{item.component}: take component")

    def action_skip(self) -> None:
        if item := self.current:
            self._decide(_decision_type()(item.function, item.component, "skip"),
                         f"{item.function}/{item.component}: skip")

    def action_pick_field(self, side: str) -> None:
        item = self.current
        table = self.query_one("#conflict-fields", DataTable)
        if item is None or not item.diffs:
            return
        field = item.diffs[min(table.cursor_row, len(item.diffs) - 1)].field
        picks = self._picks(item)
        if not picks or set(picks.values()) == {"skip"}:
            picks = {f: ("" if s == "conflict" else s) for f, s in self._sides(item).items()}
        if side == "toggle":
            side = "component" if picks.get(field) == "registry" else "registry"
        picks[field] = side
        Decision = _decision_type()
        # Always a merge of the explicit picks: a field not picked keeps its merge side.
        decision = Decision(item.function, item.component, "merge", {f: s for f, s in picks.items() if s})
        self._decide(decision, f"{item.function}/{item.component}: {field} ← {side}")

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("nothing to undo", timeout=2)
            return
        key, previous, what = self.undo_stack.pop()
        if previous is None:
            self.decisions.pop(key, None)
        else:
            self.decisions[key] = previous
        for i, item in enumerate(self.conflicts):   # show the conflict the undo touched
            if self._key(item) == key:
                self.index = i
        self.notify(f"undone: {what}", timeout=2)
        self._refresh_list()
        self._show_current()

    def action_move(self, delta: int) -> None:
        if self.conflicts:
            self.index = (self.index + delta) % len(self.conflicts)
            self._refresh_list()
            self._show_current()

    @on(OptionList.OptionHighlighted, "#conflict-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.index:
            self.index = event.option_index
            self._show_current()

    @on(DataTable.RowSelected, "#conflict-fields")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if self.app.check_action("pick_field", ()) is True:
            self.action_pick_field("toggle")

    # --- applying ------------------------------------------------------------------------------
    def ready_decisions(self) -> list[Any]:
        out = []
        for item in self.conflicts:
            decision = self.decisions.get(self._key(item))
            if decision is None or decision.choice == "skip":
                continue
            if decision.choice == "merge":
                picks = self._picks(item)
                if not all(picks.values()):
                    continue  # a conflicting field still has no answer: not ready
                decision = replace(decision, fields=picks)
            out.append(decision)
        return out

    def action_apply_resolutions(self) -> None:
        ready = self.ready_decisions()
        if not ready:
            self.notify("no decisions yet: r / c / 1 / 2 decide, x skips", title="conflicts")
            return
        pushes = sum(1 for d in ready if d.choice != "component")
        self.app.push_screen(ConfirmScreen(
            f"Apply {len(ready)} decision{'s' * (len(ready) != 1)}? The registry is written"
            + (f" and {pushes} pushed to their component." if pushes else ".")), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.query_one("#conflict-decision", Static).update("applying…")
            self.apply(self.ready_decisions())

    @work(thread=True, exclusive=True, group="resolve", exit_on_error=False)
    def apply(self, decisions: list[Any]) -> None:
        outcomes = resolve_all(self.service, decisions)
        self.app.call_from_thread(self._applied, outcomes)

    def _applied(self, outcomes: list[tuple[Any, str, list[str]]]) -> None:
        failed = [(d, e) for d, e, _ in outcomes if e]
        log = getattr(self.app, "log_activity", None)
        for decision, error, warnings in outcomes:
            what = f"resolve {decision.function}/{decision.component}: {decision.choice}"
            if log:
                log(what + (f" failed: {error}" if error else ""), "error" if error else "ok")
                for warning in warnings:
                    log(warning, "warning")
        if failed:
            self.notify("\n".join(f"{d.function}/{d.component}: {e}" for d, e in failed),
                        title=f"{len(failed)} of {len(outcomes)} failed", severity="error")
        else:
            self.notify(f"{len(outcomes)} conflicts resolved", title="conflicts")
        self.close_with(sorted({d.component for d, _, _ in outcomes}) or True)

    def action_close(self) -> None:
        self.close_with(None)
