"""ConflictScreen: resolve conflicts by keyboard, field by field, with a visible undo stack.

For each conflict (changed in the registry and on the component since the last sync) it
shows base / registry / component per field (env and labels key by key), secrets masked,
and for each field which side changed it and how (added / removed / changed). Every field
starts undecided: 1 / 2 (or space / enter to toggle) pick the field under the cursor, r / c
set every field to the registry / the component, m lets the fields changed on one side only
take that side, x skips the item, u undoes the last decision (the stack is on screen), n / p
next / previous. An item is decided only when each of its fields is. v shows the clear
values of the secret field under the cursor (fetched from the service on request, never
logged) until v again or the cursor moves. a applies the fully decided items: the registry
is written and the component pushed where the choice needs it (SyncService.resolve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, OptionList, Static
from textual.widgets.option_list import Option

from functions_tui.registry.masking import NOT_KEPT, masked_changes
from functions_tui.registry.merge import SIDES, key_changes
from functions_tui.registry.plan_types import Decision, FieldDiff
from functions_tui.screens.confirm import ConfirmScreen
from functions_tui.screens.read_only import GuardedScreen
from functions_tui.screens.keys_footer import KeysFooter
from functions_tui.screens.service_protocol import ScreenService

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
        # registry.masking's words (set / unset / •••• (changed)) say nothing about the value
        return text if text.startswith(MASK) or text in ("set", "unset") else MASK
    return str(value)


def clear_value(value: Any) -> str:
    """One revealed value: the clear text, or what is known about it."""
    if value is NOT_KEPT:
        return "(set; value not kept)"
    return "unset" if value is None else str(value)


@dataclass
class ConflictItem:
    """One conflict as this screen shows it: a pair and the fields that differ."""

    function: str
    component: str
    diffs: list[FieldDiff]
    reason: str = ""


def resolve_each(service: Any, decisions: list[Decision]) -> list[tuple[Decision, str, list[str]]]:
    """Resolve each decision through the service (on a worker thread); returns (decision,
    error text or '', warnings) for each (a warning: e.g. a taken value that could not be
    written back to its function.yaml). One failure never stops the others."""
    outcomes = []
    for decision in decisions:
        try:
            result = service.resolve(decision)
            failed = getattr(result, "failed", [])
            outcomes.append((decision, "; ".join(r.error for r in failed) if failed else "",
                             list(getattr(result, "warnings", None) or [])))
        except Exception as exc:
            outcomes.append((decision, f"{type(exc).__name__}: {exc}", []))
    return outcomes


#: The "changed on" column: each field's three-way merge side (registry.merge), so a person
#: sees which fields merge by themselves and which are the question.
CHANGED_ON = {"registry": ("registry", "green"), "component": ("component", "yellow"),
              "conflict": ("both ⚡", "bold red")}


SHORT = {"registry": "reg", "component": "comp"}
SIDE_STYLE = {"reg": "green", "comp": "yellow"}


def changed_on(diff: Any) -> Text:
    """Which side changed the field and how: ``comp removed``; a conflict ``both ⚡`` with a
    line a side (``reg changed`` / ``comp added``). Secret fields are read from their masked words, never from a value."""
    side = diff.side or "conflict"
    if diff.secret:
        reg, comp = masked_changes(str(diff.base), str(diff.registry), str(diff.component))
    else:
        reg, comp = key_changes(diff.base, diff.registry, diff.component)
    label, style = CHANGED_ON.get(side, ("", ""))
    # Short words ("reg" / "comp", as the footer's keys say): the column is the last one and
    # the first cut at 120 columns.
    if side == "registry" and reg:
        return Text(f"reg {reg}", style=style)
    if side == "component" and comp:
        return Text(f"comp {comp}", style=style)
    text = Text(label, style=style)
    if side == "conflict":   # one line a side, so the column stays narrow
        for who, how in (("reg", reg), ("comp", comp)):
            if how:
                text.append(f"\n{who} {how}", style=SIDE_STYLE[who])
    return text


def env_summary(diffs: list[Any]) -> str:
    """``env keys that differ: API_KEY (component), DB_URL (both)``; "" without env diffs."""
    keys = [(d.field.split(".", 1)[1], {"conflict": "both"}.get(d.side or "conflict", d.side))
            for d in diffs if d.field.startswith("env.")]
    return ("env keys that differ: " + ", ".join(f"{k} ({side})" for k, side in keys)) if keys else ""


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
        Binding("r", "keep_registry", "All←reg", id="conflict.all_registry"),
        Binding("c", "take_component", "All←comp", id="conflict.all_component"),
        Binding("1", "pick_field('registry')", "Field←reg", id="conflict.field_registry"),
        Binding("2", "pick_field('component')", "Field←comp", id="conflict.field_component"),
        Binding("space", "pick_field('toggle')", "Toggle field", show=False, id="conflict.field_toggle"),
        # Through pick_field, so read-only mode disables it like every other decision key.
        Binding("m", "pick_field('merge')", "Rest merge", id="conflict.merge"),
        Binding("v", "reveal", "Reveal", id="conflict.reveal"),
        Binding("x", "skip", "Skip", id="conflict.skip"),
        Binding("u", "undo", "Undo", id="conflict.undo"),
        Binding("n", "move(1)", "Next", id="conflict.next"),
        Binding("p", "move(-1)", "Prev", show=False, id="conflict.previous"),
        Binding("a", "apply_resolutions", "Apply", id="conflict.apply"),
        Binding("escape", "close", "Back", id="conflict.back"),
    ]

    def __init__(self, service: ScreenService, conflicts: list[ConflictItem]) -> None:
        super().__init__()
        self.service = service
        self.conflicts = conflicts
        self.index = 0
        self.decisions: dict[tuple[str, str], Any] = {}
        self.undo_stack: list[tuple[tuple[str, str], Any, str]] = []   # (key, previous, what)
        # The reveal: which (item, field) is shown in clear, and its values. Held only here,
        # only while shown; the request names what a late answer must still match.
        self.revealed: tuple[tuple[str, str], str] | None = None
        self._revealed_values: dict[str, Any] | None = None
        self._reveal_request: tuple[tuple[str, str], str] | None = None

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
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"{len(self.conflicts)} to decide (conflicts, and drift under the ask policy)"
        self.query_one("#conflict-list").border_title = "to decide"
        self.query_one("#undo-stack").border_title = "undo stack (u)"
        table = self.query_one("#conflict-fields", DataTable)
        # "keep" (the decision) before "changed on": at 80-120 columns the long one is the one cut
        table.add_columns("field", "base", "registry", "component", "keep", "changed on")
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
        open_fields = self.undecided(item)
        if decision is None:
            mark, style = "○ undecided", "dim"
        elif decision.choice == "skip":
            mark, style = "– skip", "dim"
        elif open_fields:
            mark, style = f"◔ {len(open_fields)} of {len(item.diffs)} undecided", "cyan"
        else:
            mark, style = {"registry": ("● registry", "green"), "component": ("● component", "yellow"),
                           "merge": ("◐ merge", "cyan")}[decision.choice]
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
        """What each field will take: ``registry`` / ``component`` / ``skip``, or "" while the
        person has not chosen. Nothing is chosen for them: a field's merge side is only a
        suggestion (m takes the suggestions)."""
        fields = [d.field for d in item.diffs]
        decision = self.decisions.get(self._key(item))
        if decision is None:
            return dict.fromkeys(fields, "")
        if decision.choice == "skip":
            return dict.fromkeys(fields, "skip")
        if decision.choice in SIDES:
            return dict.fromkeys(fields, decision.choice)
        chosen = decision.fields or {}
        return {f: chosen.get(f, "") for f in fields}

    def undecided(self, item: ConflictItem) -> list[str]:
        """The fields of ``item`` still without a choice (none once it is skipped)."""
        return [f for f, pick in self._picks(item).items() if not pick]

    def _cursor_diff(self) -> Any:
        item = self.current
        if item is None or not item.diffs:
            return None
        row = self.query_one("#conflict-fields", DataTable).cursor_row
        return item.diffs[min(max(row, 0), len(item.diffs) - 1)]

    def _cells(self, item: ConflictItem, diff: Any) -> tuple[list[str], bool]:
        """The base / registry / component cells of one row, in clear when it is revealed."""
        values = self._revealed_values if self.revealed == (self._key(item), diff.field) else None
        if values is None:
            return [display_value(getattr(diff, side), diff.secret) for side in ("base", "registry", "component")], False
        key = diff.field.partition(".")[2]
        if key in values:
            one = values[key]
            return [clear_value(one.base), clear_value(one.registry), clear_value(one.component)], True
        return ["\n".join(f"{k}={clear_value(getattr(v, side))}" for k, v in sorted(values.items()))
                for side in ("base", "registry", "component")], True

    def _show_current(self) -> None:
        item = self.current
        table = self.query_one("#conflict-fields", DataTable)
        row = table.cursor_row
        table.clear()
        if item is None:
            self.query_one("#conflict-title", Static).update("no conflicts left")
            return
        title = (f"{item.function} on {item.component} — {item.reason}  ({self.index + 1}/{len(self.conflicts)})"
                 + ("  · secret values masked (v reveals the one under the cursor)"
                    if any(d.secret for d in item.diffs) else ""))
        if self.revealed is not None:
            title += f"\n👁 {self.revealed[1]} shown in clear: v hides it"
        if summary := env_summary(item.diffs):
            title += "\n" + summary
        self.query_one("#conflict-title", Static).update(title)
        picks = self._picks(item)
        sides = self._sides(item)
        for diff in item.diffs:
            cells, clear = self._cells(item, diff)
            pick = picks.get(diff.field, "")
            if pick:
                keep = Text(pick, style={"registry": "green", "component": "yellow"}.get(pick, "dim"))
            else:
                hint = sides[diff.field]
                # undecided; in brackets the side m would take (a suggestion, not a choice)
                keep = Text("? 1/2" if hint == "conflict" else f"? (m {SHORT[hint]})", style="bold magenta")
            change = changed_on(diff)
            height = max(c.count("\n") + 1 for c in [*cells, change.plain])
            field = Text(diff.field, style="bold")
            if clear:
                field.append(" 👁", style="magenta")
            shown = "bold magenta" if clear else ""
            table.add_row(field,
                          Text(cells[0], style=shown or "dim"),
                          Text(cells[1], style=shown or ("green" if pick == "registry" else "")),
                          Text(cells[2], style=shown or ("yellow" if pick == "component" else "")),
                          keep, change, key=diff.field, height=height)
        if item.diffs:
            table.move_cursor(row=min(max(row, 0), len(item.diffs) - 1), animate=False)
        self._show_decision(item, picks)
        self._show_undo()

    def _show_decision(self, item: ConflictItem, picks: dict[str, str]) -> None:
        decision = self.decisions.get(self._key(item))
        open_fields = [f for f, p in picks.items() if not p]
        if decision is None:
            text = ("undecided: 1/2 this field · r all ← registry · c all ← component · "
                    "m the rest as they merge · x skip")
        elif decision.choice == "skip":
            text = "skipped: left as a conflict"
        elif open_fields:
            text = (f"{len(picks) - len(open_fields)} of {len(picks)} fields chosen; "
                    f"still undecided: {', '.join(open_fields)}")
        else:
            text = "decided: " + ", ".join(f"{f} ← {s}" for f, s in picks.items())
        ready = len(self.ready_decisions())
        remaining = sum(len(self.undecided(i)) for i in self.conflicts)
        tail = f" · {remaining} field{'s' * (remaining != 1)} undecided" if remaining else ""
        self.query_one("#conflict-decision", Static).update(
            f"{text}\n{ready} of {len(self.conflicts)} ready{tail} — a applies")

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
            self._decide(Decision(item.function, item.component, "registry"),
                         f"{item.function}/{item.component}: keep registry")

    def action_take_component(self) -> None:
        if item := self.current:
            self._decide(Decision(item.function, item.component, "component"),
                         f"{item.function}/{item.component}: take component")

    def action_skip(self) -> None:
        if item := self.current:
            self._decide(Decision(item.function, item.component, "skip"),
                         f"{item.function}/{item.component}: skip")

    def action_pick_field(self, side: str) -> None:
        """One field (one env key) from a side, or (``merge``) every field still undecided
        that changed on one side only from that side. The others stay as they are."""
        item, diff = self.current, self._cursor_diff()
        if item is None or diff is None:
            return
        picks = self._picks(item)
        if set(picks.values()) == {"skip"}:
            picks = dict.fromkeys(picks, "")
        if side == "merge":
            sides = self._sides(item)
            filled = {f: sides[f] for f, p in picks.items() if not p and sides[f] in SIDES}
            if not filled:
                self.notify("no undecided field merges by itself: 1 / 2 choose the rest", timeout=3)
                return
            picks.update(filled)
            what = f"{item.function}/{item.component}: {', '.join(filled)} ← as they merge"
        else:
            if side == "toggle":
                side = "component" if picks.get(diff.field) == "registry" else "registry"
            picks[diff.field] = side
            what = f"{item.function}/{item.component}: {diff.field} ← {side}"
        decision = Decision(item.function, item.component, "merge", {f: s for f, s in picks.items() if s})
        self._decide(decision, what)

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
            if self._key(item) == key and i != self.index:
                self.index = i
                self._hide_reveal(refresh=False)
        self.notify(f"undone: {what}", timeout=2)
        self._refresh_list()
        self._show_current()

    def action_move(self, delta: int) -> None:
        if self.conflicts:
            self.index = (self.index + delta) % len(self.conflicts)
            self._hide_reveal(refresh=False)
            self._refresh_list()
            self._show_current()

    @on(OptionList.OptionHighlighted, "#conflict-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.index:
            self.index = event.option_index
            self._hide_reveal(refresh=False)
            self._show_current()

    @on(DataTable.RowSelected, "#conflict-fields")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if self.app.check_action("pick_field", ()) is True:
            self.action_pick_field("toggle")

    # --- reveal: clear values on request, for as long as the cursor stays ---------------------------
    def action_reveal(self) -> None:
        if self.revealed is not None or self._reveal_request is not None:
            self._hide_reveal()
            return
        item, diff = self.current, self._cursor_diff()
        if item is None or diff is None:
            return
        if not diff.secret:
            self.notify(f"{diff.field} is not secret: its values are shown as they are", timeout=3)
            return
        if not callable(getattr(self.service, "reveal", None)):
            self.notify("this service cannot reveal values", severity="warning", timeout=3)
            return
        self._reveal_request = (self._key(item), diff.field)
        self._fetch_reveal(item.function, item.component, diff.field)

    @work(thread=True, exclusive=True, group="reveal", exit_on_error=False)
    def _fetch_reveal(self, function: str, component: str, field: str) -> None:
        # The values go straight to the screen, not into the worker's result (which Textual
        # keeps and may print): nothing else ever holds them.
        try:
            values, error = self.service.reveal(function, component, field), ""
        except Exception as exc:
            values, error = None, f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._reveal_arrived, ((function, component), field), values, error)

    def _reveal_arrived(self, request: tuple[tuple[str, str], str], values: Any, error: str) -> None:
        if request != self._reveal_request:
            return  # hidden, or the cursor moved on, before the answer came: show nothing
        self._reveal_request = None
        if error:
            self.notify(f"cannot reveal {request[1]}: {error}", severity="error", timeout=5)
            return
        self.revealed, self._revealed_values = request, dict(values or {})
        self._show_current()

    def _hide_reveal(self, refresh: bool = True) -> None:
        was_shown = self.revealed is not None
        self.revealed = self._revealed_values = self._reveal_request = None
        if was_shown and refresh and self.is_mounted:
            self._show_current()

    @on(DataTable.RowHighlighted, "#conflict-fields")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Compare with where the cursor is now, not with the event's row: rebuilding the rows
        # posts highlights of the rows it passes on its way back to the same one.
        shown = self.revealed or self._reveal_request
        if shown is None:
            return
        item, diff = self.current, self._cursor_diff()
        if item is None or diff is None or (self._key(item), diff.field) != shown:
            self._hide_reveal()

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        self._hide_reveal()   # another screen on top (confirm, help): the values go away

    # --- applying ------------------------------------------------------------------------------
    def ready_decisions(self) -> list[Any]:
        """One decision per fully decided item (skips left out), each a merge naming every
        field, so what is applied is exactly what the table shows."""
        out = []
        for item in self.conflicts:
            decision = self.decisions.get(self._key(item))
            if decision is None or decision.choice == "skip" or self.undecided(item):
                continue
            out.append(Decision(item.function, item.component, "merge", self._picks(item)))
        return out

    def action_apply_resolutions(self) -> None:
        ready = self.ready_decisions()
        open_items = [i for i in self.conflicts if self.undecided(i)]
        open_fields = sum(len(self.undecided(i)) for i in open_items)
        if not ready:
            if open_items:
                self.notify(f"{open_fields} field{'s' * (open_fields != 1)} still undecided"
                            f" (in {len(open_items)} item{'s' * (len(open_items) != 1)}): 1 / 2 per field,"
                            " r / c all, m the rest as they merge, x skips", title="conflicts")
            else:
                self.notify("nothing to apply: every item is skipped", title="conflicts")
            return
        pushes = sum(1 for d in ready if "registry" in d.fields.values())
        what = f"{len(ready)} decision{'s' * (len(ready) != 1)}"
        if open_items:
            question = (f"{open_fields} field{'s' * (open_fields != 1)} in {len(open_items)} item"
                        f"{'s' * (len(open_items) != 1)} still undecided (they stay conflicts). "
                        f"Apply only the {what} fully decided?")
        else:
            question = f"Apply {what}?"
        self.app.push_screen(ConfirmScreen(
            question + " The registry is written"
            + (f" and {pushes} pushed to their component." if pushes else ".")), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self.query_one("#conflict-decision", Static).update("applying…")
            self.apply(self.ready_decisions())

    @work(thread=True, exclusive=True, group="resolve", exit_on_error=False)
    def apply(self, decisions: list[Any]) -> None:
        outcomes = resolve_each(self.service, decisions)
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
        self._hide_reveal(refresh=False)
        self.close_with(None)
