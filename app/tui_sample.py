"""A deterministic in-memory stand-in for SyncService, for screenshots, snapshots and the bench.

Same public API as app.service.SyncService, fixed data and fixed timestamps, no disk and no
network, so an SVG of the dashboard is identical on every run. Flow tests use the real
service against real backends instead; this is only for pictures and timings.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from functions_tui.registry.component import Detection, Observation
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec, HistoryEntry
from functions_tui.registry.plan_types import (Action, ActionKind, ActionResult, ApplyResult, FieldDiff, PairStatus,
                                 Plan, State)

#: The sample's components: the three default ones (one per kind), as a fresh install has.
SAMPLE_COMPONENTS = ("docker", "gcp", "aws")

FIXED_TIME = "2026-01-15T09:30:00+00:00"


class SampleReadOnlyError(RuntimeError):
    pass


@dataclass
class SampleService:
    """Holds records, states and plans in memory; ``observe_delay`` makes syncs take time."""

    records_by_name: dict[str, FunctionRecord] = field(default_factory=dict)
    states: dict[tuple[str, str], PairStatus] = field(default_factory=dict)
    detection_map: dict[str, Detection] = field(default_factory=dict)
    history_entries: list[HistoryEntry] = field(default_factory=list)
    observe_delay: float = 0.0
    read_only: bool = False
    busy_work: bool = False   # burn CPU while observing (the bench's "sync under load")
    calls: list[str] = field(default_factory=list)
    components: tuple[str, ...] = SAMPLE_COMPONENTS   # config.yaml's instances, in its order

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    # --- reading ----------------------------------------------------------------
    def component_names(self) -> list[str]:
        return list(self.components)

    def detections(self, refresh: bool = False) -> dict[str, Detection]:
        return dict(self.detection_map)

    def records(self) -> dict[str, FunctionRecord]:
        with self._lock:
            return dict(self.records_by_name)

    def find(self, name: str) -> FunctionRecord | None:
        return self.records().get(name)

    def matching_names(self, query: Any) -> frozenset[str]:
        """The same TinyDB query the real registry answers, on the sample's records."""
        return frozenset(name for name, record in self.records().items() if query(record.to_dict()))

    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        entries = [h for h in self.history_entries if name is None or h.function == name]
        return entries[-limit:] if limit else entries

    def last_observations(self) -> dict[str, Observation]:
        return {c: Observation(component=c, observed_at=FIXED_TIME)
                for c in self.components if self.detection_map.get(c, Detection(c, True)).available}

    def observe(self, components: Iterable[str] | None = None) -> dict[str, Observation]:
        self._wait()
        return {c: Observation(component=c, observed_at=FIXED_TIME) for c in (components or self.components)}

    def status(self, components: Iterable[str] | None = None, *, observe: bool = True,
               records: Any = None) -> list[PairStatus]:
        if observe:
            self._wait()
        comps = set(components or self.components)
        with self._lock:
            return [s for (f, c), s in sorted(self.states.items()) if c in comps]

    def _wait(self) -> None:
        if self.busy_work:
            end = time.perf_counter() + self.observe_delay
            while time.perf_counter() < end:
                sum(i * i for i in range(2000))
        elif self.observe_delay:
            time.sleep(self.observe_delay)

    # --- planning and applying ------------------------------------------------------
    def plan(self, components: Iterable[str] | None = None, *, sync: str | None = None,
             direction: str | None = None, policy: str | None = None, allow_empty: bool = False) -> Plan:
        self.calls.append(f"plan {','.join(components or [])}")
        statuses = self.status(components)
        unknown = {c: d.reason for c, d in self.detection_map.items()
                   if not d.available and (not components or c in components)}
        return Plan(statuses=statuses, actions=[a for s in statuses if (a := _action_for(s))],
                    unknown=unknown, registry_serial=len(self.history_entries))

    def apply(self, plan: Plan, decisions: Iterable[Any] = (), *, progress: Any = None) -> ApplyResult:
        """Every runnable action succeeds; ``progress`` hears each one as SyncService's does."""
        self._guard()
        results = []
        runnable = [a for a in plan.actions if a.kind is not ActionKind.ASK]
        step = None
        if progress is not None:
            from functions_tui.registry.apply import ApplyStep as step   # only when asked: a heavy import
        for index, action in enumerate(runnable, 1):
            if step is not None:
                progress(step(index, len(runnable), action))
            self._settle(action.function, action.component, "sync", action.kind.value)
            results.append(ActionResult(action, ok=True))
            if step is not None:
                progress(step(index, len(runnable), action, results[-1]))
        for decision in decisions:
            results.extend(self.resolve(decision).results)
        return ApplyResult(results)

    def resolve(self, decision: Any) -> ApplyResult:
        self._guard()
        action = Action(decision.function, decision.component, ActionKind.ASK, f"resolved: {decision.choice}")
        if decision.choice != "skip":
            self._settle(decision.function, decision.component, "user", f"resolve:{decision.choice}")
        return ApplyResult([ActionResult(action, ok=True, skipped=decision.choice == "skip")])

    def reveal(self, function: str, component: str, field: str) -> dict[str, Any]:
        """As SyncService.reveal: the clear values of a conflict's env keys (fixed sample data)."""
        from functions_tui.registry.masking import Revealed

        head, _, only = field.partition(".")
        if head != "env":
            raise ValueError(f"{field}: only env values are secret")
        self.calls.append(f"reveal {function}/{component}/{field}")   # the field, never a value
        return {k: Revealed(k, *values) for k, values in sorted(SAMPLE_ENV_VALUES.items())
                if not only or k == only}

    def _guard(self) -> None:
        if self.read_only:
            raise SampleReadOnlyError("registry opened read-only")

    def _settle(self, function: str, component: str, source: str, what: str) -> None:
        with self._lock:
            self.states[(function, component)] = PairStatus(function, component, State.IN_SYNC)
            self.history_entries.append(HistoryEntry(function, what, source, component=component,
                                                     at=FIXED_TIME, actor="sample@pid0"))


