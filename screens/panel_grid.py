"""PanelGrid: the registry panel and one panel per component, arranged for any number of
components (config.yaml's instances) and any terminal size.

How it arranges them (``plan_layout``, recomputed on every resize):

- **beside**: the registry on the left, the component panels in a grid to its right. The
  column count is the largest whose panels stay ``MIN_PANEL_WIDTH`` wide next to a registry of
  at least ``MIN_REGISTRY_WIDTH``; the rows are as few as that allows and share the height,
  and the panels are spread evenly over them (6 panels in 4 columns' room: 2 rows of 3, not
  4 and 2). The registry and a component column keep the 4:3 proportion they always had,
  so the default three components at 120 columns look as they always did.
- **cells** (below ``WIDE`` columns): the registry is the first cell of a two-column grid
  and the components follow (at 80 columns: the 2x2 of registry, docker, gcp, aws it always
  was).
- **compact**, when those rows would be shorter than ``MIN_PANEL_HEIGHT`` (12 instances at
  80x24): every component is one summary line (name, counts per state, availability) and the
  current one (the one with focus, else the last that had it) is a whole panel with the rest
  of the height, like lazygit's side panels on a short terminal. Chosen over scrolling a grid
  of full panels because a sync tool is read for "which instance drifted": a summary line
  keeps every instance's counts on screen, where a scrolled grid hides the ones below.
  The registry stays beside them, docked, so it never scrolls away; only when even the
  summary lines do not fit does the component column scroll, and the focused panel is
  scrolled into view.

Keyboard: tab / shift+tab go through the registry and every component panel in order. A
compact panel's list stays in the focus chain (zero lines high, not hidden), so tab reaches
it; taking focus makes it the current one, which expands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from textual.events import DescendantFocus, Resize
from textual.widget import Widget

from functions_tui.screens.component_panel import ComponentPanel
from functions_tui.screens.registry_panel import RegistryPanel

#: Narrowest readable component panel, border included: "~ billing-export  drifted" and a
#: scrollbar, whole (at 120 columns the three default panels are 28 wide).
MIN_PANEL_WIDTH = 28
#: Lowest useful component panel: its border (2), status line (1) and four functions.
MIN_PANEL_HEIGHT = 7
#: The registry panel is never narrower than this beside the components: a function's name
#: and a few state badges.
MIN_REGISTRY_WIDTH = 36
#: The registry's width against one component column's (4 : 3, as it always was).
REGISTRY_SHARE, COLUMN_SHARE = 4, 3
#: Below this width the registry becomes one cell of the grid (the app's -narrow breakpoint).
WIDE = 100
#: Compact summary lines pad names to the longest (up to this), so their counts line up.
SUMMARY_NAME_WIDTH = 16
#: The expanded panel in compact mode is never lower than this, even when that means scrolling.
MIN_EXPANDED_HEIGHT = 5


@dataclass(frozen=True)
class PanelLayout:
    """Where the panels go: ``mode`` is "beside", "cells" or "compact" (see the module doc)."""

    mode: str
    columns: int            # component columns (cells: all cells, the registry's included)
    rows: int
    registry_width: int = 0  # beside / compact: the registry's width in cells


def registry_width(width: int, columns: int) -> int:
    """The registry's width next to ``columns`` component columns: its 4:3 share, or its minimum."""
    share = width * REGISTRY_SHARE // (REGISTRY_SHARE + COLUMN_SHARE * columns)
    return max(MIN_REGISTRY_WIDTH, share)


