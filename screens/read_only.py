"""The one place that decides which actions mutate, and so which --read-only disables.

The app's ``action_allowed`` consults MUTATING_ACTIONS; every screen's ``check_action``
(through GuardedScreen) and the app's own ask it, so a disabled key is shown dim in the
footer and does nothing. The SyncService enforces read-only again underneath.
"""

from __future__ import annotations

from textual.screen import ModalScreen, Screen

from functions_tui.screens.safe_dismiss import SafeDismiss

#: Action names (without "action_") that change the registry or a component.
MUTATING_ACTIONS = frozenset({
    "apply_plan",           # plan screen: apply
    "keep_registry",        # conflict screen: decisions and their apply
    "take_component",
    "pick_field",
    "skip",
    "undo",
    "apply_resolutions",
    "function_deploy",      # dashboard: per-function actions (app.tui "per-function actions")
    "function_delete",
    "function_edit",
    "function_run_stop",
})


class GuardedScreen(SafeDismiss, Screen):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = getattr(self.app, "action_allowed", None)
        return allowed(action) if allowed is not None else True


class GuardedModalScreen(SafeDismiss, ModalScreen):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = getattr(self.app, "action_allowed", None)
        return allowed(action) if allowed is not None else True
