"""HelpScreen: the keys of every screen and what each state colour means."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.states import GLYPHS, LABELS, ORDER, THEME_VARIABLES

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
        ("q", "quit"),
    ]),
    ("Conflicts", [
        ("r / c", "keep the registry's values / take the component's"),
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
    "conflict": "changed on both sides: a person decides",
    "missing": "in the registry, not on the component (ghost or not deployed)",
    "unmanaged": "carries our mark on the component, unknown to the registry",
    "unknown": "component unavailable or listing failed/partial: nothing changes",
}


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    HelpScreen #help-columns { height: auto; }
    HelpScreen .help-keys { width: 1fr; height: auto; }
    HelpScreen .help-states { width: 1fr; height: auto; }
    HelpScreen #help-footer { color: $text-muted; text-align: center; margin-top: 1; }
    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        read_only = getattr(self.app, "read_only", False)
        with Vertical() as box:
            box.border_title = "functions-tui help"
            with VerticalScroll(id="help-columns"):
                with Horizontal():
                    yield Static(self._keys_markup(), classes="help-keys")
                    yield Static(self._states_markup(read_only), classes="help-states")
            yield Static("esc closes", id="help-footer")

    def _keys_markup(self) -> str:
        lines = []
        for section, keys in KEYS:
            lines.append(f"[b $accent]{section}[/]")
            for key, text in keys:
                lines.append(f"  [b]{key:<13}[/] {text}")
            lines.append("")
        return "\n".join(lines).rstrip()

    def _states_markup(self, read_only: bool) -> str:
        lines = ["[b $accent]States[/]"]
        for state in ORDER:
            lines.append(f"  [{THEME_VARIABLES[state]}]{GLYPHS[state]} {LABELS[state]:<10}[/] {STATE_HELP[state]}")
        lines += ["", "[b $accent]Safety[/]",
                  "  A failed or partial listing is [b]unknown[/], never \"deleted\".",
                  "  Only resources carrying our mark are ever deleted,",
                  "  and deletions ask first and run last."]
        if read_only:
            lines += ["", "[b $warning]Read-only[/]: apply and resolve keys are disabled (dim)."]
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
