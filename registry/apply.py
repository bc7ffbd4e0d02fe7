"""apply_plan: run a plan's actions through the component adapters and record each outcome
in the registry, without holding the registry lock across a cloud call.

Per action, in plan order: a component change (create / update / delete / claim) is
journaled before it is sent and marked done after; registry-side actions (pull, adopt,
prune, rebase) change the working records. Outcomes are written in short transactions of
their own (a batch at a time), each on the function's record as it is then, so a change
another process made meanwhile is kept, and an outcome that would clobber it is not
recorded ("changed meanwhile; re-plan"). A failed action fails its function: every
function whose ``after`` lists it (transitively) is skipped, everything else still runs, and
every outcome is in the ApplyResult. ASK actions never run; a person's Decision turns one
into concrete actions (resolve_decision).
"""

from __future__ import annotations

import copy
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from functions_tui.registry.classify import top_level
from functions_tui.registry.component import ApplyError, ObservedFunction
from functions_tui.registry.errors import LockTimeoutError, StaleWriteError
from functions_tui.registry.fingerprint import FINGERPRINT_FIELDS
from functions_tui.registry.journal import Journal, JournalError, mark_live, mark_over
from functions_tui.registry.lock import RegistryLock, read_holder
from functions_tui.registry.merge import COMPONENT, CONFLICT, REGISTRY, SIDES, decided_sides
from functions_tui.registry.models import (IMAGE_PREFIX, ComponentRecord, FunctionRecord, FunctionSpec, is_managed_label,
                                          utc_now)
from functions_tui.registry.plan import observed_for, order_actions, status_for
from functions_tui.registry.plan_types import CHOICES, Action, ActionKind, ActionResult, ApplyResult, Plan, State

#: Actions that change a component (journaled); the others only change the registry.
COMPONENT_CHANGES = frozenset({ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE, ActionKind.CLAIM})


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

#: Registry writes during an apply: recorded outcomes are written together, at most every
#: FLUSH_INTERVAL_S and never more often than keeps the writes under FLUSH_SHARE of the
#: apply's time (a flush of a 10k-function registry takes ~0.3 s: then every ~3 s). Each
#: flush is one short transaction: the lock is held for one read and one write, never
#: across a cloud call.
FLUSH_INTERVAL_S = 0.5
FLUSH_SHARE = 0.1
CHANGED_MEANWHILE = "changed meanwhile; re-plan"


def apply_plan(plan: Plan, store: Any, components: Mapping[str, Any], journal: Journal | None = None,
               decisions: Iterable[Any] = (), *, source: str = "sync",
               observations: Mapping[str, Any] | None = None,
               flush_interval: float = FLUSH_INTERVAL_S,
               progress: Callable[[ApplyStep], None] | None = None) -> ApplyResult:
    """Apply ``plan`` (plus ``decisions``) without holding the registry lock across cloud calls.

    1. One short transaction checks the plan's read is still the registry's (a registry
       changed since ``plan.registry_serial`` raises StaleWriteError before any component
       is touched) and reads the records the actions work on. The lock is released.
    2. The actions run in order against working copies of those records (a pull updates the
       copy the function's pushes then use); each component change is journaled before it
       is sent. Their outcomes are recorded in short transactions of their own (_Recorder):
       a batch every ``flush_interval`` seconds or so (0: after every action) and the rest
       at the end. Each re-reads the function's current record and applies the action's
       effect to it, so another process's change meanwhile (an ``add``) is kept; where that
       change touches what the action set (the same fields, or a field the new base
       describes), the outcome is not recorded, the action's result says "changed
       meanwhile; re-plan" and its journal entry stays (done: made but not recorded,
       reported at the next start). Such a refusal does not skip dependents: the component
       change was made.
    One apply runs at a time per registry (``registry-apply.lock``); ``add`` and other
    registry writes go on meanwhile.

    ``store`` is a RegistryStore; ``components`` maps a component name to its adapter;
    ``journal`` defaults to the one next to the store's file. ``observations`` (component ->
    Observation) is only needed for a plan that was not built by build_plan in this process.
    ``progress`` is called from this (the applying) thread with an ApplyStep before and after
    each action (see _report).
    """
    journal = journal if journal is not None else Journal.for_store(store)
    run = uuid.uuid4().hex[:12]
    result = ApplyResult()
    actions = effective_actions(plan, decisions)
    if not actions:
        return result
    with _one_apply_at_a_time(store):
        # An unreadable journal (JournalError) stops us before any change; what finished
        # runs left in it is dropped.
        journal.compact()
        with store.transaction(source, expected_serial=plan.registry_serial) as txn:
            lineage_stored = bool(txn.lineage)
            # A registry's identity exists before anything is marked with it (a new
            # registry's lineage is written by the first recording, before any mark).
            lineage = txn.lineage or str(uuid.uuid4())
            records = {r.name: r for r in txn.records()}
        mark_live(run)
        try:
            actions = order_actions(actions, records)
            recorder = _Recorder(store, source, lineage, lineage_stored, journal, flush_interval)
            runner = _Runner(plan, records, components, journal, run, observations, recorder)
            total = len(actions)
            for index, action in enumerate(actions, 1):
                _report(progress, ApplyStep(index, total, action))
                outcome = runner.run(action)
                result.results.append(outcome)
                recorder.maybe_flush()
                _report(progress, ApplyStep(index, total, action, outcome))
            recorder.flush(final=True)
            try:
                journal.compact()  # the run's recorded entries' lines go (the rest stays open)
            except JournalError:
                pass  # compacted at the next start
        finally:
            mark_over(run)
    return result


