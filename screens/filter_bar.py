"""FilterBar: the `/` filter input; Enter keeps the filter, Escape clears it."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar { dock: bottom; display: none; height: 3; border: tall $accent; }
    FilterBar.-active { display: block; }
    """

    class Closed(Message):
        """Escape (clear) or Enter (keep) in the filter."""

        def __init__(self, keep: bool) -> None:
            super().__init__()
            self.keep = keep

    BINDINGS = [("escape", "close(False)", "Clear filter")]

    def action_close(self, keep: bool) -> None:
        self.post_message(self.Closed(keep))

    async def action_submit(self) -> None:
        self.post_message(self.Closed(True))
