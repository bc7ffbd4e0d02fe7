"""KeysFooter: Textual's Footer, compact below 120 columns so every key still fits."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

#: Narrower than this, the footer drops the padding around its keys (at 80 columns the
#: dashboard's `q Quit` was cut off otherwise).
COMPACT_BELOW = 120


class KeysFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if self.compact != compact:
            self.compact = compact
