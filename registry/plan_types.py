"""Types the engine produces and everyone renders: states, field diffs, actions, plans.

(CONTRACT — the sync engine work, issue 3, fills in classify/plan/apply around these.)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Iterable


class State(str, Enum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"        # R = B, C != B
    PENDING = "pending"        # R != B, C = B
    DIVERGED = "diverged"      # changed on both sides, in different fields: merged field by field
    CONFLICT = "conflict"      # some field changed on both sides, differently (or never synced)
    MISSING = "missing"        # in R, absent in C (detail: "ghost" or "not_deployed")
    UNMANAGED = "unmanaged"    # marked in C, absent in R
    FOREIGN = "foreign"        # marked by another registry (detail: its id): shown, never touched
    UNKNOWN = "unknown"        # component unavailable / listing failed or partial


class Policy(str, Enum):
    COMPONENT_WINS = "component-wins"
    REGISTRY_WINS = "registry-wins"
    ASK = "ask"


class Direction(str, Enum):
    PULL = "pull"
    PUSH = "push"
    TWO_WAY = "two-way"


class ActionKind(str, Enum):
    PULL = "pull"          # registry takes the component's values (spec + base)
    CREATE = "create"      # deploy to the component (push, not there yet)
    UPDATE = "update"      # push the registry's spec to an existing resource
    PRUNE = "prune"        # drop a ghost's component record from the registry
    DELETE = "delete"      # remove a marked resource from the component (destructive)
    ADOPT = "adopt"        # take an unmanaged marked resource into the registry
    CLAIM = "claim"        # write this registry's identity into a resource's ownership mark
    REBASE = "rebase"      # R = C but B is stale: only record the new base
    ASK = "ask"            # a person must decide (conflict / ask policy); never applied headless


DESTRUCTIVE = frozenset({ActionKind.DELETE, ActionKind.PRUNE})


@dataclass
class FieldDiff:
    """One differing field. Values are display-safe: secrets already masked.

    ``side`` is the field's three-way merge (registry.merge): ``registry`` (changed only in
    the registry: push), ``component`` (changed only on the component: pull), ``conflict``
    (changed on both, differently, or never synced)."""

    field: str
    base: Any = None
    registry: Any = None
    component: Any = None
    secret: bool = False
    side: str = ""


@dataclass
class PairStatus:
    """The classification of one (function, component) pair."""

    function: str
    component: str
    state: State
    detail: str = ""            # "ghost" / "not_deployed" / reason for unknown / a foreign owner
    diffs: list[FieldDiff] = field(default_factory=list)
    #: FOREIGN only: the registry wants this function here too, so another registry's resource
    #: of the same name blocks it (drift left for a person; an unwanted foreign one is not).
    wanted: bool = False


@dataclass
class Action:
    function: str
    component: str
    kind: ActionKind
    reason: str
    diffs: list[FieldDiff] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)   # for UPDATE/PULL: which fields
    depends_on: list[str] = field(default_factory=list)  # function names that must succeed first

    @property
    def destructive(self) -> bool:
        return self.kind in DESTRUCTIVE


@dataclass(frozen=True)
class Plan:
    """What a sync would do, as registry.plan built it. Frozen: what a person reviewed is what
    is applied. A command that asks for less than a whole sync (one function, one pair, gc's
    removals) narrows it with ``with_actions``, which makes a new plan and leaves this one."""

    statuses: list[PairStatus] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)       # in apply order, deletions last
    unknown: dict[str, str] = field(default_factory=dict)     # component -> reason
    warnings: list[str] = field(default_factory=list)
    registry_serial: int | None = None                        # the read the plan was built on

    __hash__ = None  # type: ignore[assignment]  # (its lists are not hashable)

    def __post_init__(self) -> None:
        # component -> the Observation the plan was decided on: PULL/ADOPT/REBASE apply the
        # component's raw values (env in clear), so they travel with the plan but outside its
        # fields, where dataclasses.asdict(plan) or a JSON report can never carry a secret.
        # registry.plan fills it (build_plan) and reads it (observed_for).
        object.__setattr__(self, "observed", {})

    @property
    def decisions(self) -> list[Action]:
        """Actions left for a person (conflicts, ask policy)."""
        return [a for a in self.actions if a.kind is ActionKind.ASK]

    def with_actions(self, actions: Iterable[Action], *warnings: str) -> Plan:
        """The same statuses, unknowns and registry read, with only ``actions`` (taken from this
        plan's, or built from its statuses) and ``warnings`` added."""
        return self._derived(actions=list(actions), warnings=[*self.warnings, *warnings])

    def read_at(self, serial: int | None) -> Plan:
        """This plan, to be applied on ``serial``: the registry read it was made from plus a
        write of the same command (apply_function adding a target first)."""
        return self._derived(registry_serial=serial)

    def _derived(self, **changes: Any) -> Plan:
        plan = replace(self, **changes)
        plan.observed.update(self.observed)
        return plan


@dataclass
class ActionResult:
    action: Action
    ok: bool
    error: str = ""
    skipped: bool = False   # not run because something it depends on failed


@dataclass
class ApplyResult:
    results: list[ActionResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # e.g. a declaration not written back

    @property
    def failed(self) -> list[ActionResult]:
        return [r for r in self.results if not r.ok and not r.skipped]


#: A person's answers to a conflict or an ``ask`` (the engine's registry.apply checks them).
CHOICES = ("registry", "component", "merge", "skip")


@dataclass
class Decision:
    """A person's answer to one ASK action (conflict / ask policy).

    choice: "registry" (keep registry, push), "component" (take component, pull),
    "merge" (per-field: ``fields`` maps field -> "registry" | "component"), or "skip".
    """

    function: str
    component: str
    choice: str
    fields: dict[str, str] | None = None
