"""ComponentPanel: one component's functions with their states, counts and availability."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from screens.function_list import FunctionList, Row
from screens.states import counts_markup


class ComponentPanel(Vertical):
    """Title: the component and its counts per state; a status line; the function list."""

    DEFAULT_CSS = """
    ComponentPanel {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        height: 1fr;
        width: 1fr;
    }
    ComponentPanel:focus-within { border: round $accent; }
    ComponentPanel > .panel-status { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    ComponentPanel.-unavailable > .panel-status { color: $warning; }
    ComponentPanel.-syncing > .panel-status { color: $accent; }
    ComponentPanel.-unavailable { border: round $warning 60%; }
    """

    def __init__(self, component: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id or f"panel-{component}", classes=classes)
        self.component = component
        self.border_title = component

    def compose(self) -> ComposeResult:
        yield Static("not synced yet", classes="panel-status")
        yield FunctionList(empty_text="no functions here", id=f"list-{self.component}")

    @property
    def function_list(self) -> FunctionList:
        return self.query_one(FunctionList)

    def show(self, rows: list[Row], counts: dict[str, int], *, available: bool, reason: str,
             last_sync: str, syncing: bool, version: str = "") -> None:
        self.function_list.set_rows(rows)
        summary = counts_markup(counts)
        self.border_title = f"{self.component} {summary}" if summary else self.component
        self.border_subtitle = f"{len(rows)} functions"
        self.show_status(available=available, reason=reason, last_sync=last_sync, syncing=syncing,
                         version=version)

    def show_status(self, *, available: bool, reason: str, last_sync: str, syncing: bool,
                    version: str = "") -> None:
        """The line under the title: syncing / unavailable and why / unknown / last sync."""
        self.set_class(not available, "-unavailable")
        self.set_class(syncing, "-syncing")
        if syncing:
            status = "⟳ syncing…"
        elif not available:
            status = f"✗ unavailable: {reason}" if reason else "✗ unavailable"
        elif reason:
            status = f"? unknown: {reason}"
        elif last_sync:
            status = f"last sync {last_sync}" + (f" · v{version.lstrip('v')}" if version else "")
        else:
            status = "not synced yet"
        self.query_one(".panel-status", Static).update(status)
