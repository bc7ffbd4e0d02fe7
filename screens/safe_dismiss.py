"""SafeDismiss: a screen that closes exactly once, and only from the top of the stack.

A worker can finish while another screen is on top (the help opened while a plan applies):
``Screen.dismiss`` would then run the result callback and pop *that* other screen, and a
later ``esc`` would dismiss a second time (asyncio's InvalidStateError). ``close_with``
instead keeps the result until this screen is active again, and ignores every call after
the first.
"""

from __future__ import annotations

from typing import Any

from textual import events


class SafeDismiss:
    """Mixin for Screen subclasses: call ``close_with(result)`` instead of ``dismiss``."""

    _result_sent: bool = False
    _pending_result: tuple[Any] | None = None

    def close_with(self, result: Any = None) -> None:
        if self._result_sent:
            return
        if self.app.screen is not self:  # type: ignore[attr-defined]
            self._pending_result = (result,)     # closed when it is on top again (see on_screen_resume)
            return
        self._result_sent = True
        self.dismiss(result)              # type: ignore[attr-defined]

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # (A plain handler name, not @on: the decorator is only collected from classes that
        # Textual's metaclass builds, and this mixin is not one.)
        if self._pending_result is not None:
            (result,) = self._pending_result
            self._pending_result = None
            self.close_with(result)
