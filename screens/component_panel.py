"""ComponentPanel: one component's functions with their states, counts and availability.

Compact (``set_compact``, see screens/panel_grid.py): one summary line instead of the panel,
when there are more components than the screen holds whole.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.events import Click
from textual.message import Message
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
    /* Compact: the summary line alone. The list stays displayed, zero lines high, so it keeps
       its place in the focus chain: tab reaches it, and the grid expands the panel it is in. */
    ComponentPanel > .panel-summary {
        display: none; height: 1; padding: 0 1; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    ComponentPanel.-compact { border: none; height: 1; }
    ComponentPanel.-compact > .panel-summary { display: block; }
    ComponentPanel.-compact > .panel-status { display: none; }
    ComponentPanel.-compact > FunctionList { height: 0; }
    ComponentPanel.-compact:hover > .panel-summary { background: $boost; color: $text; }
    ComponentPanel.-compact.-unavailable > .panel-summary { color: $text-warning; }
    """

    class Chosen(Message):
        """A click on the compact summary line: show this panel whole."""

        def __init__(self, panel: "ComponentPanel") -> None:
            super().__init__()
            self.panel = panel

    def __init__(self, component: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id or f"panel-{component}", classes=classes)
        self.component = component
        self.border_title = component
        self._counts = ""        # counts_markup of the last show
        self._status = "not synced yet"
        self._summary_key: tuple[str, str, str] | None = None
        self._name_width = 0

    def compose(self) -> ComposeResult:
        yield Static(self._summary(), classes="panel-summary")
        yield Static("not synced yet", classes="panel-status")
        yield FunctionList(empty_text="no functions here", id=f"list-{self.component}")

    def show(self, rows: list[Row], counts: dict[str, int], *, available: bool, reason: str,
             last_sync: str, syncing: bool, version: str = "", checked: str = "", unmarked: int = 0) -> None:
        self.set_rows(rows)
        summary = counts_markup(counts)
        self._counts = summary
        self.border_title = f"{self.component} {summary}" if summary else self.component
        self.update_count()
        self.show_status(available=available, reason=reason, last_sync=last_sync, syncing=syncing,
                         version=version, checked=checked, unmarked=unmarked)

    def show_progress(self, text: str) -> None:
        """A step of the component's start (the sandbox starting its backend), before any sync."""
        self.set_class(True, "-syncing")
        self.query_one(".panel-status", Static).update(Content(f"⟳ {text}"))
        self._set_status(f"⟳ {text}")

    def show_status(self, *, available: bool, reason: str, last_sync: str, syncing: bool,
                    version: str = "", checked: str = "", unmarked: int = 0) -> None:
        """The line under the title: syncing / unavailable and why / unknown / last sync.

        ``checked``: when availability was last checked (HH:MM:SS), said for an unavailable
        component with how to retry, so a stale "unavailable" is visibly stale. ``unmarked``:
        how many functions there carry no mark of ours; they are in no list (nothing here
        manages them), so the line says they exist and the tooltip how to bring them in."""
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
            if unmarked:   # a line of its own: after the version it was cut off in a 30-column panel
                status += f"\n{unmarked} unmarked · import {self.component}"
                line.tooltip = (f"{unmarked} function{'s' if unmarked != 1 else ''} on {self.component} carry no "
                                f"functions-tui mark: `functions-tui import {self.component}` lists them, "
                                f"`functions-tui import {self.component} NAME` brings one under management")
        else:
            status = "not synced yet"
        line.update(Content(status))   # plain text: a reason may hold [brackets]
        # the summary line says only what is not the usual (a last sync goes without saying)
        self._set_status("" if available and not syncing and not reason and last_sync else status.split("\n")[0])

    # --- compact: one summary line -----------------------------------------------------------
    @property
    def compact(self) -> bool:
        return self.has_class("-compact")

    def set_compact(self, compact: bool) -> None:
        self.set_class(compact, "-compact")

    def set_summary_name_width(self, width: int) -> None:
        """Pad the name on the summary line to ``width``: the counts of all compact panels line up."""
        self._name_width = width
        self._summary_key = None
        self._refresh_summary()

    def update_count(self) -> None:
        super().update_count()
        self._refresh_summary()

    def _set_status(self, status: str) -> None:
        self._status = status
        self._refresh_summary()

    def _summary(self) -> Content:
        """``▸ aws-dev   ✓4 ~1 !1``, then what is not the usual (``· ✗ unavailable: why``,
        ``· ⟳ syncing…``) and, while a filter is on, ``· 1 of 9 functions``."""
        parts = [Content.styled(f"▸ {self.component:<{self._name_width}}", "bold $text")]
        if self._counts:
            parts.append(Content.from_markup(self._counts))
        extra = [self._status] if self._status else []
        if self.filtering and self.border_subtitle:
            extra.append(str(self.border_subtitle))
        if extra:
            parts.append(Content("· " + " · ".join(extra)))   # plain text: a reason may hold [brackets]
        return Content(" ").join(parts)

    def _refresh_summary(self) -> None:
        key = (self._counts, str(self.border_subtitle or "") if self.filtering else "", self._status)
        if key == self._summary_key or not self.is_mounted:
            return   # the count is asked again on every cursor move; compose writes the first
        self._summary_key = key
        self.query_one(".panel-summary", Static).update(self._summary())

    def on_click(self, event: Click) -> None:
        if self.compact:
            event.stop()
            self.post_message(self.Chosen(self))
