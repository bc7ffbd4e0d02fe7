"""build_plan: classify every (function, component) pair and decide what to do about it.

The plan is the only thing apply runs, and it is built to be safe before it is clever:
- a component that is unavailable, listed partially, or listed empty while the registry
  expects functions there is ``unknown``: nothing absent from it is pruned, created or
  deleted (``allow_empty`` trusts an empty but complete listing);
- only marked resources are ever deleted; more deletions + prunes than ``max_deletions``
  plans none of them and says so;
- actions run in ``after`` order (a cycle is an error naming it), deletions and prunes
  last, ASK actions are listed for a person and never applied.

When a pull changes the registry's spec, the same plan pushes the new values to the
function's other components (when the direction allows), so one apply converges.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Iterable, Mapping

from functions_tui.registry.classify import (MARKED, NOT_DEPLOYED, STALE_BASE, classify_fingerprints, fast_normalize,
                               field_diffs, observed_fingerprint, ownership, raw_equal, registry_fingerprint,
                               spec_raw, top_level)
from functions_tui.registry.component import ObservedFunction, Observation
from functions_tui.registry.fingerprint import IMAGE_FIELDS, image_overrides, spec_values
from functions_tui.registry.gc_pause import gc_paused
from functions_tui.registry.ignore import apply_ignore, rules_for
from functions_tui.registry.merge import COMPONENT, CONFLICT, REGISTRY
from functions_tui.registry.kinds import component_names, default_policy, default_state
from functions_tui.registry.kinds import rank as rank_of_component
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.ordering import topological_order
from functions_tui.registry.plan_types import DESTRUCTIVE, Action, ActionKind, Direction, PairStatus, Plan, Policy, State

PULL_SIDE = frozenset({ActionKind.PULL, ActionKind.PRUNE, ActionKind.ADOPT})
PUSH_SIDE = frozenset({ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE})
_PULLS = frozenset({ActionKind.PULL, ActionKind.ADOPT})

# Within one function: registry-side bookkeeping first (a pull feeds the pushes after it).
_PHASE = {ActionKind.REBASE: 0, ActionKind.PULL: 0, ActionKind.ADOPT: 0, ActionKind.CLAIM: 0,
          ActionKind.CREATE: 1, ActionKind.UPDATE: 1}


def allowed(kind: ActionKind, direction: Direction) -> bool:
    """Whether a sync going ``direction`` may plan an action of ``kind``."""
    if direction is Direction.PULL:
        return kind not in PUSH_SIDE
    if direction is Direction.PUSH:
        return kind not in PULL_SIDE
    return True


def _fields_text(fields: Iterable[str]) -> str:
    fields = list(fields)
    if len(fields) > 4:
        return ", ".join(fields[:4]) + f" and {len(fields) - 4} more"
    return ", ".join(fields) or "nothing"


def _by_side(status: PairStatus) -> dict[str, list[str]]:
    """The pair's differing fields grouped by merge side (registry / component / conflict)."""
    out: dict[str, list[str]] = {REGISTRY: [], COMPONENT: [], CONFLICT: []}
    for d in status.diffs:
        out.setdefault(d.side or CONFLICT, []).append(d.field)
    return out


Decided = tuple[ActionKind, str, "list[str] | None"]


