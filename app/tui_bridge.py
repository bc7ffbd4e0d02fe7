"""The TUI's side of the SyncService: what it calls from worker threads, and the view model.

Everything here runs in a thread worker (never on the event loop), calls only the public
SyncService API, and returns plain data the widgets render. The UI never computes drift:
states come from the engine's PairStatus; this module only groups and counts them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from functions_tui.registry.kinds import component_names as known_components
from functions_tui.registry.models import FunctionRecord
from functions_tui.registry.plan_types import Action, ActionKind, PairStatus, Plan, State
from functions_tui.screens.conflict_screen import ConflictItem
from functions_tui.screens.function_list import Row
from functions_tui.screens.states import GLYPHS, SEVERITY

Clock = Callable[[], datetime]

#: Short forms of the engine's details, for narrow panels.
DETAIL_LABELS = {"not_deployed": "not deployed", "ghost": "ghost"}

#: Default seconds between two background syncs of one component when no named sync says.
DEFAULT_INTERVAL_S = 60.0


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


# --- named syncs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncJob:
    """One background sync: which components, how often, and the service's sync name."""

    name: str
    components: tuple[str, ...]
    interval: float = DEFAULT_INTERVAL_S
    sync: str | None = None   # the named sync passed to service.plan(sync=...), if any
    after: tuple[str, ...] = ()   # jobs that must finish (successfully) before this one runs


def sync_jobs(service: Any) -> list[SyncJob]:
    """The named syncs the service knows, else one job per component.

    The service may expose ``syncs()`` returning objects or dicts with name / components /
    interval; anything it cannot describe falls back to one job per component.
    """
    jobs: list[SyncJob] = []
    getter = getattr(service, "syncs", None)
    if not callable(getter) and hasattr(service, "config"):
        getter = lambda: service.config.syncs  # noqa: E731 - SyncService keeps them in its config
    if callable(getter):
        try:
            for item in getter() or ():
                get = item.get if isinstance(item, dict) else (lambda k, d=None, o=item: getattr(o, k, d))
                comps = tuple(get("components", ()) or ())
                name = str(get("name", ""))
                if not name or not comps:
                    continue
                interval = float(get("interval", None) or get("interval_s", None) or DEFAULT_INTERVAL_S)
                jobs.append(SyncJob(name=name, components=comps, interval=interval, sync=name,
                                    after=tuple(get("after", ()) or ())))
        except Exception:  # a broken sync config must not stop the dashboard
            jobs = []
    if jobs:
        return jobs
    return [SyncJob(name=c, components=(c,)) for c in component_names(service)]


def component_names(service: Any) -> list[str]:
    """The service's components; before there is a service (the sandbox's app, on screen while
    its backends start), the default ones: one per kind."""
    try:
        names = list(service.component_names())
    except Exception:
        names = []
    if names:
        return names
    from functions_tui.components import load_kinds

    load_kinds()
    return list(known_components())


