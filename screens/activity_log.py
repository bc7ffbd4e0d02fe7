"""ActivityLog: what the app did and saw, newest last, time-stamped by the app's clock."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {"info": "", "ok": "green", "warning": "yellow", "error": "bold red"}


class ActivityLog(RichLog):
    DEFAULT_CSS = """
    ActivityLog {
        height: 8;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        background: $surface;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    ActivityLog:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = "activity", max_lines: int = 500) -> None:
        super().__init__(id=id, max_lines=max_lines, wrap=True, markup=False, auto_scroll=True)
        self.border_title = "activity"
        self.entries: list[str] = []   # plain text, for tests and the detail view

    def record(self, when: str, message: str, level: str = "info") -> None:
        line = Text(f"{when} ", style="dim")
        line.append(message, style=LEVEL_STYLES.get(level, ""))
        self.entries.append(f"{when} {message}")
        self.write(line)