def _action_for(status: PairStatus) -> Action | None:
    kind = {
        State.DRIFTED: (ActionKind.PULL, "changed on the component since the last sync; component wins"),
        State.PENDING: (ActionKind.UPDATE, "registry changed since the last sync; push the registry's spec"),
        State.DIVERGED: (ActionKind.PULL, "changed on both sides, different fields: merge"),
        State.CONFLICT: (ActionKind.ASK, "changed on both sides since the last sync"),
        State.UNMANAGED: (ActionKind.ADOPT, "marked resource the registry does not know"),
    }.get(status.state)
    if status.state is State.MISSING:
        kind = ((ActionKind.PRUNE, "deleted out of band (ghost): drop the component record")
                if status.detail == "ghost" else (ActionKind.CREATE, "not deployed yet"))
    if kind is None:
        return None
    return Action(status.function, status.component, kind[0], kind[1], diffs=list(status.diffs),
                  fields=[d.field for d in status.diffs])


# --- the demo data set ---------------------------------------------------------------------------
_SAMPLE = [
    # name, runtime, memory, targets, {component: (state, detail)}
    ("auth-token", "python3.12", 256, ("docker", "aws"), {}),
    ("billing-export", "python3.11", 512, ("gcp", "aws"), {"aws": ("drifted", "")}),
    ("image-resize", "nodejs20", 1024, ("docker", "gcp", "aws"), {"docker": ("pending", "")}),
    ("invoice-pdf", "python3.12", 512, ("docker", "aws"), {"aws": ("conflict", "")}),
    ("mail-sender", "python3.11", 128, ("docker", "gcp"), {"docker": ("drifted", "")}),
    ("orders-api", "python3.12", 256, ("docker", "gcp", "aws"), {"gcp": ("conflict", "")}),
    ("payments-webhook", "nodejs20", 256, ("aws",), {"aws": ("missing", "ghost")}),
    ("report-nightly", "python3.12", 2048, ("gcp",), {"gcp": ("diverged", "")}),
    ("search-indexer", "go1.22", 512, ("docker", "gcp"), {"docker": ("missing", "not_deployed")}),
    ("slack-notify", "python3.11", 128, ("docker", "aws"), {}),
    ("thumbnailer", "nodejs20", 512, ("docker",), {}),
    ("user-sync", "python3.12", 256, ("gcp", "aws"), {"aws": ("pending", "")}),
]


#: The clear env values behind a sample conflict's masked env diffs: key -> (base, registry,
#: component); None is "not set there". Only SampleService.reveal hands them out.
SAMPLE_ENV_VALUES = {
    "API_KEY": ("sk-live-0ld", "sk-live-0ld", "sk-live-r0tated"),
    "DB_URL": ("postgres://db-a/orders", "postgres://db-b/orders", None),
    "LOG_LEVEL": ("info", "debug", "info"),
}


def _diffs(name: str, component: str, state: str) -> list[FieldDiff]:
    if state == "conflict":
        return [
            FieldDiff("memory", base=256, registry=512, component=1024, side="conflict"),
            # env as the engine gives it: one diff per variable, values already masked
            # (registry.masking's words); their clear values come only from reveal()
            FieldDiff("env.API_KEY", base="set", registry="set", component="•••• (changed)", secret=True,
                      side="component"),
            FieldDiff("env.DB_URL", base="set", registry="•••• (changed)", component="unset", secret=True,
                      side="conflict"),
            FieldDiff("env.LOG_LEVEL", base="set", registry="•••• (changed)", component="set", secret=True,
                      side="registry"),
            FieldDiff("timeout", base=60, registry=60, component=120, side="component"),
        ]
    if state == "drifted":
        return [FieldDiff("memory", base=256, registry=256, component=512, side="component")]
    if state == "pending":
        return [FieldDiff("runtime", base="python3.11", registry="python3.12", component="python3.11",
                          side="registry")]
    if state == "diverged":
        return [FieldDiff("memory", base=1024, registry=2048, component=1024, side="registry"),
                FieldDiff("timeout", base=60, registry=60, component=300, side="component")]
    return []