def _decide(status: PairStatus, policy: Policy, direction: Direction,
            conflicts: Policy = Policy.ASK) -> Decided | None:
    """The action a pair's state calls for under the drift ``policy`` and the ``conflicts``
    setting (before guards): (kind, reason, fields or None for the kind's default fields).

    Field by field (registry.merge): fields changed only on the component follow the drift
    policy, fields changed only in the registry are pushed, and fields changed on both sides
    differently are asked about unless ``conflicts`` explicitly settles them. A PULL's
    registry-side fields are pushed by _propagate_pulls, so a merged pair ends equal."""
    c = status.component
    state = status.state
    if state in (State.DRIFTED, State.PENDING, State.DIVERGED, State.CONFLICT):
        sides = _by_side(status)
        pulled, pushed, clashing = sides[COMPONENT], sides[REGISTRY], sides[CONFLICT]
    if state is State.DRIFTED:
        why = f"{_fields_text(pulled)} changed on {c} since the last sync; registry unchanged"
        if policy is Policy.COMPONENT_WINS:
            return (ActionKind.PULL, f"{why}: take {c}'s values (component-wins)", pulled) \
                if allowed(ActionKind.PULL, direction) else None
        if policy is Policy.REGISTRY_WINS:
            return (ActionKind.UPDATE, f"{why}: redeploy the registry's spec (registry-wins)", None) \
                if allowed(ActionKind.UPDATE, direction) else None
        return ActionKind.ASK, f"{why}: keep the registry or take {c}'s values? (policy ask)", None
    if state is State.PENDING:
        if allowed(ActionKind.UPDATE, direction):
            return ActionKind.UPDATE, f"{_fields_text(pushed)} changed in the registry; {c} still has the old values: deploy", None
        return None
    if state is State.DIVERGED:
        why = f"{_fields_text(pushed)} changed in the registry, {_fields_text(pulled)} on {c}"
        if policy is Policy.COMPONENT_WINS:
            # A push-only run cannot take the component's side, and pushing only the registry's
            # fields would record the component's change in the base as if it were synced.
            return (ActionKind.PULL, f"{why}: merge (take {c}'s, deploy the registry's)", pulled) \
                if allowed(ActionKind.PULL, direction) else None
        if policy is Policy.REGISTRY_WINS:
            return (ActionKind.UPDATE, f"{why}: redeploy the registry's spec (registry-wins)", None) \
                if allowed(ActionKind.UPDATE, direction) else None
        return ActionKind.ASK, f"{why}: merge, keep the registry or take {c}'s values? (policy ask)", None
    if state is State.CONFLICT:
        if status.detail:  # NO_BASE: nothing recorded, so no side can be told
            why = f"{_fields_text(clashing)} differ: {c} was never synced with the registry"
        else:
            why = f"{_fields_text(clashing)} changed both in the registry and on {c}, differently"
            if pulled or pushed:
                why += f" ({_fields_text(pulled + pushed)} merge cleanly)"
        if conflicts is Policy.COMPONENT_WINS and allowed(ActionKind.PULL, direction):
            return (ActionKind.PULL, f"{why}: take {c}'s values for the conflicts (conflicts: component-wins)",
                    clashing + pulled)
        if conflicts is Policy.REGISTRY_WINS:
            if pulled and policy is not Policy.REGISTRY_WINS and allowed(ActionKind.PULL, direction):
                return (ActionKind.PULL, f"{why}: keep the registry's values for the conflicts"
                        " (conflicts: registry-wins)", pulled)
            if (not pulled or policy is Policy.REGISTRY_WINS) and allowed(ActionKind.UPDATE, direction):
                return ActionKind.UPDATE, f"{why}: deploy the registry's values (conflicts: registry-wins)", None
        return ActionKind.ASK, f"{why}: keep registry, take {c}, choose field by field, or skip?", None
    if state is State.MISSING:
        if status.detail == NOT_DEPLOYED:
            if allowed(ActionKind.CREATE, direction):
                return ActionKind.CREATE, f"not deployed to {c} yet: deploy", None
            return None
        why = f"gone from {c} although the last sync saw it there (deleted out of band)"
        if policy is Policy.COMPONENT_WINS:
            return (ActionKind.PRUNE, f"{why}: drop {c} from the registry entry (component-wins)", None) \
                if allowed(ActionKind.PRUNE, direction) else None
        if policy is Policy.REGISTRY_WINS:
            return (ActionKind.CREATE, f"{why}: deploy it again (registry-wins)", None) \
                if allowed(ActionKind.CREATE, direction) else None
        return ActionKind.ASK, f"{why}: deploy again or drop it from the registry?", None
    if state is State.UNMANAGED:
        if status.detail != MARKED:
            return None  # not ours: shown, never touched
        why = f"on {c} with our mark but not in the registry"
        if policy is Policy.COMPONENT_WINS:
            return (ActionKind.ADOPT, f"{why}: adopt it into the registry (component-wins)", None) \
                if allowed(ActionKind.ADOPT, direction) else None
        if policy is Policy.REGISTRY_WINS:
            return (ActionKind.DELETE, f"{why}: delete it from {c} (registry-wins)", None) \
                if allowed(ActionKind.DELETE, direction) else None
        return ActionKind.ASK, f"{why}: adopt it, delete it from {c}, or leave it?", None
    return None  # in sync, unknown, foreign: nothing to do


