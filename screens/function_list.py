"""FunctionList: a scrolling list of functions that renders only the rows on screen.

Textual's DataTable builds every row up front (about 1.1 s for 10k rows); this widget uses
the Line API instead (``render_line`` per visible line), so a 10k-function registry paints
as fast as a 10-function one. Rows are plain tuples prepared by the caller; colours come
from component classes bound to theme variables ($success, $warning, $error, ...), so
every theme colours states consistently.
"""

from __future__ import annotations

import textwrap
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from functions_tui.screens.states import GLYPHS, ORDER

#: Every state the engine reports (registry.plan_types.State values), plus "none" for
#: "this function does not target that component" in the registry panel.
STATE_NAMES = ("in_sync", "drifted", "pending", "diverged", "conflict", "missing", "unmanaged", "foreign",
               "unknown", "none")


def state_class(state: str) -> str:
    return f"function-list--{state.replace('_', '-')}"


class Row(NamedTuple):
    """One line: a key (function name), a label and right-aligned state badges.

    A NamedTuple, not a dataclass: 40k of them are built per sync, and tuples build fastest.
    """

    key: str
    label: str
    badges: tuple[tuple[str, str], ...] = ()   # (text, state name)
    state: str = "none"                          # the label's colour
    search: str = ""                             # extra lower-case text the filter matches

    def matches(self, needle: str) -> bool:
        return needle in self.key.lower() or needle in self.state.replace("_", " ") \
            or (bool(self.search) and needle in self.search)