@dataclass(frozen=True)
class ApplyStep:
    """What a progress listener hears: action ``index`` (from 1) of ``total`` is about to run
    (``result`` None) or has run (its ActionResult, final unless recording it fails later:
    the ApplyResult is the last word)."""

    index: int
    total: int
    action: Action
    result: ActionResult | None = None


def _report(progress: Callable[[ApplyStep], None] | None, step: ApplyStep) -> None:
    """Tell the listener, if any. A listener that fails (the screen that asked was closed)
    must never stop an apply halfway: its error is dropped."""
    if progress is None:
        return
    try:
        progress(step)
    except Exception:
        pass


@contextmanager
def _one_apply_at_a_time(store: Any) -> Iterator[None]:
    """Two applies of one registry never overlap (the registry lock no longer spans an
    apply): the second waits up to the store's lock timeout, then says who is applying."""
    path = Path(store.path)
    # Not "registry.json.apply": the store sweeps ".registry.json*" temp files (its own) under
    # the registry lock, and this lock's holder note is written under this lock only.
    marker = path.with_name(path.stem + "-apply")
    try:
        lock = RegistryLock(marker, float(getattr(store, "lock_timeout", 10.0)))
        lock.acquire()
    except LockTimeoutError:
        holder = read_holder(marker)
        who = holder.describe() if holder else "another process"
        raise LockTimeoutError(
            f"registry {path}: another apply is running ({who}); wait for it to finish, then plan again"
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class _Change:
    """One action's effect on one registry record: ``before`` (None: not in the registry)
    became ``after`` in the apply's working copy."""

    name: str
    component: str
    label: str                      # the history entry's action
    before: FunctionRecord | None
    after: FunctionRecord


@dataclass
class _Outcome:
    """What one action leaves to record: its registry changes and its journal entries."""

    action: Action
    result: ActionResult
    changes: list[_Change]
    entries: list[str]              # journal entry ids of component changes made


class _Recorder:
    """Writes the actions' outcomes into the registry in short transactions (batches), each
    applied to the record as it is now (see _rebase); clears their journal entries after."""

    def __init__(self, store: Any, source: str, lineage: str, lineage_stored: bool, journal: Journal,
                 interval: float) -> None:
        self.store = store
        self.source = source
        self.lineage = lineage
        self.lineage_stored = lineage_stored
        self.journal = journal
        self.interval = interval
        self.pending: list[_Outcome] = []
        self.refused: dict[str, str] = {}   # function -> why an earlier outcome of it was not recorded
        self.stopped = ""                   # set when the registry is not the one the run started on
        self._last = time.monotonic()
        self._cost = 0.0                    # how long the last flush took

    def add(self, outcome: _Outcome) -> None:
        if outcome.changes or outcome.entries:
            self.pending.append(outcome)

    def maybe_flush(self) -> None:
        if not self.pending:
            return
        if self.interval <= 0 or time.monotonic() - self._last >= max(self.interval, self._cost / FLUSH_SHARE):
            self.flush()

    def ensure_lineage(self) -> None:
        """Before a component is marked with the registry's identity: a registry created by
        this run gets it on disk first (with whatever is waiting to be recorded)."""
        if not self.lineage_stored and self.pending:
            self.flush()

    def flush(self, *, final: bool = False) -> None:
        if not self.pending:
            return
        batch = self.pending
        started = time.monotonic()
        refused: dict[str, str] = {}
        try:
            with self.store.transaction(self.source) as txn:
                if not txn.lineage:
                    txn.lineage = self.lineage
                elif txn.lineage != self.lineage:
                    raise StaleWriteError(
                        f"registry {self.store.path} was replaced during the apply (its identity is now"
                        f" {txn.lineage}, the apply started on {self.lineage})")
                errors = [self._record(txn, outcome, refused) for outcome in batch]
            wrote = txn.new_serial is not None
        except StaleWriteError as exc:
            self.stopped = f"{exc}; nothing more is applied or recorded: re-plan"
            self._fail(batch, self.stopped)
            return
        except Exception as exc:  # the lock, the disk: keep the batch for the next flush
            if final:
                self._fail(batch, f"not recorded in the registry: {type(exc).__name__}: {exc}")
            return
        finally:
            self._last = time.monotonic()
            self._cost = self._last - started
        self.pending = []
        self.lineage_stored = self.lineage_stored or wrote
        self.refused.update(refused)
        recorded: list[str] = []
        for outcome, error in zip(batch, errors):
            if error:
                _failed(outcome, error)
            else:
                recorded.extend(outcome.entries)
        try:
            self.journal.clear(recorded)
        except Exception:  # recorded all the same; the entries read as "never recorded": harmless
            pass

    def _fail(self, batch: list[_Outcome], why: str) -> None:
        """The batch could not be written: each action says so; its journal entries stay."""
        self.pending = []
        for outcome in batch:
            _failed(outcome, why)

    def _record(self, txn: Any, outcome: _Outcome, refused: dict[str, str]) -> str:
        """Put one action's changes on the current records; "" or why it was not recorded."""
        for change in outcome.changes:
            name = change.name
            earlier = self.refused.get(name) or refused.get(name)
            if earlier:
                return f"{CHANGED_MEANWHILE}: an earlier step of {name} was not recorded ({earlier})"
            fresh = txn.get(name)
            merged, clash = _rebase(change.before, change.after, fresh)
            if clash:
                what = ", ".join(_describe(p) for p in clash)
                made = (f"the {outcome.action.kind.value} on {outcome.action.component} was made but is not"
                        " recorded (the journal keeps it)" if outcome.entries else
                        f"the {outcome.action.kind.value} is not recorded")
                refused[name] = f"{name}'s {what} changed in the registry during the apply"
                return f"{CHANGED_MEANWHILE}: {refused[name]}; {made}"
            if merged is not None:
                txn.put(merged, action=change.label, component=change.component)
        return ""


def _failed(outcome: _Outcome, why: str) -> None:
    outcome.result.ok = False
    outcome.result.error = why


# --- recording an outcome on the record as it is now ------------------------------------------

_MISSING = object()
_NAME = ("spec", "name")
_SCALAR_BASE_FIELDS = ("runtime", "entry_point", "memory", "timeout", "code_digest")


def _paths(record: FunctionRecord | None) -> dict[tuple, Any]:
    """A record as path -> value, one path per independently changed part: each spec field,
    each env / labels key, each component's target, each component record."""
    if record is None:
        return {}
    out: dict[tuple, Any] = {}
    for key, value in record.spec.to_dict().items():
        if key in ("env", "labels", "targets"):
            for k, v in value.items():
                out[("spec", key, k)] = v
        else:
            out[("spec", key)] = value
    for name, component in record.components.items():
        out[("components", name)] = component.to_dict()
    return out


def _record_from(paths: dict[tuple, Any]) -> FunctionRecord:
    spec: dict[str, Any] = {"env": {}, "labels": {}, "targets": {}}
    components: dict[str, ComponentRecord] = {}
    for path, value in paths.items():
        if path[0] == "components":
            components[path[1]] = ComponentRecord.from_dict(value)
        elif len(path) == 3:
            spec[path[1]][path[2]] = value
        else:
            spec[path[1]] = value
    return FunctionRecord(spec=FunctionSpec.from_dict(spec), components=components)


def _base_paths(component: str, old: Any, new: Any) -> set[tuple]:
    """The spec paths a component record's base describes where it moved from ``old`` to
    ``new`` (component record dicts or _MISSING); ``("spec", "env", "*")``: all of env (the
    map appeared or went; labels alike)."""
    def flat(rec: Any) -> dict[tuple, Any]:
        base = rec.get("base") if isinstance(rec, dict) else None
        out: dict[tuple, Any] = {}
        for key, value in (base or {}).items():
            if key in ("env", "labels") and isinstance(value, dict):
                out.update({(key, k): v for k, v in value.items()})
                out[(key,)] = "dict"
            else:
                out[(key,)] = value
        return out

    before, after = flat(old), flat(new)
    moved: set[tuple] = set()
    for key in before.keys() | after.keys():
        if before.get(key, _MISSING) == after.get(key, _MISSING):
            continue
        if len(key) == 2:
            moved.add(("spec", key[0], key[1]))
        elif key[0] in ("env", "labels"):
            moved.add(("spec", key[0], "*"))   # the whole map appeared or went
        elif key[0] == "state" or (key[0] == "code_digest" and _is_image_code(before.get(key), after.get(key))):
            moved.add(("spec", "targets", component))   # (an image's code is its target's image)
        elif key[0] in _SCALAR_BASE_FIELDS:
            moved.add(("spec", key[0]))
    return moved


def _is_image_code(*values: Any) -> bool:
    return any(isinstance(v, str) and v.startswith(IMAGE_PREFIX) for v in values)


def _rebase(before: FunctionRecord | None, after: FunctionRecord,
            fresh: FunctionRecord | None) -> tuple[FunctionRecord | None, list[tuple]]:
    """One action turned ``before`` into ``after``; the registry now holds ``fresh``.

    Returns (the record to write, []) with the action's changes applied to ``fresh`` (None:
    nothing to write), or (None, the clashing paths) when someone else changed what the
    action changed, or a spec field that a base the action moved describes (recording that
    base would make their edit read as "already on the component" or hide the component's).
    """
    if fresh is None and before is None:
        return after, []
    if fresh is not None and before is not None and fresh.to_dict() == before.to_dict():
        return after, []   # nobody else wrote it: the usual case
    b, a, f = _paths(before), _paths(after), _paths(fresh)
    ours = [p for p in {**b, **a} if b.get(p, _MISSING) != a.get(p, _MISSING)]
    theirs = {p for p in {**b, **f} if b.get(p, _MISSING) != f.get(p, _MISSING)}
    clash = {p for p in ours if p in theirs and a.get(p, _MISSING) != f.get(p, _MISSING)}
    for p in ours:
        if p[0] == "components" and p in a:   # a base recorded (one dropped describes nothing)
            for q in _base_paths(p[1], b.get(p, _MISSING), a[p]):
                if q[-1] == "*":
                    clash.update(t for t in theirs if t[:2] == q[:2])
                elif q in theirs:
                    clash.add(q)
    if not clash and _NAME not in f and any(p != _NAME and a.get(p, _MISSING) is not _MISSING for p in ours):
        clash.add(_NAME)    # the entry itself went meanwhile
    if clash:
        return None, sorted(clash, key=lambda p: tuple(str(x) for x in p))
    merged = dict(f)
    for p in ours:
        value = a.get(p, _MISSING)
        if value is _MISSING:
            merged.pop(p, None)
        else:
            merged[p] = value
    if _NAME not in merged:
        return None, []   # the entry is gone and the action only removed things from it
    return _record_from(merged), []


def _describe(path: tuple) -> str:
    if path == _NAME:
        return "entry (removed or re-created)"
    if path[0] == "components":
        return f"{path[1]} record"
    return ".".join(str(p) for p in path[1:])


class _Runner:
    """Carries out one action at a time against the working records and the adapters; hands
    each outcome to the recorder."""

    def __init__(self, plan: Plan, records: dict[str, FunctionRecord], components: Mapping[str, Any],
                 journal: Journal, run: str, observations: Mapping[str, Any] | None,
                 recorder: _Recorder) -> None:
        self.plan = plan
        self.records = records                  # the working copies: the registry as this run makes it
        self.components = components
        self.journal = journal
        self.run_id = run
        self.observations = observations
        self.recorder = recorder
        self.lineage = recorder.lineage
        self.failed: set[str] = set()           # functions with a failed (or skipped) action
        self.failed_pulls: set[str] = set()     # functions whose registry-side step failed
        self._changes: list[_Change] = []
        self._entries: list[str] = []

    def run(self, action: Action) -> ActionResult:
        if self.recorder.stopped:
            self.failed.add(action.function)
            return ActionResult(action, ok=False, skipped=True, error=f"skipped: {self.recorder.stopped}")
        blocked = sorted(set(action.depends_on) & self.failed)
        if blocked:
            self.failed.add(action.function)
            return ActionResult(action, ok=False, skipped=True,
                                error=f"skipped: {', '.join(blocked)} (which it runs after) did not succeed")
        if action.function in self.failed_pulls and action.kind in COMPONENT_CHANGES:
            return ActionResult(action, ok=False, skipped=True,
                                error="skipped: the registry step it builds on failed")
        self._changes, self._entries = [], []
        try:
            getattr(self, f"_{action.kind.value}")(action)
        except Exception as exc:  # one failed action must not stop the others; it is reported
            self.failed.add(action.function)
            if action.kind not in COMPONENT_CHANGES:
                self.failed_pulls.add(action.function)
            # Nothing of a failed action is recorded; a change it made on the component stays
            # journaled (done: made, not recorded).
            for change in reversed(self._changes):
                if change.before is None:
                    self.records.pop(change.name, None)
                else:
                    self.records[change.name] = change.before
            message = str(exc) if isinstance(exc, ApplyError) else f"{type(exc).__name__}: {exc}"
            return ActionResult(action, ok=False, error=message or type(exc).__name__)
        result = ActionResult(action, ok=True)
        self.recorder.add(_Outcome(action, result, self._changes, self._entries))
        return result

    # --- helpers -------------------------------------------------------------------------------
    def _adapter(self, name: str) -> Any:
        adapter = self.components.get(name)
        if adapter is None:
            raise ApplyError(f"no adapter for {name}: it is not configured or not available")
        # Whatever the adapter creates or changes is marked with this registry's identity.
        adapter.registry_id = self.lineage
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
        """A copy of the working record to change (then _put it)."""
        record = self.records.get(name)
        if record is None:
            raise ApplyError(f"{name} is not in the registry (any more)")
        return copy.deepcopy(record)

    def _put(self, record: FunctionRecord, action: Action, label: str | None = None) -> None:
        name = record.spec.name
        self._changes.append(_Change(name, action.component, label or action.kind.value,
                                     self.records.get(name), record))
        self.records[name] = record

    def _journaled(self, action: Action, call, resource_id: str = "") -> Any:
        self.recorder.ensure_lineage()
        entry = self.journal.begin(action.function, action.component, action.kind.value,
                                   resource_id=resource_id, run=self.run_id)
        try:
            outcome = call()
        except Exception:
            self.journal.finish(entry, made=False)
            raise
        # BaseException (a crash, Ctrl-C) leaves the entry "started": reported at the next start.
        self.journal.finish(entry, made=True)
        self._entries.append(entry.id)
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
        self._put(record, action)

    def _update(self, action: Action) -> None:
        record = self._record(action.function)
        adapter = self._adapter(action.component)
        comp_record = record.components.get(action.component)
        resource_id = comp_record.resource_id if comp_record is not None else ""
        fields = list(action.fields) or list(FINGERPRINT_FIELDS)
        made = self._journaled(action, lambda: adapter.update(record.spec, fields), resource_id)
        self._set_base(record, action.component, made)
        self._put(record, action)

    def _delete(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"refusing to delete {action.function} on {action.component}: it has no ownership mark")
        adapter = self._adapter(action.component)
        self._journaled(action, lambda: adapter.delete(action.function, observed.resource_id), observed.resource_id)
        record = self.records.get(action.function)
        if record is not None and action.component in record.components:
            record = copy.deepcopy(record)
            del record.components[action.component]
            self._put(record, action)

    def _pull(self, action: Action) -> None:
        record = self._record(action.function)
        observed = self._observed(action)
        values = self._plain_values(action, observed)
        _copy_into_spec(record.spec, action.component, values, action.fields or list(FINGERPRINT_FIELDS))
        self._set_base(record, action.component, observed)
        self._put(record, action)

    def _adopt(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"{action.function} on {action.component} has no ownership mark: not adopted")
        values = self._plain_values(action, observed)
        existing = self.records.get(action.function)
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
        self._put(record, action)

    def _prune(self, action: Action) -> None:
        """Drop one component from the entry (its record, its base and its target); the
        function and its other components stay, even when this was its only place: removing a
        function from the registry is `functions-tui delete`, never a side effect of a sync."""
        record = self._record(action.function)
        record.components.pop(action.component, None)
        record.spec.targets.pop(action.component, None)
        self._put(record, action)

    def _claim(self, action: Action) -> None:
        observed = self._observed(action)
        if not observed.marked:
            raise ApplyError(f"{action.function} on {action.component} has no ownership mark: not claimed")
        adapter = self._adapter(action.component)
        made = self._journaled(action, lambda: adapter.claim(action.function, observed.resource_id),
                               observed.resource_id)
        record = self.records.get(action.function)
        if record is not None and action.component in record.components:
            record = copy.deepcopy(record)
            record.components[action.component].resource_id = made.resource_id or observed.resource_id
            self._put(record, action)

    def _rebase(self, action: Action) -> None:
        record = self._record(action.function)
        self._set_base(record, action.component, self._observed(action))
        self._put(record, action)

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
    into the spec. A value the component does not report leaves the spec's as it is.

    A target that runs a prebuilt image keeps its code there: a pulled ``code_digest`` is the
    image reference the component runs now, written to ``targets.<component>.image``; the
    image's runtime and entry point are no part of the shared spec."""
    image_target = bool(spec.image(component))
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
        elif image_target and head in ("runtime", "entry_point", "code_digest"):
            if head == "code_digest":
                spec.targets[component]["image"] = _pulled_image(spec.name, component, value)
        elif head in ("runtime", "entry_point", "code_digest"):
            setattr(spec, head, str(value or ""))


def _pulled_image(function: str, component: str, value: Any) -> str:
    """The image reference in a pulled code_digest of an image target; ApplyError when the
    component could not say which image runs (the registry's image is never replaced by a
    value that is not one)."""
    text = str(value or "")
    if not text.startswith(IMAGE_PREFIX) or len(text) == len(IMAGE_PREFIX):
        raise ApplyError(f"{function}: cannot take {component}'s code: it did not say which image runs "
                         f"({text or 'nothing'}); deploy the registry's image instead, or set "
                         f"targets.{component}.image in the declaration to the image you want")
    return text[len(IMAGE_PREFIX):]


def interrupted_operations(journal: Journal) -> list[str]:
    """One line per operation an earlier run left in flight (for the start-up report)."""
    return [entry.describe() for entry in journal.pending()]


def acknowledge_interrupted(journal: Journal, components: Iterable[str]) -> int:
    """Forget interrupted operations on ``components`` once a full sync has looked at them
    again (the sync's observation is the answer to "did it happen?")."""
    names = set(components)
    ids = [e.id for e in journal.pending() if e.component in names]
    return journal.acknowledge(ids) if ids else 0


def decided_components(plan: Plan, decisions: Iterable[Any]) -> set[str]:
    """The components an apply of ``plan`` with ``decisions`` may change (their adapters are needed)."""
    return {a.component for a in plan.actions if a.kind is not ActionKind.ASK} | {d.component for d in decisions}


