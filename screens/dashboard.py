"""Dashboard: the registry panel, one panel per component, the activity log and the filter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from screens.activity_log import ActivityLog
from screens.component_panel import ComponentPanel
from screens.function_list import FunctionList
from screens.filter_bar import FilterBar
from screens.registry_panel import RegistryPanel
from screens.sync_status import SyncStatus


class Dashboard(Vertical):
    DEFAULT_CSS = """
    Dashboard { height: 1fr; }
    Dashboard > #panels { height: 1fr; }
    """

    def __init__(self, components: list[str], *, id: str | None = "dashboard") -> None:
        super().__init__(id=id)
        self.components = components

    def compose(self) -> ComposeResult:
        yield SyncStatus("● idle", id="sync-status")
        with Horizontal(id="panels"):
            yield RegistryPanel(self.components)
            for component in self.components:
                yield ComponentPanel(component)
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

    def focused_component(self) -> str | None:
        """The component whose panel has focus (None: the registry or nothing)."""
        focused = self.screen.focused
        node = focused
        while node is not None and node is not self:
            if isinstance(node, ComponentPanel):
                return node.component
            node = node.parent
        return None
