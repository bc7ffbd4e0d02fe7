"""What the screens may ask of the service, typed: the one seam between screens/ and app/.

Screens render and post messages; they receive an object with these methods (the app's
SyncService, the sample service of the snapshots, a test's stand-in) and never import app/
(tests/test_layering.py holds that line). Every method may block on the network or the
registry file: screens call them from thread workers only.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

from functions_tui.registry.models import FunctionRecord, HistoryEntry
from functions_tui.registry.plan_types import ApplyResult, Decision, PairStatus, Plan


@runtime_checkable
class ScreenService(Protocol):
    read_only: bool

    def plan(self, components: Iterable[str] | None = None) -> Plan:
        """Observe and plan; changes nothing."""

    def apply(self, plan: Plan, decisions: Iterable[Decision] = (), *,
              progress: Callable[[Any], None] | None = None) -> ApplyResult:
        """Carry out a plan (and a person's decisions)."""

    def resolve(self, decision: Decision) -> ApplyResult:
        """Settle one conflict as the person decided."""

    def reveal(self, function: str, component: str, field: str) -> dict[str, Any]:
        """Both sides' clear values of one secret field, on request."""

    def find(self, name: str) -> FunctionRecord | None:
        """One function's record (None: not in the registry)."""

    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        """History entries, newest first."""

    def plan_function(self, function: str, components: list[str], intent: str) -> Plan:
        """The plan of one function's action (deploy, pull, adopt...)."""

    def apply_function(self, plan: Plan, decisions: Iterable[Decision] = (), **options: Any) -> ApplyResult:
        """Carry out a plan made by ``plan_function``."""


class FunctionStates(Protocol):
    """The dashboard's latest view of every function, as the detail screen reads it."""

    components: list[str]
    statuses: Mapping[tuple[str, str], PairStatus]
    records: Mapping[str, FunctionRecord]

    def state_of(self, function: str, component: str) -> tuple[str, str]:
        """(state name, detail) of one pair."""