def untrusted_components(records: Mapping[str, FunctionRecord], observations: Mapping[str, Observation],
                         components: Iterable[str], unavailable: Mapping[str, str],
                         allow_empty: bool = False) -> dict[str, str]:
    """The safety guard: component -> why its listing cannot be trusted with absences
    (unavailable, not observed, incomplete, or empty while the registry expects functions)."""
    unknown = {}
    for c in components:
        obs = observations.get(c)
        expected = 0
        if obs is not None and not obs.items and obs.complete and c not in unavailable:
            expected = sum(1 for r in records.values()
                           if c in r.spec.targets and c in r.components and r.components[c].base is not None)
        reason = _guard_reason(c, obs, unavailable, expected, allow_empty)
        if reason:
            unknown[c] = reason
    return unknown


def classify_all(records: Mapping[str, FunctionRecord], observations: Mapping[str, Observation],
                 components: Iterable[str] | None = None, *, allow_empty: bool = False,
                 unavailable: Mapping[str, str] | None = None, global_ignore: Iterable[str] = (),
                 registry_id: str | None = None) -> list[PairStatus]:
    """Every pair's status, with the same guards as build_plan, but no ordering (so a cycle in
    ``after`` never hides the status) and no actions."""
    unavailable = dict(unavailable or {})
    comps = _components(components, observations, unavailable)
    plan = Plan()
    plan.unknown.update(untrusted_components(records, observations, comps, unavailable, allow_empty))
    with gc_paused():
        _classify_and_decide(records, observations, comps, plan, unavailable, {}, Direction.TWO_WAY,
                             tuple(global_ignore), registry_id=registry_id)
    return plan.statuses


def _components(components: Iterable[str] | None, observations: Mapping[str, Observation],
                unavailable: Mapping[str, str]) -> list[str]:
    chosen = set(components) if components is not None else set(observations) | set(unavailable)
    return sorted(chosen, key=lambda c: (rank_of_component(c), c))


def _guard_reason(component: str, observation: Observation | None, unavailable: Mapping[str, str],
                  expected: int, allow_empty: bool) -> str:
    """Why ``component`` must be treated as unknown ("" when its listing can be trusted)."""
    if component in unavailable:
        return unavailable[component] or f"{component} is unavailable"
    if observation is None:
        return f"{component} was not observed"
    if not observation.complete:
        errors = "; ".join(observation.errors) if observation.errors else "no reason given"
        return f"{component} listing was incomplete ({errors}); nothing there is pruned or deleted"
    if not observation.items and expected and not allow_empty:
        return (f"{component} listed no functions although the registry expects {expected} there;"
                " treated as a failed listing (pass allow_empty to trust it)")
    return ""


class _Pair:
    """Everything build_plan knows about one pair while deciding (kept off the Plan)."""

    __slots__ = ("status", "registry", "_current", "observed", "rules", "action")

    def __init__(self, status, registry, current, observed, rules):
        self.status: PairStatus = status
        self.registry: dict | None = registry
        self._current: dict | None = current
        self.observed: ObservedFunction | None = observed
        self.rules: tuple[str, ...] = rules
        self.action: Action | None = None

    @property
    def current(self) -> dict | None:
        """C, computed on first use (the in-sync fast path never needs it)."""
        if self._current is None and self.observed is not None:
            self._current = observed_fingerprint(self.observed)
        return self._current


def build_plan(records: Mapping[str, FunctionRecord], observations: Mapping[str, Observation],
               components: Iterable[str] | None = None, *,
               policies: Mapping[str, Policy | str] | None = None,
               direction: Direction | str = Direction.TWO_WAY, allow_empty: bool = False,
               max_deletions: int = 10, registry_serial: int | None = None,
               unavailable: Mapping[str, str] | None = None,
               global_ignore: Iterable[str] = (), registry_id: str | None = None,
               conflicts: Mapping[str, Policy | str] | None = None) -> Plan:
    """Classify every pair and plan the actions. Changes nothing.

    ``components`` defaults to every component observed or reported ``unavailable``;
    functions' targets on other components are outside this plan. ``registry_id`` is this
    registry's identity (its lineage; "" for a registry not written yet): resources another
    registry marked are FOREIGN and never touched. ``conflicts`` (component -> policy) may
    settle conflicting fields explicitly; by default every conflict is a decision. Raises
    registry.ordering.CycleError when ``after`` loops.
    """
    direction = Direction(direction)
    unavailable = dict(unavailable or {})
    policies = {c: Policy(p) for c, p in (policies or {}).items()}
    comps = _components(components, observations, unavailable)
    global_ignore = tuple(global_ignore)
    plan = Plan(registry_serial=registry_serial)

    plan.unknown.update(untrusted_components(records, observations, comps, unavailable, allow_empty))

    # Classify and decide every pair: registry functions first, then names only a component has.
    with gc_paused():
        after: dict[str, Any] = {}
        actions = _classify_and_decide(records, observations, comps, plan, unavailable, policies,
                                       direction, global_ignore, after, registry_id=registry_id,
                                       conflicts={c: Policy(p) for c, p in (conflicts or {}).items()})
        _attach_observed(plan, observations)
        return _finish(plan, actions, records, max_deletions, after)


