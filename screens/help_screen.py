"""HelpScreen: the keys of every screen and what each state colour means."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from functions_tui.screens.safe_dismiss import SafeDismiss
from functions_tui.screens.states import DESCRIPTIONS, GLYPHS, LABELS, ORDER, THEME_VARIABLES, rich_style_for

#: The longer explanation of an action (by action name), used in place of its footer label.
#: Only the text lives here: which keys exist comes from the bindings themselves, so the
#: help cannot list a key that does nothing or miss one that was added.
ACTION_HELP = {
    # dashboard
    "sync_focused": "sync the focused component now (registry panel: all)",
    "sync_all": "sync every component now",
    "show_plan": "plan: what a sync would change; apply on confirmation",
    "show_conflicts": "resolve conflicts field by field",
    "FunctionList.select": "function detail: spec, state per component, history",
    "filter": "filter every panel by name or state",
    "clear_filter": "clear the kept filter",
    "focus_next": "next panel",
    "focus_previous": "previous panel",
    "focus_panel": "jump to a panel: 0 the registry, 1-9 the components in order",
    "command_palette": "command palette: sync, plan, resolve, open a function, themes",
    "next_theme": "next theme (remembered for the next start)",
    "help": "help for the screen you are on",
    "quit": "quit (after any apply in progress has finished)",
    "quit_app": "quit from any screen (after any apply in progress has finished)",
    # one function, from any panel
    "function_actions": "what can be done to the function under the cursor (deploy, sync it, delete, adopt, run/stop, edit)",
    "function_deploy": "deploy it to this component (registry panel: to its targets); shows the plan first",
    "function_delete": "delete it from this component (only what this registry deployed); shows the plan first",
    "function_edit": "open its function.yaml in $EDITOR; registered again when the editor closes",
    "function_run_stop": "run / stop its container (components whose kind runs them: Docker's)",
    # conflicts
    "keep_registry": "every field of this item: keep the registry's",
    "take_component": "every field of this item: take the component's",
    "pick_field": "this field (env: this key) from registry / component / toggle; m: the undecided rest as they merge",
    "reveal": "show the values under the cursor until pressed again or the cursor moves (never logged)",
    "skip": "skip (stays a conflict)",
    "undo": "undo the last decision (the stack is shown)",
    "move": "next / previous conflict",
    "apply_resolutions": "apply the items whose every field is decided: write the registry, push where needed",
    # plan
    "toggle": "choose this row (destructive rows start unchosen)",
    "toggle_all": "choose all / none",
    "replan": "plan again (after an apply, or when things changed)",
    "apply_plan": "apply the chosen actions (asks first; ⚠ marks destructive ones)",
    "close": "back / close",
}

#: Actions not worth a help line (Textual's own, shown nowhere else either; sideways scrolling
#: in lists that never scroll sideways).
HIDDEN_ACTIONS = frozenset({"help_quit", "copy_text", "maximize", "minimize", "scroll_left", "scroll_right",
                            "page_left", "page_right", "cursor_left", "cursor_right"})

#: Moving in a list or table: one help line for all of them, whatever the widget calls them.
NAVIGATION_ACTIONS = frozenset({"cursor", "page", "jump", "cursor_up", "cursor_down", "page_up", "page_down",
                                "scroll_home", "scroll_end", "scroll_top", "scroll_bottom", "scroll_up",
                                "scroll_down"})
NAVIGATION = "move (up, down, page, first, last)"

#: Section names for the widgets whose own keys show while they have focus.
WIDGET_SECTIONS = {"Dashboard": "Dashboard", "FunctionList": "In a list", "DataTable": "In the table", "FilterBar": "In the filter",
                   "Input": "In the input"}

#: The screen's own keys first, then what the focused widget adds, then the app-wide keys.
SECTION_ORDER = {"widget": 1, "Everywhere": 2}


def _action_name(action: str) -> str:
    return action.split("(", 1)[0].rsplit(".", 1)[-1]


def key_groups(app: Any, screen: Any) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """The keys that work on ``screen`` now, grouped by where they are bound (the screen, the
    focused widget, the app): [(section, [(keys, what, enabled)])]. One line per action with
    its keys joined ("q / ^c"), in binding order; read from the bindings, so never stale."""
    on_dashboard = screen is app.screen_stack[0]
    sections: dict[str, dict[str, list[Any]]] = {}
    for key, active in screen.active_bindings.items():
        binding, node = active.binding, active.node
        action = _action_name(binding.action)
        if action in HIDDEN_ACTIONS:
            continue
        if action in NAVIGATION_ACTIONS and node is not app and node is not screen:
            action, what = "navigation", NAVIGATION
        else:
            what = (ACTION_HELP.get(f"{type(node).__name__}.{action}") or ACTION_HELP.get(action)
                    or binding.tooltip or binding.description)
        if not what:
            continue
        section = _section_name(node, app, screen, on_dashboard)
        line = sections.setdefault(section, {}).setdefault(action, [[], what, active.enabled])
        shown = app.get_key_display(binding)
        if shown not in line[0]:
            line[0].append(shown)
        line[2] = line[2] and active.enabled
    order = sorted(sections, key=lambda name: SECTION_ORDER.get(name, 0 if not name.startswith("In ") else 1))
    return [(name, [(_join_keys(keys), what, enabled) for keys, what, enabled in sections[name].values()])
            for name in order]


def _join_keys(keys: list[str]) -> str:
    digits = [int(k) for k in keys if len(k) == 1 and k.isdigit()]
    if len(digits) == len(keys) > 3 and digits == list(range(digits[0], digits[0] + len(digits))):
        return f"{digits[0]}-{digits[-1]}"   # the panel keys: one column wide, not a wrapped row
    return " ".join(keys) if len(keys) > 3 else " / ".join(keys)


def _section_name(node: Any, app: Any, screen: Any, on_dashboard: bool) -> str:
    if node is app or node is screen:
        if on_dashboard:
            return "Dashboard"   # the app's keys are the dashboard's (other screens hide them)
        if node is app:
            return "Everywhere"
        return getattr(screen, "HELP_TITLE", "") or type(screen).__name__.removesuffix("Screen") or "This screen"
    name = type(node).__name__
    return WIDGET_SECTIONS.get(name, f"In the {name}")


class HelpScreen(SafeDismiss, ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 110; max-width: 96%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    /* bounded by the screen (not the auto-height box), so a long help scrolls inside */
    HelpScreen #help-columns { height: auto; max-height: 75vh; }
    HelpScreen .help-keys { width: 3fr; height: auto; }
    HelpScreen .help-states { width: 2fr; height: auto; padding-left: 2; }
    HelpScreen Horizontal { height: auto; }
    /* docked: stays in sight when the keys scroll (80x24) */
    HelpScreen #help-footer { dock: bottom; color: $text-muted; text-align: center; }
    HelpScreen.-keys-only > Vertical { width: 80; }
    /* under 100 columns the legend goes under the keys: side by side, both wrapped word by word */
    HelpScreen.-narrow #help-columns > Horizontal { layout: vertical; }
    HelpScreen.-narrow .help-keys, HelpScreen.-narrow .help-states { width: 1fr; padding-left: 0; }

    """

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, source: Any = None, *, legend: bool = True, title: str = "") -> None:
        """``source``: the screen the help is about (default: the one showing now). Its keys
        are read here, before this screen is pushed, since some only apply while it is on
        top. ``legend``: add the table of state symbols (the dashboard's)."""
        super().__init__()
        source = source if source is not None else self.app.screen
        self.groups = key_groups(self.app, source)
        self.legend = legend
        self.title_text = title or "functions-tui help"
        self.set_class(not legend, "-keys-only")

    def compose(self) -> ComposeResult:
        read_only = getattr(self.app, "read_only", False)
        with Vertical() as box:
            box.border_title = self.title_text
            with VerticalScroll(id="help-columns"):
                with Horizontal():
                    yield Static(self._keys_table(), classes="help-keys")
                    if self.legend:
                        yield Static(self._states_table(read_only), classes="help-states")
            yield Static("↑ ↓ scroll · esc closes", id="help-footer")

    def _colour(self, variable: str) -> str:
        # Rich tables do not know theme variables: resolve them against the current theme
        return rich_style_for(self.app, variable)

    def _keys_table(self) -> Table:
        table = Table.grid(padding=(0, 1))
        # capped: a long run of keys (the list's moves) wraps instead of widening the column
        table.add_column(style="bold", min_width=14, max_width=18)
        table.add_column(ratio=1)
        heading = "bold " + self._colour("$accent")
        for section, keys in self.groups:
            table.add_row(Text(section, style=heading), "")
            for key, text, enabled in keys:
                if enabled:
                    table.add_row(f" {key}", text)
                else:   # read-only: listed, but said to be off
                    table.add_row(Text(f" {key}", style="dim"), Text(f"{text} (disabled: read-only)", style="dim"))
            table.add_row("", "")
        return table

    def _states_table(self, read_only: bool) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, min_width=12)
        table.add_column(ratio=1)
        heading = "bold " + self._colour("$accent")
        table.add_row(Text("States", style=heading), "")
        for state in (*ORDER, "none"):   # "none": the registry panel's "·"
            colour = self._colour(THEME_VARIABLES[state]) or None
            table.add_row(Text(f" {GLYPHS[state]} {LABELS[state]}", style=colour), DESCRIPTIONS[state])
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
