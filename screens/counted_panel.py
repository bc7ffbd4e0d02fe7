"""CountedPanel: a bordered panel around one FunctionList whose subtitle counts its rows
("12 functions", or "1 of 12 functions" while a filter is on)."""

from __future__ import annotations

from textual.containers import Vertical

from functions_tui.screens.function_list import FunctionList
from functions_tui.screens.states import count_text


class CountedPanel(Vertical):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.filtering = False   # a filter is on: the count says "N of M"
        self._total: int | None = None   # None until the first show (no count before the load)

    @property
    def function_list(self) -> FunctionList:
        return self.query_one(FunctionList)

    def set_rows(self, rows: list) -> None:
        self._total = len(rows)
        self.function_list.set_rows(rows)

    def set_filtering(self, filtering: bool) -> None:
        self.filtering = filtering
        self.update_count()

    def update_count(self) -> None:
        if self._total is None:
            return
        text = count_text(self.function_list.row_count, self._total, self.filtering)
        if self.border_subtitle != text:
            self.border_subtitle = text

    def on_function_list_highlighted(self, event: FunctionList.Highlighted) -> None:
        # posted after every re-filter too: the count follows the list however it was filtered
        self.update_count()