def _finish(plan: Plan, actions: list[Action], records: Mapping[str, FunctionRecord],
            max_deletions: int, after: Mapping[str, Any]) -> Plan:
    """The plan with its actions: the deletion limit, then the apply order."""
    warnings = []
    destructive = [a for a in actions if a.destructive]
    if len(destructive) > max_deletions:
        warnings.append(
            f"plan would delete or prune {len(destructive)} (more than max_deletions={max_deletions});"
            " none of them is planned: review and raise the limit to go ahead")
        actions = [a for a in actions if not a.destructive]
    return plan.with_actions(order_actions(actions, records, after), *warnings)


def _claim_reason(component: str) -> str:
    return (f"its mark on {component} names only the function (made before registry identities) and this"
            " registry synced it there: write this registry's identity into the mark")


def _rebase_reason(component: str) -> str:
    return f"{component} already matches the registry; record it as the new base"


def _classify_and_decide(records: Mapping[str, FunctionRecord], observations: Mapping[str, Observation],
                         comps: list[str], plan: Plan, unavailable: Mapping[str, str],
                         policies: Mapping[str, Policy], direction: Direction,
                         global_ignore: tuple[str, ...], after: dict[str, Any] | None = None, *,
                         registry_id: str | None = None,
                         conflicts: Mapping[str, Policy] | None = None) -> list[Action]:
    """One pass over every pair (the hot loop of planning: keep it lean). Fills ``after`` with
    each record's ``spec.after`` on the way (the apply order needs them; records are warm here).

    ``registry_id``: this registry's identity; a resource marked by another is FOREIGN and an
    old name-only mark this registry can prove it made gets a CLAIM (registry.classify.ownership).
    ``conflicts``: component -> the explicit setting that may settle conflicting fields
    (default: ask)."""
    conflicts = conflicts or {}
    if after is None:
        after = {}
    items_by_comp = {c: (observations[c].items if c in observations and c not in unavailable else {})
                     for c in comps}
    complete = {c: c not in plan.unknown for c in comps}
    available = {c: c not in unavailable for c in comps}
    reasons = {c: plan.unknown.get(c, "") for c in comps}
    comp_policy = {c: policies.get(c) or Policy(default_policy(c)) for c in comps}
    comp_conflicts = {c: conflicts.get(c, Policy.ASK) for c in comps}
    claims: list[Action] = []
    statuses = plan.statuses
    actions: list[Action] = []  # in the order of the pairs (order_actions' sort is stable)
    in_sync = State.IN_SYNC
    comp_items = [(c, items_by_comp[c].get, default_state(c)) for c in comps]

    def decide(pair: _Pair, name: str, depends_on: list[str], comp_record: ComponentRecord | None) -> None:
        status = pair.status
        c = status.component
        if status.state is in_sync:
            observed = pair.observed
            if (status.detail == STALE_BASE or observed is not None and (
                    comp_record is None or comp_record.resource_id != observed.resource_id)):
                pair.action = Action(name, c, ActionKind.REBASE, _rebase_reason(c), depends_on=list(depends_on))
            return
        decided = _decide(status, comp_policy[c], direction, comp_conflicts[c])
        if decided is None:
            return
        kind, reason, fields = decided
        if kind in DESTRUCTIVE and not complete[c]:
            return  # never destroy on an untrusted listing (absent items are UNKNOWN anyway)
        pair.action = Action(name, c, kind, reason, diffs=list(status.diffs),
                             fields=_action_fields(kind, status) if fields is None else list(fields),
                             depends_on=list(depends_on))

    for name in sorted(records):
        record = records[name]
        spec = record.spec
        after[name] = spec.after
        targets = spec.targets
        rules = rules_for(spec.ignore, global_ignore) if spec.ignore or global_ignore else ()
        comp_records = record.components
        first = raw = None  # R of the first targeted component (what registry_fingerprints gives)
        row: list[_Pair | tuple] = []
        pulls = False
        first_action = len(actions)
        for c, listed, default in comp_items:
            target = targets.get(c)
            observed = listed(name)
            if target is None:
                if observed is None:
                    continue
                registry = None
            else:
                state = target.get("state", default)  # as classify.target_state
                state = (state if state.__class__ is str else str(state)) or None
                if first is None:
                    registry = first = registry_fingerprint(spec, state)
                    raw = spec_raw(spec)
                else:  # components wanting the same state share R (read only)
                    registry = first if state == first["state"] else {**first, "state": state}
                if "image" in target:  # runs a prebuilt image: its own code, no runtime / entry point
                    overrides = image_overrides(target)
                    if overrides:
                        registry = {**registry, **overrides}
            comp_record = comp_records.get(c)
            base = comp_record.base if comp_record is not None else None
            foreign = ""
            if observed is not None and registry_id is not None and observed.owner != registry_id:
                foreign, claim = ownership(observed, registry_id, comp_record)
                if claim and complete[c]:
                    claims.append(Action(name, c, ActionKind.CLAIM, _claim_reason(c), depends_on=list(spec.after)))
            if (not foreign and not rules and registry is not None and observed is not None
                    and "image" not in target and raw_equal(observed, raw, state, registry)):
                # The common case, without building C: the component shows what the registry
                # wants. Only a stale base or a new resource id is left to record.
                stale = base != registry
                status = PairStatus(name, c, in_sync, STALE_BASE if stale else "")
                statuses.append(status)
                if stale or comp_record is None or comp_record.resource_id != observed.resource_id:
                    pair = _Pair(status, registry, registry, observed, rules)
                    pair.action = Action(name, c, ActionKind.REBASE, _rebase_reason(c), depends_on=list(spec.after))
                    actions.append(pair.action)
                    row.append(pair)
                else:
                    # No action: a _Pair is only made if a pull in this row needs it (below).
                    row.append((status, registry, observed))
                continue
            current = observed_fingerprint(observed) if observed is not None else None
            status = classify_fingerprints(
                name, c, registry=registry, base=base, observed=observed, current=current, rules=rules,
                observation_complete=complete[c], available=available[c], reason=reasons[c], foreign=foreign)
            statuses.append(status)
            pair = _Pair(status, registry, current, observed, rules)
            decide(pair, name, spec.after, comp_record)
            if pair.action is not None:
                actions.append(pair.action)
                if pair.action.kind in _PULLS:
                    pulls = True
                    if pair.action.kind is ActionKind.ADOPT:
                        _adopt_into(spec, pair)
            row.append(pair)
        if pulls:
            # Pulls rewrite the row's actions: collect them again once they are settled.
            del actions[first_action:]
            row = [p if p.__class__ is _Pair else _Pair(p[0], p[1], p[1], p[2], rules) for p in row]
            _propagate_pulls(record, row, direction)
            actions.extend(p.action for p in row if p.action is not None)

    listed: set[str] = set()
    for c in comps:
        listed.update(items_by_comp[c])
    observed_only = sorted(listed.difference(records))
    for name in observed_only:
        row = []
        for c in comps:
            observed = items_by_comp[c].get(name)
            if observed is None:
                continue
            foreign = ownership(observed, registry_id)[0]
            status = classify_fingerprints(name, c, registry=None, base=None, observed=observed,
                                           current=None, rules=global_ignore, foreign=foreign)
            statuses.append(status)
            pair = _Pair(status, None, observed_fingerprint(observed), observed, global_ignore)
            decide(pair, name, [], None)
            row.append(pair)
        _settle_adoptions(name, row)
        actions.extend(p.action for p in row if p.action is not None)
    return actions + claims


