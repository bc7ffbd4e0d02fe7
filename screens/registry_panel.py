"""RegistryPanel: every function in the registry with one state badge per component."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from functions_tui.screens.counted_panel import CountedPanel
from functions_tui.screens.function_list import FunctionList, Row
from functions_tui.screens.states import counts_markup


class RegistryPanel(CountedPanel):
    DEFAULT_CSS = """
    RegistryPanel {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        height: 1fr;
        width: 1fr;
    }
    RegistryPanel:focus-within { border: round $accent; }
    RegistryPanel > .registry-header { height: 1; color: $text-muted; text-style: bold; }
    RegistryPanel > .registry-header > #registry-columns { width: auto; padding-right: 2; }
    RegistryPanel > .registry-header > #registry-heading { width: 1fr; padding-left: 1; }
    """

    def __init__(self, components: list[str], *, id: str | None = "panel-registry") -> None:
        super().__init__(id=id)
        self.components = components
        self.border_title = "registry"

    def compose(self) -> ComposeResult:
        with Horizontal(classes="registry-header"):
            yield Static("function", id="registry-heading")
            yield Static(" ".join(self.components), id="registry-columns")
        yield FunctionList(empty_text="the registry is empty — add functions with: functions-tui add PATH", id="list-registry")

    def show(self, rows: list[Row], counts: dict[str, int]) -> None:
        self.set_rows(rows)
        summary = counts_markup(counts)
        self.border_title = f"registry {summary}" if summary else "registry"
        self.update_count()