def plan_layout(width: int, height: int, count: int) -> PanelLayout:
    """The arrangement of the registry and ``count`` component panels in ``width`` x ``height``."""
    if count == 0:
        return PanelLayout("cells", 1, 1)
    if width < WIDE:
        rows = ceil((count + 1) / 2)
        if height // rows >= MIN_PANEL_HEIGHT:
            return PanelLayout("cells", 2, rows)
    else:
        most = 1
        for columns in range(count, 0, -1):
            if (width - registry_width(width, columns)) / columns >= MIN_PANEL_WIDTH:
                most = columns
                break
        rows = ceil(count / most)
        columns = ceil(count / rows)   # as many panels in each row as the rows allow
        if height // rows >= MIN_PANEL_HEIGHT:
            return PanelLayout("beside", columns, rows, registry_width(width, columns))
    return PanelLayout("compact", 1, count, max(min(width // 2, width - MIN_PANEL_WIDTH), 1))


class PanelGrid(Widget, can_focus=False):
    """The registry panel and the component panels, laid out by ``plan_layout``."""

    DEFAULT_CSS = """
    PanelGrid {
        layout: grid;
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, components: list[str], *, id: str | None = "panels") -> None:
        super().__init__(id=id)
        self.components = components
        self.layout_plan: PanelLayout | None = None
        self.current: str | None = components[0] if components else None   # compact: the expanded one

    def compose(self):
        yield RegistryPanel(self.components)
        for component in self.components:
            yield ComponentPanel(component)

    def on_mount(self) -> None:
        width = min(max((len(c) for c in self.components), default=0), SUMMARY_NAME_WIDTH)
        for panel in self.query_children(ComponentPanel):
            panel.set_summary_name_width(width)

    # --- arranging ---------------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self.arrange_panels()

    def arrange_panels(self) -> None:
        width, height = self.size
        if not width or not height:
            return
        plan = plan_layout(width, height, len(self.components))
        if plan != self.layout_plan:
            self.layout_plan = plan
            self._apply(plan)
        if plan.mode == "compact":
            self._show_current()

    def _apply(self, plan: PanelLayout) -> None:
        registry = self.query_one(RegistryPanel)
        panels = list(self.query_children(ComponentPanel))
        styles = self.styles
        slots = 0   # the grid's cells for component panels (cells / beside)
        if plan.mode == "cells":
            registry.styles.dock = "none"
            registry.styles.width = None
            registry.styles.row_span = 1
            styles.grid_size_columns = plan.columns
            styles.grid_columns = "1fr"
            styles.grid_rows = "1fr"
            slots = plan.columns * plan.rows - 1
        elif plan.mode == "beside":
            # the registry is the grid's first column, one cell as tall as every row
            registry.styles.dock = "none"
            registry.styles.width = None
            registry.styles.row_span = plan.rows
            styles.grid_size_columns = plan.columns + 1
            styles.grid_columns = " ".join([str(plan.registry_width)] + ["1fr"] * plan.columns)
            styles.grid_rows = "1fr"
            slots = plan.columns * plan.rows
        else:
            # docked: the registry stays put while the component column scrolls (when it must)
            registry.styles.dock = "left"
            registry.styles.width = plan.registry_width
            registry.styles.row_span = 1
            styles.grid_size_columns = 1
            styles.grid_columns = "1fr"   # its rows: _show_current
        for index, panel in enumerate(panels):
            # the last panel takes the empty cells of its row: no hole in the grid
            panel.styles.column_span = slots - len(panels) + 1 if slots and index == len(panels) - 1 else 1
            if plan.mode != "compact":
                panel.set_compact(False)
        self.scroll_home(animate=False, immediate=True)
        # the registry's columns follow its new width (its own Resize can come before the reflow)
        self.call_after_refresh(registry.fit_columns)

    def _show_current(self) -> None:
        """Compact mode: the current panel whole, the others one line; rows as tall as that."""
        panels = list(self.query_children(ComponentPanel))
        if self.current not in self.components:
            self.current = self.components[0]
        for panel in panels:
            panel.set_compact(panel.component != self.current)
        expanded = max(self.size.height - (len(panels) - 1), MIN_EXPANDED_HEIGHT)
        self.styles.grid_rows = " ".join(str(expanded if p.component == self.current else 1) for p in panels)

    # --- focus -------------------------------------------------------------------------
    def on_descendant_focus(self, event: DescendantFocus) -> None:
        panel = next((node for node in event.widget.ancestors_with_self if isinstance(node, ComponentPanel)), None)
        if panel is None:
            return
        if panel.component != self.current:
            self.current = panel.component
            if self.layout_plan is not None and self.layout_plan.mode == "compact":
                self._show_current()
        # once laid out again (a compact panel just grew), bring the whole panel into view
        self.call_after_refresh(self.scroll_to_widget, panel, animate=False, immediate=True)

    def on_component_panel_chosen(self, event: ComponentPanel.Chosen) -> None:
        """A click on a compact panel's summary line: focus its list (which expands it)."""
        event.panel.function_list.focus()