def _action_fields(kind: ActionKind, status: PairStatus) -> list[str]:
    """UPDATE: fingerprint fields to push (what Component.update takes); PULL: the diff fields,
    keyed for env/labels (``env.API_KEY``) so a pull never copies an ignored key."""
    if kind is ActionKind.UPDATE:
        return sorted({top_level(d.field) for d in status.diffs})
    if kind is ActionKind.PULL:
        return [d.field for d in status.diffs]
    return []


def _adopt_into(spec: FunctionSpec, pair: _Pair) -> None:
    """Adopting a resource into a function the registry already has is a pull of what differs
    from the spec (keyed, like a PULL, so it can clash with another component's pull), plus
    a new target. ``state`` is always listed: it marks the fields as worked out here."""
    current = pair.current
    component = pair.status.component
    hypothetical = {**fast_normalize(spec_values(spec, component)), "state": current.get("state")}
    overrides = image_overrides(_target_of(spec, pair))
    if overrides:  # adopting a function that runs an image: the target it brings says so
        hypothetical.update(overrides)
    pair.registry = hypothetical  # what R is for this component once adopted
    diffs = field_diffs(apply_ignore(hypothetical, pair.rules), None, apply_ignore(current, pair.rules))
    pair.action.fields = ["state"] + [d.field for d in diffs]
    pair.action.diffs = diffs


