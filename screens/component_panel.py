"""ComponentPanel: one component's functions with their states, counts and availability."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from functions_tui.screens.counted_panel import CountedPanel
from functions_tui.screens.function_list import FunctionList, Row
from functions_tui.screens.states import counts_markup


class ComponentPanel(CountedPanel):
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
    /* One line (two when unavailable: why, then when checked and how to retry), cut with …
       rather than wrapped: at 80 columns a panel is 40 wide and a wrap pushed the list down. */
    ComponentPanel > .panel-status {
        height: auto; max-height: 2; padding: 0 1; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
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

    def show(self, rows: list[Row], counts: dict[str, int], *, available: bool, reason: str,
             last_sync: str, syncing: bool, version: str = "", checked: str = "") -> None:
        self.set_rows(rows)
        summary = counts_markup(counts)
        self.border_title = f"{self.component} {summary}" if summary else self.component
        self.update_count()
        self.show_status(available=available, reason=reason, last_sync=last_sync, syncing=syncing,
                         version=version, checked=checked)

    def show_progress(self, text: str) -> None:
        """A step of the component's start (the sandbox starting its backend), before any sync."""
        self.set_class(True, "-syncing")
        self.query_one(".panel-status", Static).update(Content(f"⟳ {text}"))

    def show_status(self, *, available: bool, reason: str, last_sync: str, syncing: bool,
                    version: str = "", checked: str = "") -> None:
        """The line under the title: syncing / unavailable and why / unknown / last sync.

        ``checked``: when availability was last checked (HH:MM:SS), said for an unavailable
        component with how to retry, so a stale "unavailable" is visibly stale."""
        self.set_class(not available, "-unavailable")
        self.set_class(syncing, "-syncing")
        line = self.query_one(".panel-status", Static)
        line.tooltip = None
        if syncing:
            status = "⟳ syncing…"
        elif not available:
            why = f"✗ unavailable: {reason}" if reason else "✗ unavailable"
            when = f"checked {checked} · " if checked else ""
            status = f"{why}\n{when}press s to retry"
            # the reason may be cut at 40 columns: the whole of it on hover
            line.tooltip = f"{why}\n{when}press s to retry"
        elif reason:
            status = f"? unknown: {reason}"
        elif last_sync:
            status = f"last sync {last_sync}" + (f" · v{version.lstrip('v')}" if version else "")
        else:
            status = "not synced yet"
        line.update(Content(status))   # plain text: a reason may hold [brackets]
