"""The seam between the service and the sync engine (registry.classify / plan / apply /
journal). Keeping every engine call here means the service reads as a story and the
engine's signatures are adapted in one place."""

from __future__ import annotations

from typing import Any, Iterable

from registry.component import Observation
from registry.models import FunctionRecord
from registry.plan_types import Action, ApplyResult, PairStatus, Plan


def classify_all(records: dict[str, FunctionRecord], observations: dict[str, Observation],
                 components: Iterable[str], *, unavailable: dict[str, str] | None = None,
                 allow_empty: bool = False) -> list[PairStatus]:
    """Every pair's state: the statuses of a plan under the ``ask`` policy (plans nothing
    that could be applied by accident, and classifies exactly as a sync would)."""
    names = list(components)
    return build_plan(records, observations, names, direction="two-way", policies={n: "ask" for n in names},
                      allow_empty=allow_empty, max_deletions=0, unavailable=unavailable).statuses


def build_plan(records: dict[str, FunctionRecord], observations: dict[str, Observation],
               components: list[str], *, direction: str, policies: dict[str, str],
               allow_empty: bool, max_deletions: int, unavailable: dict[str, str] | None = None,
               registry_serial: int | None = None) -> Plan:
    from registry.plan import build_plan as engine_plan

    return engine_plan(records, observations, components, direction=direction, policies=policies,
                       allow_empty=allow_empty, max_deletions=max_deletions, unavailable=unavailable or {},
                       registry_serial=registry_serial)


def apply_actions(store, plan: Plan, actions: list[Action], components: dict[str, Any], *,
                  expected_serial: int | None) -> ApplyResult:
    from registry.apply import apply_plan

    run = Plan(statuses=plan.statuses, actions=actions, unknown=plan.unknown, warnings=plan.warnings,
               registry_serial=expected_serial)
    return apply_plan(store, run, components)


def interrupted_operations(store) -> list[dict[str, Any]]:
    try:
        from registry.journal import Journal
    except ImportError:
        return []
    return [dict(e) if isinstance(e, dict) else getattr(e, "__dict__", {"entry": str(e)})
            for e in Journal.for_store(store).pending()]
