"""Dashboard: the registry panel, one panel per component, the activity log and the filter."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from screens.activity_log import ActivityLog
from screens.component_panel import ComponentPanel
from screens.function_list import FunctionList
from screens.registry_panel import RegistryPanel


class SyncStatus(Static):
    """One line: what is syncing now (the progress indicator), or idle, and the mode."""

    DEFAULT_CSS = """
    SyncStatus { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    SyncStatus.-busy { color: $accent; text-style: bold; }
    """

    def show(self, running: list[str], done: int, total: int, read_only: bool, filter_text: str) -> None:
        parts = []
        if running:
            parts.append(f"⟳ syncing {', '.join(running)} [{done}/{total}]")
        else:
            parts.append("● idle")
        if filter_text:
            parts.append(f"filter: {filter_text!r}")
        if read_only:
            parts.append("READ-ONLY")
        self.set_class(bool(running), "-busy")
        self.update("  ·  ".join(parts))


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

    def focused_component(self) -> str | None:
        """The component whose panel has focus (None: the registry or nothing)."""
        focused = self.screen.focused
        node = focused
        while node is not None and node is not self:
            if isinstance(node, ComponentPanel):
                return node.component
            node = node.parent
        return None
