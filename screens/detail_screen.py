"""DetailScreen: one function's spec, its state on every component, and its history."""

from __future__ import annotations

from typing import Any

import yaml
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Header, Static

from functions_tui.screens.read_only import GuardedScreen
from functions_tui.screens.states import THEME_VARIABLES, rich_style_for, state_markup
from functions_tui.screens.keys_footer import KeysFooter
from functions_tui.screens.service_protocol import FunctionStates, ScreenService
from functions_tui.screens.time_text import clock_text


def spec_text(spec: Any) -> str:
    """The spec as YAML, env values masked (secrets never reach the screen)."""
    data = spec.to_dict()
    data["env"] = {k: "••••" for k in data.get("env", {})}
    data = {k: v for k, v in data.items() if v not in ("", [], {}) or k in ("env",)}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True).rstrip()


class DetailScreen(GuardedScreen):
    DEFAULT_CSS = """
    DetailScreen #detail-body { height: 1fr; }
    DetailScreen #detail-spec {
        width: 2fr; border: round $panel-lighten-2; border-title-color: $text; padding: 0 1;
    }
    DetailScreen #detail-right { width: 3fr; }
    DetailScreen #detail-states {
        height: auto; max-height: 12; border: round $panel-lighten-2; border-title-color: $text;
    }
    DetailScreen #detail-history { height: 1fr; border: round $panel-lighten-2; border-title-color: $text; }
    """

    BINDINGS = [Binding("escape,q", "close", "Back", id="detail.back")]

    def __init__(self, service: ScreenService, name: str, data: FunctionStates) -> None:
        super().__init__()
        self.service = service
        self.function_name = name
        self.data = data

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="detail-body"):
            with VerticalScroll(id="detail-spec"):
                yield Static("loading…", id="spec-text")
            with Vertical(id="detail-right"):
                yield DataTable(id="detail-states", cursor_type="row", show_cursor=False)
                yield DataTable(id="detail-history", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = self.function_name
        self.query_one("#detail-spec").border_title = f"spec — {self.function_name}"
        self.query_one("#detail-states").border_title = "state per component"
        self.query_one("#detail-history").border_title = "history"
        states = self.query_one("#detail-states", DataTable)
        states.add_columns("component", "state", "last sync", "differs")
        for comp in self.data.components:
            state, detail = self.data.state_of(self.function_name, comp)
            status = self.data.statuses.get((self.function_name, comp))
            diffs = ", ".join(d.field for d in status.diffs) if status else ""
            record = self.data.records.get(self.function_name)
            last = record.components.get(comp).last_sync if record and comp in record.components else ""
            states.add_row(comp, Text.from_markup(self._markup(state_markup(state, detail))),
                           clock_text(last) or "—", diffs or "—")
        history = self.query_one("#detail-history", DataTable)
        history.add_columns("when", "action", "component", "source", "change", "by")
        self.load()

    def _markup(self, markup: str) -> str:
        # DataTable cells take Rich markup: resolve the theme variables of state_markup here
        for variable in set(THEME_VARIABLES.values()):
            markup = markup.replace(f"[{variable}]", f"[{rich_style_for(self.app, variable)}]")
        return markup

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        record = self.service.find(self.function_name)   # one TinyDB query: no other record is built
        try:
            history = list(self.service.history(self.function_name, limit=50))
        except Exception:   # an unreadable history must not hide the spec
            history = []
        self.app.call_from_thread(self.show, record, history)

    def show(self, record: Any, history: list[Any]) -> None:
        spec = self.query_one("#spec-text", Static)
        if record is None:
            spec.update(Text(f"{self.function_name} is not in the registry (unmanaged on a component)",
                             style="italic"))
        else:
            spec.update(Syntax(spec_text(record.spec), "yaml", theme="ansi_dark", background_color="default"))
        table = self.query_one("#detail-history", DataTable)
        table.clear()
        for entry in reversed(history):
            change = _change_text(entry.before, entry.after)
            table.add_row(entry.at.replace("T", " ")[:19], entry.action, entry.component or "—",
                          entry.source, change, entry.actor)
        if not history:
            table.add_row("—", "no history yet", "", "", "", "")

    def action_close(self) -> None:
        self.close_with(None)


def _change_text(before: Any, after: Any) -> str:
    # history may hold whole records ({"spec": {...}, "components": ...}): compare the specs
    before = before.get("spec", before) if isinstance(before, dict) else before
    after = after.get("spec", after) if isinstance(after, dict) else after
    if not isinstance(before, dict) or not isinstance(after, dict):
        return "created" if after and not before else ("removed" if before and not after else "")
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and k != "env")
    parts = [f"{k}: {before.get(k)} → {after.get(k)}" for k in keys[:3]]
    if before.get("env") != after.get("env") and ("env" in before or "env" in after):
        parts.append("env changed")
    return "; ".join(parts)
