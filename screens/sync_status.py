"""SyncStatus: the dashboard's top line: what is syncing now (the progress indicator), or idle."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class SyncStatus(Static):
    """One line: what is syncing now (the progress indicator), or idle, and the mode."""

    DEFAULT_CSS = """
    SyncStatus {
        height: 1; padding: 0 1; background: $panel; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis;   /* one line at 80 columns, cut with … */
    }
    SyncStatus.-busy { color: $accent; text-style: bold; }
    """

    def show(self, running: list[str], done: int, total: int, read_only: bool, filter_text: str,
             filter_error: str = "") -> None:
        parts = []
        if running:
            parts.append(f"⟳ syncing {', '.join(running)} [{done}/{total}]")
        else:
            parts.append("● idle")
        if filter_text:
            # the filter bar is gone once kept: say how to clear it from the dashboard
            parts.append(f"filter: {filter_text!r} (esc clears)")
        if filter_error:
            parts.append(filter_error)
        if read_only:
            parts.append("READ-ONLY")
        self.set_class(bool(running), "-busy")
        self.update(Content("  ·  ".join(parts)))   # plain text: the filter may hold [brackets]
