"""KeysFooter: Textual's Footer, compact (and without ^p palette below 100 columns) so every
key of the screen still fits."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

#: Narrower than this, the footer drops the padding around its keys (at 80 columns the
#: dashboard's `q Quit` was cut off otherwise).
COMPACT_BELOW = 120
#: Narrower than this, ^p palette is left out too (the help lists it): the screen's own keys first.
NO_PALETTE_BELOW = 100


class KeysFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if self.compact != compact:
            self.compact = compact
        palette = event.size.width >= NO_PALETTE_BELOW
        if self.show_command_palette != palette:
            self.show_command_palette = palette
