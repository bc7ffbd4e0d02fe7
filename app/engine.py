"""The seam between the service and the sync engine (registry.classify / plan / apply /
journal). Keeping every engine call here means the service reads as a story and the
engine's signatures are adapted in one place."""

from __future__ import annotations

from typing import Any, Iterable

from registry.component import Observation
from registry.models import FunctionRecord
from registry.plan_types import Action, ApplyResult, PairStatus, Plan


def classify_all(records: dict[str, FunctionRecord], observations: dict[str, Observation],
                 components: Iterable[str], *, allow_empty: bool = False) -> list[PairStatus]:
    from registry.classify import classify_all as engine_classify

    return engine_classify(records, observations, list(components), allow_empty=allow_empty)


def build_plan(records: dict[str, FunctionRecord], observations: dict[str, Observation],
               components: list[str], *, direction: str, policies: dict[str, str],
               allow_empty: bool, max_deletions: int) -> Plan:
    from registry.plan import build_plan as engine_plan

    return engine_plan(records, observations, components, direction=direction, policies=policies,
                       allow_empty=allow_empty, max_deletions=max_deletions)


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
