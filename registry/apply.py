"""apply_plan: run a plan's actions through the component adapters and record the outcome in
the registry, in one transaction (one file write) for the whole plan.

Per action, in plan order: a component change (create / update / delete) is journaled
before it is sent and marked done after; registry-side actions (pull, adopt, prune, rebase)
change the working records. A failed action fails its function: every function whose
``after`` lists it (transitively) is skipped, everything else still runs, and every outcome
is in the ApplyResult. ASK actions never run; a person's Decision turns one into concrete
actions (resolve_decision).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any, Iterable, Mapping

from registry.classify import top_level
from registry.component import ApplyError, ObservedFunction
from registry.fingerprint import FINGERPRINT_FIELDS
from registry.journal import Journal, mark_live, mark_over
from registry.merge import COMPONENT, CONFLICT, REGISTRY, SIDES, decided_sides
from registry.models import ComponentRecord, FunctionRecord, FunctionSpec, is_managed_label, utc_now
from registry.plan import observed_for, order_actions, status_for
from registry.plan_types import Action, ActionKind, ActionResult, ApplyResult, Plan, State

#: Actions that change a component (journaled); the others only change the registry.
COMPONENT_CHANGES = frozenset({ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE, ActionKind.CLAIM})
CHOICES = ("registry", "component", "merge", "skip")


class DecisionError(ValueError):
    """A decision that does not fit its question (unknown choice, merge of a deletion, ...)."""


# --- decisions --------------------------------------------------------------------------------

def resolve_decision(plan: Plan, decision: Any) -> list[Action]:
    """Turn a person's answer to one ASK action into the actions that carry it out.

    ``decision`` is anything with ``function``, ``component``, ``choice`` (registry /
    component / merge / skip) and ``fields`` (for merge: diff field or whole field ->
    "registry" | "component"), e.g. app.service.Decision.
    """
    function, component = decision.function, decision.component
    choice = str(decision.choice)
    if choice not in CHOICES:
        raise DecisionError(f"unknown choice {choice!r} for {function} on {component}; use one of {', '.join(CHOICES)}")
    status = status_for(plan, function, component)
    if status is None:
        raise DecisionError(f"the plan has no {function} on {component} to decide about")
    if choice == "skip":
        return []
    ask = next((a for a in plan.actions if a.function == function and a.component == component
                and a.kind is ActionKind.ASK), None)
    depends_on = list(ask.depends_on) if ask is not None else []
    why = "decided: " + {"registry": "keep the registry", "component": f"take {component}", "merge": "merge"}[choice]

    def action(kind: ActionKind, reason: str, fields: list[str] | None = None) -> Action:
        return Action(function, component, kind, f"{reason} ({why})", diffs=list(status.diffs),
                      fields=fields or [], depends_on=depends_on)

    state = status.state
    if state is State.UNMANAGED:
        if choice == "component":
            return [action(ActionKind.ADOPT, f"adopt {function} from {component} into the registry")]
        if choice == "registry":
            if status.detail != "marked":
                raise DecisionError(f"{function} on {component} has no ownership mark: it is never deleted")
            if component in plan.unknown:
                raise DecisionError(f"{component}'s listing is not trusted ({plan.unknown[component]}):"
                                    " nothing is deleted there")
            return [action(ActionKind.DELETE, f"delete {function} from {component}")]
        raise DecisionError(f"{function} on {component} is not in the registry: nothing to merge with")
    if state is State.MISSING:
        if choice == "registry":
            return [action(ActionKind.CREATE, f"deploy {function} to {component} again")]
        if choice == "component":
            return [action(ActionKind.PRUNE, f"drop {component} from {function}'s registry entry")]
        raise DecisionError(f"{function} is gone from {component}: nothing to merge with")
    if state is State.FOREIGN:
        raise DecisionError(f"{function} on {component} belongs to another registry ({status.detail}): it is never"
                            f" changed from here; take it over with `functions-tui adopt {function} --from {component}`")
    if state not in (State.DRIFTED, State.CONFLICT, State.PENDING, State.DIVERGED):
        raise DecisionError(f"{function} on {component} is {state.value}: nothing to decide")
    sides = {d.field: d.side or CONFLICT for d in status.diffs}
    chosen = None
    if choice == "merge":
        chosen = {str(k): str(v) for k, v in (getattr(decision, "fields", None) or {}).items()}
        bad = sorted(v for v in chosen.values() if v not in SIDES)
        if bad:
            raise DecisionError(f"merge sides must be registry or component, not {', '.join(bad)}")
    final = decided_sides(sides, choice, chosen)
    unchosen = [f for f, side in final.items() if side == CONFLICT]
    if unchosen:
        raise DecisionError(f"merge of {function} on {component}: choose registry or component for "
                            f"{', '.join(unchosen)}")
    pull = [f for f, side in final.items() if side == COMPONENT]
    push = [f for f, side in final.items() if side == REGISTRY]
    actions = []
    if pull:
        actions.append(action(ActionKind.PULL, f"take {component}'s {', '.join(pull)}", pull))
    if push:
        actions.append(action(ActionKind.UPDATE, f"deploy the registry's {', '.join(push)} to {component}",
                              sorted({top_level(f) for f in push})))
    return actions


def effective_actions(plan: Plan, decisions: Iterable[Any] = ()) -> list[Action]:
    """The plan's runnable actions plus the decided ones, ASK actions left out (unanswered)."""
    decided: dict[tuple[str, str], list[Action]] = {}
    for decision in decisions:
        decided[(decision.function, decision.component)] = resolve_decision(plan, decision)
    actions: list[Action] = []
    for a in plan.actions:
        key = (a.function, a.component)
        if key in decided:
            continue  # the person's answer replaces whatever the plan had for this pair
        if a.kind is not ActionKind.ASK:
            actions.append(a)
    for resolved in decided.values():
        actions.extend(resolved)
    return actions