def sample_service(*, read_only: bool = False, observe_delay: float = 0.0) -> SampleService:
    """Twelve functions over three components with every state represented; gcp unavailable."""
    svc = SampleService(read_only=read_only, observe_delay=observe_delay)
    svc.detection_map = {
        "docker": Detection("docker", True, version="27.5.1"),
        "gcp": Detection("gcp", True, version="2"),
        "aws": Detection("aws", True, version="1.35"),
    }
    for name, runtime, memory, targets, states in _SAMPLE:
        spec = FunctionSpec(name=name, runtime=runtime, memory=memory, source=f"functions/{name}",
                            env={"LOG_LEVEL": "info", "API_KEY": "s3cr3t"},
                            labels={"team": "platform"},
                            targets={t: {} for t in targets}, code_digest="sha256:4f2a9c")
        svc.records_by_name[name] = FunctionRecord(
            spec, {t: ComponentRecord(t, base={}, resource_id=f"{t}:{name}", last_sync=FIXED_TIME)
                   for t in targets})
        for comp in targets:
            state, detail = states.get(comp, ("in_sync", ""))
            svc.states[(name, comp)] = PairStatus(name, comp, State(state), detail, _diffs(name, comp, state))
        svc.history_entries.append(HistoryEntry(name, "create", "import", after={"memory": memory},
                                                at="2026-01-10T08:00:00+00:00", actor="dev@pid4242"))
    svc.states[("legacy-cron", "docker")] = PairStatus("legacy-cron", "docker", State.UNMANAGED,
                                                        "marked, not in registry")
    svc.states[("partner-etl", "aws")] = PairStatus("partner-etl", "aws", State.FOREIGN,
                                                     "7e4a3b2c-0000-4000-8000-5a4db0c5f00d")
    svc.history_entries.append(HistoryEntry("orders-api", "pull", "sync", before={"memory": 256},
                                            after={"memory": 512}, component="gcp",
                                            at="2026-01-14T17:05:00+00:00", actor="dev@pid4242"))
    return svc


def sample_service_unavailable_gcp(**kw: Any) -> SampleService:
    svc = sample_service(**kw)
    svc.detection_map["gcp"] = Detection("gcp", False, reason="no credentials: GOOGLE_CLOUD_PROJECT unset",
                                         fix="gcloud auth application-default login")
    for key in [k for k in svc.states if k[1] == "gcp"]:
        del svc.states[key]
    return svc


#: Twelve instances as a config.yaml might name them (kind of each); the first six are the
#: example of config.yaml's comment: two AWS accounts, two GCP projects, two Docker hosts.
SAMPLE_INSTANCES = (("aws-prod", "aws"), ("aws-dev", "aws"), ("gcp", "gcp"), ("gcp-eu", "gcp"),
                    ("docker", "docker"), ("laptop", "docker"), ("aws-eu", "aws"), ("aws-staging", "aws"),
                    ("gcp-asia", "gcp"), ("gcp-dev", "gcp"), ("ci-runner", "docker"), ("edge", "docker"))


def many_instances_service(count: int = 6, **kw: Any) -> SampleService:
    """The sample's functions over the first ``count`` of SAMPLE_INSTANCES: a function
    targeting a kind targets its first instance and every other one after it; the first
    instance of each kind has the sample's states, the others are in sync but for a few
    drifts, and "laptop" (a Docker host that is switched off) is unavailable."""
    instances = SAMPLE_INSTANCES[:count]
    svc = SampleService(components=tuple(name for name, _ in instances), **kw)
    svc.detection_map = {name: Detection(name, True, version="1") for name, _ in instances}
    for index, (name, runtime, memory, kinds, states) in enumerate(_SAMPLE):
        targets = [inst for place, (inst, kind) in enumerate(instances) if kind in kinds
                   and (place == next(i for i, (_, k) in enumerate(instances) if k == kind) or (index + place) % 2)]
        spec = FunctionSpec(name=name, runtime=runtime, memory=memory, source=f"functions/{name}",
                            targets={t: {} for t in targets}, code_digest="sha256:4f2a9c")
        svc.records_by_name[name] = FunctionRecord(
            spec, {t: ComponentRecord(t, base={}, resource_id=f"{t}:{name}", last_sync=FIXED_TIME) for t in targets})
        for place, (inst, kind) in enumerate(instances):
            if inst not in targets:
                continue
            first = inst == next(i for i, k in instances if k == kind)
            state, detail = states.get(kind, ("in_sync", "")) if first else \
                (("drifted", "") if (index * 7 + place) % 9 == 0 else ("in_sync", ""))
            svc.states[(name, inst)] = PairStatus(name, inst, State(state), detail, _diffs(name, inst, state))
    if "laptop" in svc.detection_map:
        svc.detection_map["laptop"] = Detection("laptop", False, reason="ssh://laptop.local: host unreachable")
        for key in [k for k in svc.states if k[1] == "laptop"]:
            del svc.states[key]
    return svc


