"""SyncService: the one place the CLI and the TUI go through.  (CONTRACT SKELETON)

Ties the config, the registry store and the component adapters to the sync engine.
Implemented by the CLI work (issue 5); the TUI (issue 6) uses exactly this API from worker
threads, so every method is safe to call from a thread and never touches Textual.
Import cloud SDKs lazily (adapters are built on first use) so `--help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from registry.component import Detection, Observation
from registry.models import FunctionRecord, HistoryEntry
from registry.plan_types import ApplyResult, Plan, PairStatus


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


class SyncService:
    def __init__(self, home: Path | None = None, *, read_only: bool = False) -> None:
        """``home``: config dir (default: FUNCTIONS_TUI_HOME / platformdirs). ``read_only``:
        every mutating method raises ReadOnlyError (the one central place that enforces it)."""
        raise NotImplementedError

    read_only: bool

    # --- reading -------------------------------------------------------------
    def component_names(self) -> list[str]: ...
    def detections(self, refresh: bool = False) -> dict[str, Detection]: ...
    def records(self) -> dict[str, FunctionRecord]: ...
    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]: ...
    def observe(self, components: Iterable[str] | None = None) -> dict[str, Observation]: ...
    def last_observations(self) -> dict[str, Observation]:
        """The most recent observation per component (cached in memory, no network)."""
    def status(self, components: Iterable[str] | None = None, *, observe: bool = True) -> list[PairStatus]: ...

    # --- planning and applying ----------------------------------------------
    def plan(self, components: Iterable[str] | None = None, *, sync: str | None = None,
             direction: str | None = None, policy: str | None = None,
             allow_empty: bool = False) -> Plan:
        """Observe (unless fresh observations are given/cached) and build a plan; changes nothing."""
    def apply(self, plan: Plan, decisions: Iterable[Decision] = ()) -> ApplyResult:
        """Apply the plan's non-ASK actions plus the given decisions; one registry write."""
    def resolve(self, decision: Decision) -> ApplyResult:
        """Resolve one conflict now (writes registry, pushes/pulls as the choice needs)."""
