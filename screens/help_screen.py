"""HelpScreen: the keys of every screen and what each state colour means."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.safe_dismiss import SafeDismiss
from screens.states import GLYPHS, LABELS, ORDER, THEME_VARIABLES, rich_style_for

KEYS = [
    ("Dashboard", [
        ("s", "sync the focused component now (registry panel: all)"),
        ("S", "sync every component now"),
        ("p", "plan: what a sync would change; apply on confirmation"),
        ("c", "resolve conflicts field by field"),
        ("enter", "function detail: spec, state per component, history"),
        ("/", "filter every panel by name or state"),
        ("tab / shift+tab", "next / previous panel"),
        ("↑ ↓ pgup pgdn home end", "move in a list"),
        ("ctrl+p", "command palette: sync, plan, resolve, open a function, themes"),
        ("t", "next theme"),
        ("?", "this help"),
        ("q / ctrl+c", "quit"),
    ]),
    ("Conflicts", [
        ("r / c", "conflicting fields: keep the registry's / take the component's (the others merge)"),
        ("1 / 2 / space", "this field from registry / component / toggle"),
        ("x", "skip (stays a conflict)"),
        ("u", "undo the last decision (the stack is shown)"),
        ("n / p", "next / previous conflict"),
        ("a", "apply: write the registry, push where needed"),
    ]),
    ("Plan", [
        ("a", "apply the actions (asks first; ⚠ marks destructive ones)"),
        ("esc", "back"),
    ]),
]

STATE_HELP = {
    "in_sync": "registry and component agree",
    "drifted": "changed on the component since the last sync",
    "pending": "changed in the registry, not deployed yet",
    "diverged": "changed on both sides in different fields: merged field by field",
    "conflict": "a field changed on both sides, differently: a person decides",
    "missing": "in the registry, not on the component (ghost or not deployed)",
    "unmanaged": "carries this registry's mark on the component, unknown to the registry",
    "foreign": "deployed by another registry: shown, never touched",
    "unknown": "component unavailable or listing failed/partial: nothing changes",
}


class HelpScreen(SafeDismiss, ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 110; max-width: 96%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    HelpScreen #help-columns { height: auto; }
    HelpScreen .help-keys { width: 3fr; height: auto; }
    HelpScreen .help-states { width: 2fr; height: auto; padding-left: 2; }
    HelpScreen Horizontal { height: auto; }
    HelpScreen #help-footer { color: $text-muted; text-align: center; margin-top: 1; }
    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        read_only = getattr(self.app, "read_only", False)
        with Vertical() as box:
            box.border_title = "functions-tui help"
            with VerticalScroll(id="help-columns"):
                with Horizontal():
                    yield Static(self._keys_table(), classes="help-keys")
                    yield Static(self._states_table(read_only), classes="help-states")
            yield Static("esc closes", id="help-footer")

    def _colour(self, variable: str) -> str:
        # Rich tables do not know theme variables: resolve them against the current theme
        return rich_style_for(self.app, variable)

    def _keys_table(self) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True, min_width=14)
        table.add_column(ratio=1)
        heading = "bold " + self._colour("$accent")
        for section, keys in KEYS:
            table.add_row(Text(section, style=heading), "")
            for key, text in keys:
                table.add_row(f" {key}", text)
            table.add_row("", "")
        return table

    def _states_table(self, read_only: bool) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, min_width=12)
        table.add_column(ratio=1)
        heading = "bold " + self._colour("$accent")
        table.add_row(Text("States", style=heading), "")
        for state in ORDER:
            colour = self._colour(THEME_VARIABLES[state]) or None
            table.add_row(Text(f" {GLYPHS[state]} {LABELS[state]}", style=colour), STATE_HELP[state])
        table.add_row("", "")
        table.add_row(Text("Safety", style=heading), "")
        for line in ("a failed or partial listing is unknown, never \"deleted\"",
                     "only resources carrying this registry's mark are ever deleted",
                     "deletions ask first and run last"):
            table.add_row(" •", line)
        if read_only:
            table.add_row("", "")
            table.add_row(Text("Read-only", style="bold " + self._colour("$warning")),
                          "apply and resolve keys are disabled (shown dim)")
        return table

    def action_close(self) -> None:
        self.close_with(None)