# --- applying ---------------------------------------------------------------------------------

def apply_plan(plan: Plan, store: Any, components: Mapping[str, Any], journal: Journal | None = None,
               decisions: Iterable[Any] = (), *, source: str = "sync",
               observations: Mapping[str, Any] | None = None) -> ApplyResult:
    """Apply ``plan`` (plus ``decisions``) in one registry transaction.

    ``store`` is a RegistryStore (its transaction refuses a registry changed since
    ``plan.registry_serial`` with StaleWriteError, before any component is touched);
    ``components`` maps a component name to its adapter; ``journal`` defaults to the one
    next to the store's file. ``observations`` (component -> Observation) is only needed for
    a plan that was not built by build_plan in this process.
    """
    journal = journal if journal is not None else Journal.for_store(store)
    run = uuid.uuid4().hex[:12]
    result = ApplyResult()
    actions = effective_actions(plan, decisions)
    if not actions:
        return result
    journal.entries()  # an unreadable journal (JournalError) stops us before any change
    mark_live(run)
    try:
        with store.transaction(source, expected_serial=plan.registry_serial) as txn:
            # A registry's identity exists before anything is marked with it (a new registry
            # gets its lineage here rather than when the transaction is written).
            txn.lineage = txn.lineage or str(uuid.uuid4())
            records = {r.name: r for r in txn.records()}
            actions = order_actions(actions, records)
            runner = _Runner(plan, txn, components, journal, run, observations)
            for action in actions:
                result.results.append(runner.run(action))
        journal.clear_run(run)
    finally:
        mark_over(run)
    return result