def big_sample_service(n: int = 10_000, **kw: Any) -> SampleService:
    """``n`` functions on all three components, one in twenty drifted: the 10k bench."""
    svc = SampleService(**kw)
    svc.detection_map = {c: Detection(c, True, version="1") for c in SAMPLE_COMPONENTS}
    for i in range(n):
        name = f"fn-{i:05d}"
        spec = FunctionSpec(name=name, runtime="python3.12", targets={c: {} for c in SAMPLE_COMPONENTS})
        svc.records_by_name[name] = FunctionRecord(spec, {c: ComponentRecord(c, base={}) for c in SAMPLE_COMPONENTS})
        for comp in SAMPLE_COMPONENTS:
            state = State.DRIFTED if (i + len(comp)) % 20 == 0 else State.IN_SYNC
            svc.states[(name, comp)] = PairStatus(name, comp, state)
    return svc


# --- the screens, as scenarios: snapshot tests and scripts/screenshots share them ------------------
def fixed_clock():
    """Always 09:30:00 UTC on 2026-01-15: pictures with no changing timestamps."""
    from datetime import datetime, timezone

    return datetime(2026, 1, 15, 9, 30, 0, tzinfo=timezone.utc)


async def settle(pilot: Any) -> None:
    """Wait until no worker runs and every message is handled."""
    app = pilot.app
    for _ in range(200):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers) and getattr(app, "loaded", True):
            return


async def loaded_and_synced(pilot: Any) -> None:
    """The dashboard after its first load and one sync of every job, run one after the other
    (so the activity log's order is the same on every run)."""
    app = pilot.app
    await settle(pilot)
    for job in app.jobs:
        app.start_sync(job)
        await settle(pilot)


def _then(*keys: str, before: Any = None):
    async def run(pilot: Any) -> None:
        await loaded_and_synced(pilot)
        if before is not None:
            before(pilot.app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
    return run


def _focus_registry_on(name: str):
    def move(app: Any) -> None:
        app.dashboard.registry_panel.function_list.move_to(name)
    return move


#: name -> (service factory, terminal size, run_before). The dashboard at 80x24 shows a
#: component that is unavailable, with its reason.
#:
#: The snapshot tests (tests/snapshots) stay on this sample service on purpose: an SVG must be
#: byte-identical on every run, and the real engine over the sandbox stamps its own times,
#: resource ids and the Docker version into what it shows. The README's pictures do come from
#: the real engine (scripts/screenshots, same screen names); ``scripts/screenshots --sample``
#: draws these instead.
SCENARIOS = {
    "dashboard": (sample_service, (120, 40), loaded_and_synced),
    "dashboard-80x24": (sample_service_unavailable_gcp, (80, 24), loaded_and_synced),
    # config.yaml naming 6 or 12 instances (screens/panel_grid.py arranges their panels)
    "instances-6": (lambda: many_instances_service(6), (140, 40), loaded_and_synced),
    "instances-6-80x24": (lambda: many_instances_service(6), (80, 24), loaded_and_synced),
    "instances-12": (lambda: many_instances_service(12), (140, 40), loaded_and_synced),
    "instances-12-80x24": (lambda: many_instances_service(12), (80, 24), loaded_and_synced),
    # tab six times: the focus on the sixth instance (laptop, unavailable), expanded among the lines
    "instances-12-80x24-tab": (lambda: many_instances_service(12), (80, 24), _then(*["tab"] * 6)),
    "plan": (sample_service, (120, 40), _then("p")),
    "conflict": (sample_service, (120, 40), _then("c", "down", "2")),
    "detail": (sample_service, (120, 40), _then("enter", before=_focus_registry_on("orders-api"))),
    "help": (sample_service, (120, 40), _then("question_mark")),
}


def scenario_app(name: str) -> Any:
    """The app for one scenario (fixed data, fixed clock, no timers firing)."""
    from functions_tui.app.tui import FunctionsApp

    factory, _, _ = SCENARIOS[name]
    return FunctionsApp(factory(), clock=fixed_clock, autosync=False)