def _target_of(spec: FunctionSpec, pair: _Pair) -> Any:
    """The pair's target: the spec's, or for an adoption the one the resource brings."""
    target = spec.targets.get(pair.status.component)
    if target is None and pair.observed is not None:
        target = pair.observed.values.get("target")
    return target


def _pulled_values(pair: _Pair, own: bool = False) -> dict[str, Any]:
    """{field or field.key: C's fingerprint value} a PULL/ADOPT pair brings into the spec.
    ``own``: the pair's target runs an image, whose code, runtime and entry point are that
    target's alone (registry.models.IMAGE_PREFIX), never another component's."""
    current = pair.current or {}
    out = {}
    for f in pair.action.fields:
        head, _, key = f.partition(".")
        if head == "state" or (own and head in IMAGE_FIELDS):
            continue  # a run state (an image) belongs to one component's target, never shared
        out[f] = (current.get(head) or {}).get(key) if key else current.get(head)
    return out


def _with_values(fingerprint: dict, values: Mapping[str, Any]) -> dict:
    out = dict(fingerprint)
    for f, v in values.items():
        head, _, key = f.partition(".")
        if key:
            mapping = dict(out.get(head) or {})
            if v is None:
                mapping.pop(key, None)
            else:
                mapping[key] = v
            out[head] = dict(sorted(mapping.items()))
        else:
            out[head] = v
    return out


def _propagate_pulls(record: FunctionRecord, row: list[_Pair], direction: Direction) -> None:
    """Pulls change the spec every component of this function shares: two pulls that
    disagree become questions; the agreed new values are pushed to the other components."""
    pulls = [p for p in row if p.action is not None and p.action.kind in (ActionKind.PULL, ActionKind.ADOPT)]
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    clashes: set[str] = set()
    clash_fields: list[str] = []
    spec = record.spec
    for p in pulls:
        for f, v in _pulled_values(p, own=image_overrides(_target_of(spec, p)) is not None).items():
            if f in merged and merged[f] != v:
                clashes.update({owner[f], p.status.component})
                clash_fields.append(f)
            merged.setdefault(f, v)
            owner.setdefault(f, p.status.component)
    if clashes:
        names = " and ".join(sorted(clashes, key=rank_of_component))
        for p in pulls:
            if p.status.component in clashes:
                p.action = Action(p.action.function, p.action.component, ActionKind.ASK,
                                  f"{names} both changed {_fields_text(sorted(set(clash_fields)))},"
                                  " differently: which one wins?",
                                  diffs=p.action.diffs, depends_on=p.action.depends_on)
        return
    if not allowed(ActionKind.UPDATE, direction):
        return
    extra: list[_Pair] = []
    for p in row:
        if p.current is None or p.registry is None:
            continue
        if p.action is not None and p.action.kind not in (ActionKind.PULL, ActionKind.ADOPT, ActionKind.REBASE,
                                                          ActionKind.UPDATE):
            continue
        pulled_here = p.action is not None and p.action.kind in _PULLS
        target = _with_values(p.registry, merged)
        overrides = image_overrides(_target_of(spec, p))
        if overrides:  # what other components pulled never replaces the image this one runs,
            target.update(overrides)
            if pulled_here:  # while a pull of this one's own image takes it
                target.update({f: p.current.get(f) for f in IMAGE_FIELDS if f in p.action.fields})
        if pulled_here and "state" in p.action.fields:
            target["state"] = p.current.get("state")  # the pull takes this component's run state too
        diffs = field_diffs(apply_ignore(target, p.rules), None, apply_ignore(p.current, p.rules))
        if not diffs:
            continue
        fields = sorted({top_level(d.field) for d in diffs})
        update = Action(p.status.function, p.status.component, ActionKind.UPDATE,
                        _push_reason(diffs, owner, p.status.component),
                        diffs=diffs, fields=fields, depends_on=list(record.spec.after))
        if pulled_here:
            carrier = _Pair(p.status, None, None, None, p.rules)  # the pull stays; the push follows it
            carrier.action = update
            extra.append(carrier)
        else:
            p.action = update
    row.extend(extra)