class _Runner:
    """Carries out one action at a time against the transaction and the adapters."""

    def __init__(self, plan: Plan, txn: Any, components: Mapping[str, Any], journal: Journal, run: str,
                 observations: Mapping[str, Any] | None) -> None:
        self.plan = plan
        self.txn = txn
        self.components = components
        self.journal = journal
        self.run_id = run
        self.observations = observations
        self.failed: set[str] = set()           # functions with a failed (or skipped) action
        self.failed_pulls: set[str] = set()     # functions whose registry-side step failed

    def run(self, action: Action) -> ActionResult:
        blocked = sorted(set(action.depends_on) & self.failed)
        if blocked:
            self.failed.add(action.function)
            return ActionResult(action, ok=False, skipped=True,
                                error=f"skipped: {', '.join(blocked)} (which it runs after) did not succeed")
        if action.function in self.failed_pulls and action.kind in COMPONENT_CHANGES:
            return ActionResult(action, ok=False, skipped=True,
                                error="skipped: the registry step it builds on failed")
        try:
            getattr(self, f"_{action.kind.value}")(action)
        except Exception as exc:  # one failed action must not stop the others; it is reported
            self.failed.add(action.function)
            if action.kind not in COMPONENT_CHANGES:
                self.failed_pulls.add(action.function)
            message = str(exc) if isinstance(exc, ApplyError) else f"{type(exc).__name__}: {exc}"
            return ActionResult(action, ok=False, error=message or type(exc).__name__)
        return ActionResult(action, ok=True)

    # --- helpers -------------------------------------------------------------------------------
    def _adapter(self, name: str) -> Any:
        adapter = self.components.get(name)
        if adapter is None:
            raise ApplyError(f"no adapter for {name}: it is not configured or not available")
        # Whatever the adapter creates or changes is marked with this registry's identity.
        adapter.registry_id = self.txn.lineage
        return adapter

    def _observed(self, action: Action) -> ObservedFunction:
        observed = None
        if self.observations is not None and action.component in self.observations:
            observed = self.observations[action.component].items.get(action.function)
        if observed is None:
            observed = observed_for(self.plan, action.function, action.component)
        if observed is None:
            raise ApplyError(f"no observation of {action.function} on {action.component} to take values from")
        return observed

    def _record(self, name: str) -> FunctionRecord:
        record = self.txn.get(name)
        if record is None:
            raise ApplyError(f"{name} is not in the registry (any more)")
        return copy.deepcopy(record)

    def _journaled(self, action: Action, call, resource_id: str = "") -> Any:
        entry = self.journal.begin(action.function, action.component, action.kind.value,
                                   resource_id=resource_id, run=self.run_id)
        try:
            outcome = call()
        except Exception:
            self.journal.finish(entry, made=False)
            raise
        # BaseException (a crash, Ctrl-C) leaves the entry "started": reported at the next start.
        self.journal.finish(entry, made=True)
        return outcome

    @staticmethod
    def _set_base(record: FunctionRecord, component: str, observed: ObservedFunction) -> None:
        record.components[component] = ComponentRecord(
            component, base=observed.fingerprint(), resource_id=observed.resource_id, last_sync=utc_now())

    # --- one method per action kind ----------------------------------------------------------
    def _create(self, action: Action) -> None:
        record = self._record(action.function)
        adapter = self._adapter(action.component)
        made = self._journaled(action, lambda: adapter.create(record.spec))
        self._set_base(record, action.component, made)
        self.txn.put(record, action="create", component=action.component)

    def _update(self, action: Action) -> None:
        record = self._record(action.function)
        adapter = self._adapter(action.component)
        comp_record = record.components.get(action.component)
        resource_id = comp_record.resource_id if comp_record is not None else ""
        fields = list(action.fields) or list(FINGERPRINT_FIELDS)
        made = self._journaled(action, lambda: adapter.update(record.spec, fields), resource_id)
        self._set_base(record, action.component, made)
        self.txn.put(record, action="update", component=action.component)

    def _delete(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"refusing to delete {action.function} on {action.component}: it has no ownership mark")
        adapter = self._adapter(action.component)
        self._journaled(action, lambda: adapter.delete(action.function, observed.resource_id), observed.resource_id)
        record = self.txn.get(action.function)
        if record is not None and action.component in record.components:
            record = copy.deepcopy(record)
            del record.components[action.component]
            self.txn.put(record, action="delete", component=action.component)

    def _pull(self, action: Action) -> None:
        record = self._record(action.function)
        observed = self._observed(action)
        values = self._plain_values(action, observed)
        _copy_into_spec(record.spec, action.component, values, action.fields or list(FINGERPRINT_FIELDS))
        self._set_base(record, action.component, observed)
        self.txn.put(record, action="pull", component=action.component)

    def _adopt(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"{action.function} on {action.component} has no ownership mark: not adopted")
        values = self._plain_values(action, observed)
        existing = self.txn.get(action.function)
        if existing is None:
            record = FunctionRecord(spec=FunctionSpec(name=action.function, runtime=str(values.get("runtime") or "")))
        else:
            record = copy.deepcopy(existing)
        target = values.get("target")
        record.spec.targets.setdefault(action.component, dict(target) if isinstance(target, dict) else {})
        if existing is None or not action.fields:
            fields = list(FINGERPRINT_FIELDS)  # a new entry, or a person's "adopt": take it all
        else:
            fields = list(action.fields)  # what the plan found differing (never an ignored key)
        _copy_into_spec(record.spec, action.component, values, fields)
        self._set_base(record, action.component, observed)
        self.txn.put(record, action="adopt", component=action.component)

    def _prune(self, action: Action) -> None:
        """Drop one component from the entry (its record, its base and its target); the
        function and its other components stay, even when this was its only place: removing a
        function from the registry is `functions-tui delete`, never a side effect of a sync."""
        record = self._record(action.function)
        record.components.pop(action.component, None)
        record.spec.targets.pop(action.component, None)
        self.txn.put(record, action="prune", component=action.component)

    def _claim(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"{action.function} on {action.component} has no ownership mark: not claimed")
        adapter = self._adapter(action.component)
        made = self._journaled(action, lambda: adapter.claim(action.function, observed.resource_id),
                               observed.resource_id)
        record = self.txn.get(action.function)
        if record is not None and action.component in record.components:
            record = copy.deepcopy(record)
            record.components[action.component].resource_id = made.resource_id or observed.resource_id
            self.txn.put(record, action="claim", component=action.component)

    def _rebase(self, action: Action) -> None:
        record = self._record(action.function)
        self._set_base(record, action.component, self._observed(action))
        self.txn.put(record, action="rebase", component=action.component)

    def _ask(self, action: Action) -> None:  # pragma: no cover - effective_actions drops them
        raise ApplyError("a question is not an action: answer it with a decision")

    def _plain_values(self, action: Action, observed: ObservedFunction) -> dict[str, Any]:
        """Observed raw values with env in plain text (asks the adapter when the listing had
        only hashes and env is among what is pulled)."""
        values = dict(observed.values)
        wants_env = not action.fields or action.kind is ActionKind.ADOPT or any(
            top_level(f) == "env" for f in action.fields)
        if getattr(observed, "env_hashed", False) and wants_env:
            reader = getattr(self.components.get(action.component), "read_env", None)
            if reader is None:
                raise ApplyError(f"{action.component} listed only hashes of {action.function}'s env"
                                 " and cannot read the values: pull without env")
            values["env"] = dict(reader(action.function))
        return values


def _copy_into_spec(spec: FunctionSpec, component: str, values: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Copy the component's values for ``fields`` (whole fields or ``env.KEY`` / ``labels.KEY``)
    into the spec. A value the component does not report leaves the spec's as it is."""
    for f in fields:
        head, _, key = f.partition(".")
        value = values.get(head)
        if head in ("env", "labels"):
            source = {str(k): str(v) for k, v in (value or {}).items()
                      if head == "env" or not is_managed_label(str(k))}
            target = spec.env if head == "env" else spec.labels
            if key:
                if key in source:
                    target[key] = source[key]
                else:
                    target.pop(key, None)
            else:
                target.clear()
                target.update(source)
        elif head == "state":
            if value:
                spec.targets.setdefault(component, {})["state"] = str(value)
        elif head in ("memory", "timeout"):
            if value not in (None, ""):
                setattr(spec, head, int(value))
        elif head in ("runtime", "entry_point", "code_digest"):
            setattr(spec, head, str(value or ""))


def interrupted_operations(journal: Journal) -> list[str]:
    """One line per operation an earlier run left in flight (for the start-up report)."""
    return [entry.describe() for entry in journal.pending()]


