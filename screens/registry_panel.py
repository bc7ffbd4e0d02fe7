"""RegistryPanel: every function in the registry with one state badge per component, or,
when there are more components than its width can name, its states counted over them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.widgets import Static

from functions_tui.screens.counted_panel import CountedPanel
from functions_tui.screens.function_list import FunctionList, Row
from functions_tui.screens.states import counts_markup


#: Cells a function's name keeps beside the per-component columns; when the components' names
#: leave less, a row counts its states instead ("✓4 ~1"), so six or twelve instances still read.
NAME_ROOM = 16


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
        self._fitted: tuple[bool, int] | None = None   # (by name, width) of the last fit

    def compose(self) -> ComposeResult:
        with Horizontal(classes="registry-header"):
            yield Static("function", id="registry-heading")
            yield Static(" ".join(self.components), id="registry-columns")
        yield FunctionList(empty_text="the registry is empty — add functions with: functions-tui add PATH", id="list-registry")

    def on_resize(self, event: Resize) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """One column per component, headed by its name, while the names fit beside a
        function's; otherwise each row's states counted over its components."""
        names = " ".join(self.components)
        width = self.size.width   # inside the border
        by_name = len(names) + 2 + NAME_ROOM <= width
        if (by_name, width) == self._fitted:
            return
        self._fitted = (by_name, width)
        self.function_list.badge_counts = not by_name
        counted = f"states on {len(self.components)} components"
        if len(counted) + len("function") + 4 > width:
            counted = "states"
        header = self.query_one("#registry-columns", Static)
        header.update(names if by_name else counted)
        # its width set with its text: an auto width kept the old text's on a resize
        header.styles.width = len(names if by_name else counted) + 2

    def show(self, rows: list[Row], counts: dict[str, int]) -> None:
        self.set_rows(rows)
        summary = counts_markup(counts)
        self.border_title = f"registry {summary}" if summary else "registry"
        self.update_count()