class FunctionList(ScrollView, can_focus=True):
    """A cursor over many rows; posts Highlighted / Selected with the row's key."""

    COMPONENT_CLASSES = {"function-list--cursor", "function-list--empty"} | {
        state_class(s) for s in STATE_NAMES
    }

    DEFAULT_CSS = """
    FunctionList {
        background: $surface;
        height: 1fr;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    FunctionList > .function-list--cursor { background: $panel-lighten-1; }
    FunctionList:focus > .function-list--cursor { background: $primary 45%; text-style: bold; }
    FunctionList > .function-list--empty { color: $text-muted; text-style: italic; }
    FunctionList > .function-list--in-sync { color: $text-success; }
    FunctionList > .function-list--drifted { color: $text-warning; }
    FunctionList > .function-list--pending { color: $text-primary; }
    FunctionList > .function-list--diverged { color: $text-warning; text-style: bold; }
    FunctionList > .function-list--foreign { color: $text-muted; text-style: italic; }
    FunctionList > .function-list--conflict { color: $text-error; text-style: bold; }
    FunctionList > .function-list--missing { color: $text-error; }
    FunctionList > .function-list--unmanaged { color: $text-secondary; text-style: italic; }
    FunctionList > .function-list--unknown { color: $text-muted; }
    FunctionList > .function-list--none { color: $text-disabled; }
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="list.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="list.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="list.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="list.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="list.last"),
        Binding("enter", "select", "Details", show=False, id="list.select"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, function_list: "FunctionList", key: str | None) -> None:
            super().__init__()
            self.function_list = function_list
            self.key = key

        @property
        def control(self) -> "FunctionList":
            return self.function_list

    class Selected(Highlighted):
        """Enter (or a click) on a row."""

    def __init__(self, *, empty_text: str = "nothing here", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.empty_text = empty_text
        self._rows: list[Row] = []
        self._view: list[Row] = []
        self._filter = ""
        self._names: frozenset[str] | None = None   # the keys the filter's qualifiers allow (None: any)
        self._lower_keys: list[str] | None = None   # each row's key in lower case, made once per rows
        self._badge_counts = False

    @property
    def badge_counts(self) -> bool:
        """Show a row's badges as counts per state ("✓4 ~1") rather than one by one: the
        registry panel's columns, when there are more components than its width names."""
        return self._badge_counts

    @badge_counts.setter
    def badge_counts(self, value: bool) -> None:
        if value != self._badge_counts:
            self._badge_counts = value
            self.refresh()

    # --- data -----------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._view)

    @property
    def rows(self) -> list[Row]:
        """The rows shown (after the filter)."""
        return self._view

    @property
    def current_key(self) -> str | None:
        if 0 <= self.cursor < len(self._view):
            return self._view[self.cursor].key
        return None

    @property
    def filter_text(self) -> str:
        """The filter the shown rows went through (lower case, stripped; "" for none)."""
        return self._filter

    def set_rows(self, rows: list[Row]) -> None:
        """Replace the rows, keeping the cursor on the same key when it is still there."""
        if rows is self._rows:
            return   # the same list (a sync that changed nothing here): rows are never edited in place
        key = self.current_key
        self._rows = rows
        self._lower_keys = None
        self._refilter(keep=key)

    def set_filter(self, text: str, names: frozenset[str] | None = None) -> None:
        """Show the rows ``text`` matches (key, state or summary) whose key is in ``names``
        (the functions a filter's qualifiers matched, see registry.filters; None: any key)."""
        needle = text.strip().lower()
        if needle == self._filter and names == self._names:
            return
        self._filter, self._names = needle, names
        self._refilter(keep=self.current_key)

    def _matching(self, needle: str) -> list[Row]:
        """The rows ``needle`` matches (Row.matches, row for row, without its per-row work: a
        keystroke filters 4 panels of up to 50k rows on the event loop)."""
        rows = self._rows
        keys = self._lower_keys
        if keys is None:   # once per set of rows, not per keystroke
            keys = self._lower_keys = [row.key.lower() for row in rows]
        states = {s for s in STATE_NAMES if needle in s.replace("_", " ")}
        return [row for row, key in zip(rows, keys)
                if needle in key or row.state in states or (row.search and needle in row.search)]

    def move_to(self, key: str) -> bool:
        for index, row in enumerate(self._view):
            if row.key == key:
                self.cursor = index
                return True
        return False

    def _refilter(self, keep: str | None) -> None:
        needle, names = self._filter, self._names
        rows = self._rows if names is None else [row for row in self._rows if row.key in names]
        if needle:
            rows = self._matching(needle) if names is None else [row for row in rows if row.matches(needle)]
        self._view = list(rows)
        self.virtual_size = Size(self.size.width, len(self._view))
        index = 0
        if keep is not None:
            for i, row in enumerate(self._view):
                if row.key == keep:
                    index = i
                    break
        self.cursor = min(index, max(len(self._view) - 1, 0))
        self.refresh()

    # --- cursor ---------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._view) - 1)) if self._view else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True, immediate=True)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_key))

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(self.scrollable_content_region.height - 1, 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._view) - 1

    def action_select(self) -> None:
        if self.current_key is not None:
            self.post_message(self.Selected(self, self.current_key))

    def on_click(self, event) -> None:
        """A click moves the cursor there; a second click on the cursor's row selects it."""
        index = event.y + self.scroll_offset.y
        if 0 <= index < len(self._view):
            if index == self.cursor:   # like DataTable: clicking the cursor's row selects it
                self.action_select()
            self.cursor = index

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._view))

    # --- rendering: only what is on screen --------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        if not self._view:
            lines = textwrap.wrap(self.empty_text, max(width - 2, 8))
            if y < len(lines):
                style = base + self.get_component_rich_style("function-list--empty", partial=True)
                return Strip([Segment(set_cell_size(f" {lines[y]}", width), style)], width)
            return Strip.blank(width, base)
        if index >= len(self._view):
            return Strip.blank(width, base)
        row = self._view[index]
        if index == self.cursor:
            base = base + self.get_component_rich_style("function-list--cursor", partial=True)
        return Strip(self._row_segments(row, width, base), width)

    def _row_segments(self, row: Row, width: int, base: Style) -> list[Segment]:
        """Label left, badges right; when space is short the badges give way first."""
        label = f" {row.label}"
        row_badges = _counted(row.badges) if self._badge_counts else row.badges
        badge_text = "".join(f" {text}" for text, _ in row_badges)
        room_for_badges = max(width - 1 - min(cell_len(label), max(width * 3 // 5, 12)), 0)
        badges: list[tuple[str, str]] = []
        if row_badges and cell_len(badge_text) > room_for_badges:
            # too wide: keep the first badges whole, shorten the last one that fits partly
            left = room_for_badges
            for text, state in row_badges:
                chunk = f" {text}"
                if cell_len(chunk) <= left:
                    badges.append((chunk, state))
                    left -= cell_len(chunk)
                else:
                    if left >= 4:
                        badges.append((set_cell_size(chunk, left - 1) + "…", state))
                    break
        else:
            badges = [(f" {text}", state) for text, state in row_badges]
        badge_width = sum(cell_len(t) for t, _ in badges) + (1 if badges else 0)
        label_width = max(width - badge_width, 1)
        if cell_len(label) > label_width:
            label = set_cell_size(label, label_width - 1) + "…"
        else:
            label = set_cell_size(label, label_width)
        segments = [Segment(label, base + self._state_style(row.state))]
        segments.extend(Segment(text, base + self._state_style(state)) for text, state in badges)
        if badges:
            segments.append(Segment(" ", base))
        return segments

    def _state_style(self, state: str) -> Style:
        return self.get_component_rich_style(state_class(state), partial=True,
                                             default=Style())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rich_style_cache.clear()


def _counted(badges: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """``✓4 ~1``: how many of ``badges`` are in each state ("none", not targeted, left out)."""
    counts: dict[str, int] = {}
    for _, state in badges:
        if state != "none":
            counts[state] = counts.get(state, 0) + 1
    return tuple((f"{GLYPHS[s]}{counts[s]}", s) for s in ORDER if s in counts)
