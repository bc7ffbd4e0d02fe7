"""The seam between the service and the sync engine (registry.plan / apply / journal).
Keeping every engine call here means the service reads as a story and the engine's
signatures are adapted in one place."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from registry.component import Observation
from registry.models import FunctionRecord
from registry.plan_types import ApplyResult, PairStatus, Plan


def classify_all(records: dict[str, FunctionRecord], observations: dict[str, Observation],
                 components: Iterable[str], *, unavailable: dict[str, str] | None = None,
                 allow_empty: bool = False, registry_id: str = "") -> list[PairStatus]:
    """Every pair's state: the statuses of a plan under the ``ask`` policy (plans nothing
    that could be applied by accident, and classifies exactly as a sync would)."""
    names = list(components)
    return build_plan(records, observations, names, direction="two-way", policies={n: "ask" for n in names},
                      allow_empty=allow_empty, max_deletions=0, unavailable=unavailable,
                      registry_id=registry_id).statuses


def build_plan(records: dict[str, FunctionRecord], observations: dict[str, Observation],
               components: list[str], *, direction: str, policies: dict[str, str],
               allow_empty: bool, max_deletions: int, unavailable: dict[str, str] | None = None,
               registry_serial: int | None = None, registry_id: str = "",
               conflicts: dict[str, str] | None = None) -> Plan:
    """``registry_id``: this registry's identity (its lineage; "" before it exists), so
    resources marked by another registry are foreign; ``conflicts``: component -> the
    explicit setting that may settle conflicting fields (default ask)."""
    from registry.plan import build_plan as engine_plan

    return engine_plan(records, observations, components, direction=direction, policies=policies,
                       allow_empty=allow_empty, max_deletions=max_deletions, unavailable=unavailable or {},
                       registry_serial=registry_serial, registry_id=registry_id, conflicts=conflicts)


def apply(plan: Plan, store, components: Mapping[str, Any], decisions: Iterable[Any] = (), *,
          source: str = "sync", observations: Mapping[str, Observation] | None = None,
          progress: Any = None) -> ApplyResult:
    """Run the plan (plus a person's decisions) through the adapters. The registry lock is
    held only for short transactions (the plan's freshness check, then batches of recorded
    outcomes), never across a cloud call: ``add`` and other writes go on meanwhile, and an
    outcome whose function changed meanwhile fails with "changed meanwhile; re-plan"."""
    from registry.apply import apply_plan

    return apply_plan(plan, store, components, decisions=list(decisions), source=source,
                      observations=observations, progress=progress)


def decided_components(plan: Plan, decisions: Iterable[Any]) -> set[str]:
    from registry.plan_types import ActionKind

    names = {a.component for a in plan.actions if a.kind is not ActionKind.ASK}
    return names | {d.component for d in decisions}


def interrupted_operations(store) -> list[str]:
    """One line per cloud operation an earlier run left in flight."""
    from registry.apply import interrupted_operations as engine_interrupted
    from registry.journal import Journal

    return list(engine_interrupted(Journal.for_store(store)))


def acknowledge_interrupted(store, components: Iterable[str]) -> int:
    """Forget interrupted operations on ``components`` once a full sync has looked at them
    again (the sync's observation is the answer to "did it happen?")."""
    from registry.journal import Journal

    journal = Journal.for_store(store)
    names = set(components)
    ids = [e.id for e in journal.pending() if e.component in names]
    return journal.acknowledge(ids) if ids else 0