# --- the view model ------------------------------------------------------------------------
@dataclass
class DashboardData:
    """What the dashboard shows: registry, availability, the latest state of every pair."""

    components: list[str]
    records: Mapping[str, FunctionRecord] = field(default_factory=dict)   # read-only, shared
    detections: dict[str, Any] = field(default_factory=dict)
    statuses: dict[tuple[str, str], PairStatus] = field(default_factory=dict)
    last_sync: dict[str, str] = field(default_factory=dict)       # component -> ISO time
    # component -> how many functions there carry no functions-tui mark (`import` brings them in)
    unmarked: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)         # component -> reason
    plans: dict[str, Plan] = field(default_factory=dict)          # sync job -> latest plan
    interrupted: list[str] = field(default_factory=list)          # journaled ops never cleared
    # function -> components it targets or has a record for, when the service could say without
    # building every record (load_dashboard); None: read them from ``records``
    concerns: dict[str, frozenset[str]] | None = None

    # -- merging results in ------------------------------------------------------------
    def merge_plan(self, components: Iterable[str], plan: Plan, when: str) -> None:
        """Replace the states of ``components`` with those of a fresh plan."""
        comps = set(components)
        self.statuses = {k: v for k, v in self.statuses.items() if k[1] not in comps}
        for status in plan.statuses:
            self.statuses[(status.function, status.component)] = status
        for comp in comps:
            if comp in plan.unknown:
                self.unknown[comp] = plan.unknown[comp]
            else:
                self.unknown.pop(comp, None)
            self.last_sync[comp] = when
            observed = getattr(plan, "observed", {}).get(comp)
            if observed is not None and getattr(observed, "complete", False):
                self.unmarked[comp] = len(observed.unmarked)
            else:   # not read, or read in part: a count would be a guess
                self.unmarked.pop(comp, None)

    # -- rows ------------------------------------------------------------------------
    def state_of(self, function: str, component: str) -> tuple[str, str]:
        status = self.statuses.get((function, component))
        if status is not None:
            return _state_value(status.state), status.detail
        if self.concerns is not None:
            if function in self.concerns and component not in self.concerns[function]:
                return "none", ""
        else:
            record = self.records.get(function)
            if record is not None and component not in record.spec.targets and component not in record.components:
                return "none", ""
        if component in self.unknown:
            return "unknown", self.unknown[component]
        return "unknown", "not synced yet"

    def component_functions(self, component: str) -> list[str]:
        if self.concerns is not None:
            names = {name for name, comps in self.concerns.items() if component in comps}
        else:
            names = {name for name, rec in self.records.items()
                     if component in rec.spec.targets or component in rec.components}
        names.update(f for (f, c) in self.statuses if c == component)
        return sorted(names)

    def component_rows(self, component: str) -> list[Row]:
        rows = []
        statuses = self.statuses
        # A pair with no status yet (every pair at start, before the first sync) is "unknown"
        # with the same detail for the whole component: its row parts are made once, not 10k times.
        unsynced = None
        made: dict[tuple[str, str], tuple[str, tuple, str]] = {}
        for name in self.component_functions(component):
            status = statuses.get((name, component))
            if status is None:
                if unsynced is None:
                    unsynced = self._row_parts(component, *self.state_of(name, component))
                state, badges, search = unsynced
                if state == "none":
                    continue
                rows.append(Row(name, GLYPHS[state] + " " + name, badges, state, search))
                continue
            state, detail = _state_value(status.state), status.detail
            if state == "none":
                continue
            label = GLYPHS[state] + " " + name
            if state == "in_sync":   # the common case, kept cheap (10k rows per panel)
                rows.append(Row(name, label, (), state))
                continue
            # a few (state, detail) pairs repeat over thousands of rows: their parts made once
            parts = made.get((state, detail))
            if parts is None:
                parts = made[(state, detail)] = self._row_parts(component, state, detail)
            rows.append(Row(name, label, parts[1], state, parts[2]))
        return rows

    def _row_parts(self, component: str, state: str, detail: str) -> tuple[str, tuple, str]:
        """(state, badges, search text) of a component panel's row in ``state`` with ``detail``."""
        if state == "in_sync":
            return state, (), ""
        # the glyph and colour say the state; a badge only where there is more to say
        if state == "unknown" and detail == self.unknown.get(component):
            badge = ""   # the panel's status line already gives the reason
        elif state in ("missing", "unknown") and detail:
            badge = DETAIL_LABELS.get(detail, detail)
        else:
            badge = "" if state == "in_sync" else state
        return state, ((badge.replace("_", " "), state),) if badge else (), detail.lower()

    def registry_rows(self) -> list[Row]:
        """One row per function, a badge per component (the hot loop of a 10k first paint)."""
        comps = self.components
        # each badge is as wide as its component's name, under the panel's column header
        badge_for = [{s: (f"{GLYPHS[s]:^{len(c)}}", s) for s in GLYPHS} for c in comps]
        statuses, records, concerns = self.statuses, self.records, self.concerns
        rows = []
        for name in sorted(records):
            if concerns is not None:
                spec_targets = comp_records = concerns[name]
            else:
                spec_targets = records[name].spec.targets
                comp_records = records[name].components
            badges = []
            worst_state, worst_rank = "none", -1
            for i, comp in enumerate(comps):
                status = statuses.get((name, comp))
                if status is not None:
                    state = _VALUES.get(status.state) or str(status.state)
                elif comp not in spec_targets and comp not in comp_records:
                    state = "none"
                else:
                    state = "unknown"
                badges.append(badge_for[i][state])
                rank = SEVERITY[state]
                if rank > worst_rank:
                    worst_state, worst_rank = state, rank
            rows.append(Row(name, name, tuple(badges), worst_state))
        return rows

    def counts(self, component: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in self.component_functions(component):
            state, _ = self.state_of(name, component)
            if state != "none":
                counts[state] = counts.get(state, 0) + 1
        return counts

    # -- conflicts -----------------------------------------------------------------
    def conflicts(self) -> list["ConflictItem"]:
        """Pairs a person must decide: ASK actions of the latest plans, else CONFLICT states."""
        items: dict[tuple[str, str], ConflictItem] = {}
        for plan in self.plans.values():
            for action in plan.actions:
                if action.kind is ActionKind.ASK:
                    items[(action.function, action.component)] = ConflictItem(
                        action.function, action.component, list(action.diffs), action.reason)
        for key, status in self.statuses.items():
            if _state_value(status.state) == "conflict" and key not in items:
                items[key] = ConflictItem(status.function, status.component, list(status.diffs),
                                          status.detail or "changed on both sides")
        return [items[k] for k in sorted(items)]


_VALUES = {s: s.value for s in State}


def _state_value(state: Any) -> str:
    return _VALUES.get(state) or str(state)


# --- calls made from worker threads --------------------------------------------------------
def load_dashboard(service: Any, clock: Clock = system_clock) -> DashboardData:
    """The first read: registry, detections (cached when possible), last known states."""
    data = DashboardData(components=component_names(service))
    # records built on demand: the rows need only each function's components (~0.06 s saved)
    data.records, data.concerns = _registry_view(service)
    try:
        data.detections = dict(service.detections(refresh=False))
    except Exception as exc:
        data.detections = {}
        data.unknown = {c: f"detection failed: {exc}" for c in data.components}
    for comp, det in data.detections.items():
        if not getattr(det, "available", True):
            data.unknown[comp] = getattr(det, "reason", "") or "unavailable"
    try:
        observations = service.last_observations() or {}
    except Exception:
        observations = {}
    # Nothing observed yet in this process (the usual start): every pair would classify as
    # unknown, so skip the 30k-pair classification and show "not synced yet" until a sync.
    if observations:
        try:
            try:
                statuses = service.status(observe=False, records=data.records)
            except TypeError:   # a service without the records= shortcut
                statuses = service.status(observe=False)
            for status in statuses:
                data.statuses[(status.function, status.component)] = status
        except Exception:
            pass
    for comp, obs in observations.items():
        if getattr(obs, "observed_at", ""):
            data.last_sync[comp] = obs.observed_at
        if getattr(obs, "complete", False):
            data.unmarked[comp] = len(getattr(obs, "unmarked", ()))
    try:
        # cloud changes journaled by an earlier run that never finished: reported at start
        data.interrupted = [str(op) for op in (getattr(service, "interrupted", lambda: [])() or [])]
    except Exception:
        pass
    return data


@dataclass
class SyncOutcome:
    job: SyncJob
    plan: Plan
    records: Mapping[str, FunctionRecord]
    detections: dict[str, Any]
    finished_at: str
    duration_s: float
    # function -> components it targets or has a record for (as DashboardData.concerns); None:
    # the service cannot say without building records
    concerns: dict[str, frozenset[str]] | None = None
    skipped: tuple[str, ...] = ()   # components not planned: unavailable (plan.unknown says why)


def run_sync(service: Any, job: SyncJob, clock: Clock = system_clock, requested: bool = True) -> SyncOutcome:
    """Observe the job's components and plan (changes nothing): the background sync.

    An unavailable component is detected again first when the user asked for this sync
    (``requested``), or when the registry has functions on it; an automatic sync of a component
    the registry does not use leaves it as detected (what ``--sync`` does too: detecting it
    imports its SDK, for nothing to show). A component still unavailable is not planned at all
    (its functions show "unknown" with the reason): planning it would read and classify the
    whole registry for nothing. The records handed back are the ones the plan read (the
    service shares one mapping per registry file version), never a second build of them."""
    started = time.perf_counter()
    redetect = list(job.components)
    if not requested:
        _, used = _registry_view(service)
        if used is not None:
            redetect = [c for c in redetect if any(c in comps for comps in used.values())]
    _redetect_unavailable(service, redetect)
    try:
        detections = dict(service.detections(refresh=False))
    except Exception:
        detections = {}
    skipped = tuple(c for c in job.components if not getattr(detections.get(c), "available", True))
    planned = [c for c in job.components if c not in skipped]
    named = {"sync": job.sync} if job.sync is not None else {}
    if not planned:
        plan = Plan()
    elif _plans_from_observations(service):
        # The listing first, then the registry read and the plan, one after the other: the plan
        # overlaps them (the CLI's wall time), but here every CPU-bound thread at once is one
        # more the event loop queues behind for the GIL (cursor p95 ~33 ms -> ~23 ms at 10k).
        plan = service.plan(planned, observations=service.observe(planned), **named)
    else:
        plan = service.plan(planned, **named)
    for comp in skipped:
        det = detections[comp]
        fix = getattr(det, "fix", "")
        plan.unknown[comp] = f"{comp} is unavailable: {getattr(det, 'reason', '') or 'not detected'}" + (
            f"; fix: {fix}" if fix else "")
    records, concerns = _registry_view(service)
    finished = clock().replace(microsecond=0).isoformat()
    return SyncOutcome(job, plan, records, detections, finished, time.perf_counter() - started,
                       concerns=concerns, skipped=skipped)


def _plans_from_observations(service: Any) -> bool:
    """Whether ``service.plan`` takes observations made before it (SyncService does; the
    sample service and tests' stand-ins plan from their own): asked of the method itself,
    so this module needs no service class."""
    import inspect

    try:
        return "observations" in inspect.signature(service.plan).parameters and callable(
            getattr(service, "observe", None))
    except (TypeError, ValueError):
        return False


def _registry_view(service: Any) -> tuple[Mapping[str, FunctionRecord], dict[str, frozenset[str]] | None]:
    """The registry as the dashboard holds it: the service's lazy record mapping and each
    function's components (no record built), else every record (a service without them)."""
    record_map = getattr(service, "record_map", None)
    targeted = getattr(service, "targeted_components", None)
    if callable(record_map) and callable(targeted):
        records = record_map()
        return records, targeted(records)
    return dict(service.records()), None


def _redetect_unavailable(service: Any, components: Iterable[str]) -> None:
    """A component that was unavailable is detected again before it is synced: it may have
    come back (a daemon started, credentials fixed), and a cached "unavailable" would hide it
    for good."""
    redetect = getattr(service, "redetect_unavailable", None)  # SyncService's (the sample has none)
    if callable(redetect):
        redetect(components)


def compute_plan(service: Any, components: list[str] | None) -> Plan:
    return service.plan(components) if components else service.plan()


def apply_plan(service: Any, plan: Plan, progress: Callable[[Any], None] | None = None) -> Any:
    """Apply ``plan`` (e.g. only the rows a person chose); ``progress`` hears each action (see
    SyncService.apply) and is passed only when given, so a service without it still works."""
    return service.apply(plan) if progress is None else service.apply(plan, progress=progress)


def action_summary(action: Action) -> str:
    kind = action.kind.value if isinstance(action.kind, ActionKind) else str(action.kind)
    return f"{kind} {action.function} on {action.component}"


@dataclass
class DashboardView:
    """Rows and counts for every panel, built off the event loop (10k rows take a while)."""

    rows: dict[str, list[Row]]          # "registry" or component -> rows
    counts: dict[str, dict[str, int]]


def build_view(data: DashboardData, previous: "tuple[DashboardData, DashboardView] | None" = None,
               changed: Iterable[str] | None = None) -> DashboardView:
    """Rows and counts of every panel. With ``previous`` (the data and view shown until now)
    and ``changed`` (the components one sync just merged), a component panel whose inputs are
    the same (same registry read, its states untouched, same unknown reason) keeps its rows:
    a per-component job rebuilds its own panel and the registry's, not all four."""
    reusable: set[str] = set()
    if previous is not None and changed is not None:
        old_data, old_view = previous
        if old_data.records is data.records and old_data.concerns is data.concerns:
            changed = set(changed)
            reusable = {c for c in data.components if c in old_view.rows
                        and old_data.unknown.get(c) == data.unknown.get(c)}
            # a changed component keeps its rows only when it had no states before or after
            # (a job that skipped an unavailable component again: nothing to redraw at all)
            if reusable & changed:
                stated = {c for (_, c) in old_data.statuses} | {c for (_, c) in data.statuses}
                reusable -= changed & stated
    if previous is not None and "registry" in previous[1].rows and set(data.components) <= reusable:
        rows = {"registry": previous[1].rows["registry"]}
        counts = {"registry": previous[1].counts["registry"]}
    else:
        rows = {"registry": data.registry_rows()}
        counts = {"registry": _count(rows["registry"])}
    for comp in data.components:
        if comp in reusable:
            rows[comp], counts[comp] = previous[1].rows[comp], previous[1].counts[comp]
            continue
        rows[comp] = data.component_rows(comp)
        counts[comp] = _count(rows[comp])
    return DashboardView(rows, counts)


def _count(rows: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    counts.pop("none", None)
    return counts


def merged_copy(data: DashboardData, outcome: "SyncOutcome") -> DashboardData:
    """A new DashboardData with one sync's results in (the old one stays valid for readers).

    Shares what did not change instead of copying it: the registry mapping (read-only) and,
    when the registry is the same read, each function's components. The plan kept per job is
    reduced to what ``conflicts()`` reads (its questions): its statuses are already merged in,
    and a 50k plan's other actions would be a second copy of the registry in memory."""
    if outcome.concerns is not None:
        concerns = outcome.concerns
    elif outcome.records is data.records:
        concerns = data.concerns
    else:
        concerns = None
    kept = Plan(actions=[a for a in outcome.plan.actions if a.kind is ActionKind.ASK],
                unknown=dict(outcome.plan.unknown), warnings=list(outcome.plan.warnings),
                registry_serial=outcome.plan.registry_serial)
    new = DashboardData(components=list(data.components), records=outcome.records,
                        detections={**data.detections, **outcome.detections},
                        statuses=dict(data.statuses), last_sync=dict(data.last_sync),
                        unmarked=dict(data.unmarked), unknown=dict(data.unknown), plans={**data.plans, outcome.job.name: kept},
                        interrupted=list(data.interrupted), concerns=concerns)
    new.merge_plan(outcome.job.components, outcome.plan, outcome.finished_at)
    for comp, det in new.detections.items():
        if not getattr(det, "available", True):
            new.unknown[comp] = getattr(det, "reason", "") or "unavailable"
    return new
