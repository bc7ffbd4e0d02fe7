"""FunctionActionsScreen: what can be done to the function under the cursor.

The dashboard's `x` opens it for the row under the cursor (registry panel: every component;
a component panel: that one). It only chooses: the app takes the chosen action on through
the same plan / confirm path as a sync (PlanScreen, or a ConfirmScreen for run / stop).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Iterable, Mapping, NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from functions_tui.screens.safe_dismiss import SafeDismiss
from functions_tui.screens.service_protocol import ScreenService

#: States of a pair this registry manages on the component (delete and sync apply to them).
MANAGED = frozenset({"in_sync", "drifted", "pending", "diverged", "conflict", "missing"})


class FunctionAction(NamedTuple):
    """One thing to do to one function: what the app's ``run_function_action`` takes."""

    intent: str                      # deploy / sync / delete / adopt / run / stop / edit
    function: str
    components: tuple[str, ...]
    label: str
    key: str = ""                    # the dashboard's direct key for it, shown as a hint


def actions_for(name: str, states: Mapping[str, tuple[str, str]], *, in_registry: bool,
                declared_in: str = "", run_states: Mapping[str, str] | None = None) -> list[FunctionAction]:
    """The actions that make sense for ``name`` given its (state, detail) on each of the
    components in ``states`` (one for a component panel, all for the registry panel).
    ``run_states``: the run state the function wants on each component whose kind runs
    containers (Docker's instances). The service checks again when planning; this only
    keeps nonsense off the list."""
    out: list[FunctionAction] = []

    def add(intent: str, comps: Iterable[str], label: str, key: str = "") -> None:
        comps = tuple(comps)
        if comps or intent == "edit":
            out.append(FunctionAction(intent, name, comps, label, key))

    def each(intent: str, comps: list[str], verb: str, key: str, note: str = "") -> None:
        """One entry for all of ``comps`` (the direct key's), then one per component if several."""
        if comps:
            add(intent, comps, f"{verb} {', '.join(comps)}{note}", key)
        if len(comps) > 1:
            for c in comps:
                add(intent, [c], f"{verb} {c}{note}")

    # registry panel: "none" is a component the function does not target (yet)
    deployable = [c for c, (s, d) in states.items() if in_registry and s not in ("in_sync", "foreign")
                  and not (s == "unmanaged" and d != "marked")]
    targeted = [c for c in deployable if states[c][0] != "none"]
    each("deploy", targeted, "deploy to", "d")
    for c in deployable:
        if c not in targeted:
            add("deploy", [c], f"deploy to {c} (not a target yet)", "d" if len(states) == 1 else "")
    synced = [c for c, (s, _) in states.items() if s != "none"]
    add("sync", synced, f"sync {name} on {', '.join(synced)}")
    ours = [c for c, (s, d) in states.items() if s in MANAGED or s == "unknown" or (s == "unmanaged" and d == "marked")]
    each("delete", ours, "delete from", "D")
    for c, (state, detail) in states.items():
        if state == "foreign" or (state == "unmanaged" and detail == "marked"):
            add("adopt", [c], f"adopt from {c}" + (f" (deployed by registry {detail})" if state == "foreign" else ""))
    runnable = [c for c in (run_states or {}) if c in states and states[c][0] in MANAGED | {"unknown"}]
    if in_registry and runnable:
        where = ", ".join(runnable)
        if all((run_states or {})[c] == "stopped" for c in runnable):
            add("run", runnable, f"run its container on {where}", "r")
        else:
            add("stop", runnable, f"stop its container on {where}", "r")
    if in_registry and declared_in:
        add("edit", (), f"edit {PurePath(declaration_path(declared_in)).name} in $EDITOR", "e")
    return out


def declaration_path(declared_in: str) -> str:
    """The file of a spec's ``declared_in`` ("/path/function.yaml:3": path and line)."""
    path, sep, line = declared_in.rpartition(":")
    return path if sep and line.isdigit() else declared_in


def command_text(action: FunctionAction) -> str:
    """The action as a command palette line: "Deploy hello to aws"."""
    name, where = action.function, ", ".join(action.components)
    return {
        "deploy": f"Deploy {name} to {where}",
        "delete": f"Delete {name} from {where}",
        "adopt": f"Adopt {name} from {where}",
        "sync": f"Sync {name} on {where}",
        "run": f"Run {name} (docker)",
        "stop": f"Stop {name} (docker)",
        "edit": f"Edit {name}'s declaration",
    }.get(action.intent, action.label)


class FunctionActionsScreen(SafeDismiss, ModalScreen[FunctionAction | None]):
    """A short list of actions; enter picks one, esc closes."""

    DEFAULT_CSS = """
    FunctionActionsScreen { align: center middle; }
    FunctionActionsScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 80%;
        padding: 0 1; border: thick $accent; background: $surface;
    }
    FunctionActionsScreen #actions-title { text-style: bold; padding: 0 1; }
    FunctionActionsScreen #actions-note { color: $text-muted; padding: 0 1; }
    FunctionActionsScreen OptionList { height: auto; max-height: 16; }
    """

    BINDINGS = [Binding("escape,q", "close", "Back", id="actions.back")]

    def __init__(self, name: str, where: str, actions: list[FunctionAction], *, read_only: bool = False) -> None:
        super().__init__()
        self.function = name
        self.where = where
        self.actions = actions
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.function} — {self.where}", id="actions-title")
            options = []
            for i, action in enumerate(self.actions):
                prompt = Text(f"{action.key or ' ':>2}  {action.label}")
                if self.read_only and action.intent != "sync":
                    prompt.append("  (read-only)", style="dim")
                options.append(Option(prompt, id=str(i)))
            yield OptionList(*options)
            note = "nothing to do to this function here" if not self.actions else \
                "enter: plan it (you confirm before anything changes) · esc: back"
            yield Static(note, id="actions-note")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.close_with(self.actions[int(event.option.id or 0)])

    def action_close(self) -> None:
        self.close_with(None)


class OneFunctionService:
    """The service as the PlanScreen of one function's action sees it: planning again (its
    `r`) plans that same action again, not the whole component, and applying goes through
    ``apply_function`` (which makes a component the deploy adds a target first). Everything
    else passes through."""

    def __init__(self, service: ScreenService, function: str, intent: str) -> None:
        self._service = service
        self.function = function
        self.intent = intent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def plan(self, components: Iterable[str] | None = None, **_: Any) -> Any:
        return self._service.plan_function(self.function, list(components or ()), self.intent)

    def apply(self, plan: Any, *args: Any, **kwargs: Any) -> Any:
        return self._service.apply_function(plan, *args, **kwargs)