def _push_reason(diffs: list, owner: Mapping[str, str], component: str) -> str:
    """"deploy the registry's memory and env.DEBUG pulled from gcp": what a push after pulls
    carries, and where each value came from."""
    own = [d.field for d in diffs if owner.get(d.field, component) == component]
    pulled: dict[str, list[str]] = {}
    for d in diffs:
        source = owner.get(d.field, component)
        if source != component:
            pulled.setdefault(source, []).append(d.field)
    parts = ([f"the registry's {_fields_text(own)}"] if own else []) + [
        f"{_fields_text(fields)} pulled from {source}" for source, fields in sorted(pulled.items())]
    return "deploy " + " and ".join(parts)


def _settle_adoptions(name: str, row: list[_Pair]) -> None:
    """A name unmanaged on several components: adopt from the first; the others join only if
    they agree with it, otherwise a person decides."""
    adopts = [p for p in row if p.action is not None and p.action.kind is ActionKind.ADOPT]
    if len(adopts) < 2:
        return
    first = adopts[0]
    reference = {k: v for k, v in apply_ignore(first.current, first.rules).items() if k != "state"}
    for p in adopts[1:]:
        mine = {k: v for k, v in apply_ignore(p.current, p.rules).items() if k != "state"}
        if mine != reference:
            p.action = Action(name, p.status.component, ActionKind.ASK,
                              f"also on {first.status.component} with different values: adopt which?",
                              diffs=field_diffs(reference, None, mine))


def order_actions(actions: Iterable[Action], records: Mapping[str, FunctionRecord],
                  after: Mapping[str, Any] | None = None) -> list[Action]:
    """Apply order: by ``after`` (dependencies first), registry-side steps before pushes within
    a function; deletions and prunes last (dependents first); ASK actions at the very end.

    ``after``: ``{name: record.spec.after}`` for every record, when the caller has it at hand
    (build_plan collects it while classifying)."""
    actions = list(actions)
    if not actions:
        return []
    # Only registry functions' ``after`` entries order anything. topological_order skips names
    # that are not graph keys, so the lists only need filtering for the action names without a
    # record (strays to adopt or delete), which become keys below.
    graph = dict(after) if after is not None else {name: r.spec.after for name, r in records.items()}
    strays = {a.function for a in actions if a.function not in records}
    if strays:
        if not strays.isdisjoint(chain.from_iterable(graph.values())):
            for name, after in graph.items():
                if not strays.isdisjoint(after):
                    graph[name] = [d for d in after if d in records]
        graph.update(dict.fromkeys(strays, ()))
    order = topological_order(graph)
    rank = dict(zip(order, range(len(order))))
    runnable = [a for a in actions if a.kind is not ActionKind.ASK and not a.destructive]
    destructive = [a for a in actions if a.destructive]
    asks = [a for a in actions if a.kind is ActionKind.ASK]
    ranks = {c: i for i, c in enumerate(component_names())}
    comp_rank, last = ranks.get, len(ranks)
    runnable.sort(key=lambda a: (rank[a.function], _PHASE.get(a.kind, 1), comp_rank(a.component, last)))
    destructive.sort(key=lambda a: (-rank[a.function], comp_rank(a.component, last)))
    asks.sort(key=lambda a: (rank[a.function], comp_rank(a.component, last)))
    return runnable + destructive + asks


# --- observed values travel with the plan, but never in its fields (see Plan.observed) ---------

def _attach_observed(plan: Plan, observations: Mapping[str, Observation]) -> None:
    plan.observed.update(observations)


def observed_for(plan: Plan, function: str, component: str) -> ObservedFunction | None:
    """The ObservedFunction a plan's action was decided on (None if it was absent)."""
    observation = plan.observed.get(component)
    return observation.items.get(function) if observation is not None else None


def status_for(plan: Plan, function: str, component: str) -> PairStatus | None:
    for status in plan.statuses:
        if status.function == function and status.component == component:
            return status
    return None
