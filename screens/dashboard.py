"""Dashboard: the registry panel, one panel per component, the activity log and the filter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from functions_tui.screens.activity_log import ActivityLog
from functions_tui.screens.component_panel import ComponentPanel
from functions_tui.screens.function_list import FunctionList
from functions_tui.screens.filter_bar import FilterBar
from functions_tui.screens.panel_grid import PanelGrid
from functions_tui.screens.registry_panel import RegistryPanel
from functions_tui.screens.sync_status import SyncStatus


class Dashboard(Vertical):
    DEFAULT_CSS = """
    Dashboard { height: 1fr; }
    Dashboard > #panels { height: 1fr; }
    """

    # The actions are the app's (it holds the service and runs the workers); bound here, they
    # are active only while the dashboard is on screen, and the footer shows them only then.
    BINDINGS = [
        Binding("s", "app.sync_focused", "Sync", id="dashboard.sync"),
        Binding("S", "app.sync_all", "Sync all", id="dashboard.sync_all"),
        Binding("p", "app.show_plan", "Plan", id="dashboard.plan"),
        Binding("c", "app.show_conflicts", "Conflicts", id="dashboard.conflicts"),
        Binding("slash", "app.filter", "Filter", id="dashboard.filter"),
        # short label: the footer is full at 80 columns (the help says "clear the kept filter")
        Binding("escape", "app.clear_filter", "Clear", id="dashboard.clear_filter"),
        Binding("tab", "app.focus_next", "Next panel", show=False, id="dashboard.next_panel"),
        Binding("shift+tab", "app.focus_previous", "Previous panel", show=False, id="dashboard.previous_panel"),
        # lazygit's panel keys: with a dozen instances tab is a long way round
        *[Binding(str(n), f"focus_panel({n})", f"Panel {n}", show=False, id=f"dashboard.panel_{n}")
          for n in range(10)],
        # actions on the function under the cursor (app/tui.py, "per-function actions")
        Binding("x", "app.function_actions", "Actions", id="dashboard.actions"),
        Binding("d", "app.function_deploy", "Deploy", show=False, id="dashboard.deploy"),
        Binding("D", "app.function_delete", "Delete", show=False, id="dashboard.delete"),
        Binding("e", "app.function_edit", "Edit", show=False, id="dashboard.edit"),
        Binding("r", "app.function_run_stop", "Run/stop", show=False, id="dashboard.run_stop"),
        Binding("q", "app.quit", "Quit", id="dashboard.quit"),
    ]

    def __init__(self, components: list[str], *, id: str | None = "dashboard") -> None:
        super().__init__(id=id)
        self.components = components

    def compose(self) -> ComposeResult:
        yield SyncStatus("● idle", id="sync-status")
        # the registry and the component panels, arranged for their number and the screen's size
        yield PanelGrid(self.components, id="panels")
        yield ActivityLog()
        yield FilterBar(placeholder="filter functions by name or state (enter keeps, esc clears)",
                        id="filter")

    @property
    def registry_panel(self) -> RegistryPanel:
        return self.query_one(RegistryPanel)

    def component_panel(self, component: str) -> ComponentPanel:
        return self.query_one(f"#panel-{component}", ComponentPanel)

    @property
    def activity(self) -> ActivityLog:
        return self.query_one(ActivityLog)

    def lists(self) -> list[FunctionList]:
        return list(self.query(FunctionList))

    def show_filtering(self, text: str) -> None:
        """Every panel's count says "N of M" while ``text`` filters it."""
        filtering = bool(text.strip())
        self.registry_panel.set_filtering(filtering)
        for panel in self.query(ComponentPanel):
            panel.set_filtering(filtering)

    def action_focus_panel(self, number: int) -> None:
        """0: the registry's list; 1-9: the component panels' lists in config order (a
        compact panel expands when its list takes focus, and is scrolled into view)."""
        lists = [self.registry_panel.function_list] + [self.component_panel(c).function_list
                                                       for c in self.components]
        if number < len(lists):
            lists[number].focus()

    def focused_component(self) -> str | None:
        """The component whose panel has focus (None: the registry or nothing)."""
        focused = self.screen.focused
        node = focused
        while node is not None and node is not self:
            if isinstance(node, ComponentPanel):
                return node.component
            node = node.parent
        return None
