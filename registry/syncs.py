"""Named syncs: the seeds' sync primitive. A sync is a job with its own components, direction,
policy, interval and ``after`` (syncs that must succeed before it runs); several run
independently. This module is the engine's side of them: the job, its order, when it is due,
running a batch so a failed sync skips the syncs after it, and building a job's plan.
The config file's shape and its parsing live in app/config.py; ``SyncJob.from_config``
accepts its SyncConfig (or any object or dict with the same names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from registry.component import Observation
from registry.models import COMPONENTS, FunctionRecord
from registry.ordering import topological_order
from registry.plan import DEFAULT_POLICIES, build_plan
from registry.plan_types import Direction, Plan, Policy


class SyncError(ValueError):
    """A sync definition that cannot run: the message names the sync and the fix."""


@dataclass
class SyncJob:
    name: str
    components: list[str]
    direction: Direction = Direction.TWO_WAY
    policy: Policy | None = None           # None: each component's configured policy
    interval_s: float = 0.0                # 0: only on demand
    after: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.name:
            raise SyncError("a sync needs a name")
        if not self.components:
            raise SyncError(f"sync {self.name!r} needs at least one component")
        unknown = [c for c in self.components if c not in COMPONENTS]
        if unknown:
            raise SyncError(f"sync {self.name!r}: unknown component {', '.join(unknown)}"
                            f" (known: {', '.join(COMPONENTS)})")
        try:
            self.direction = Direction(self.direction)
            self.policy = Policy(self.policy) if self.policy else None
        except ValueError as exc:
            raise SyncError(f"sync {self.name!r}: {exc}") from exc
        if self.interval_s < 0:
            raise SyncError(f"sync {self.name!r}: interval must be 0 (on demand) or more seconds")
        self.components = list(self.components)
        self.after = list(self.after)

    @classmethod
    def from_config(cls, item: Any) -> "SyncJob":
        """From app.config.SyncConfig, a dict, or anything with those attribute names
        (``interval`` or ``interval_s``)."""
        get = item.get if isinstance(item, Mapping) else (lambda k, d=None: getattr(item, k, d))
        interval = get("interval_s", None)
        if interval is None:
            interval = get("interval", 0)
        return cls(name=str(get("name", "")), components=list(get("components", []) or []),
                   direction=get("direction", None) or Direction.TWO_WAY, policy=get("policy", None),
                   interval_s=float(interval or 0), after=list(get("after", []) or []))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "components": list(self.components), "direction": self.direction.value,
                "policy": self.policy.value if self.policy else None, "interval_s": self.interval_s,
                "after": list(self.after)}

    def policies(self, component_policies: Mapping[str, Policy | str] | None = None) -> dict[str, Policy]:
        """The policy per component for this sync: its own, else the component's configured one."""
        configured = component_policies or {}
        return {c: self.policy or Policy(configured.get(c, DEFAULT_POLICIES.get(c, Policy.ASK)))
                for c in self.components}

    def is_due(self, last_run: float | None, now: float) -> bool:
        if self.interval_s <= 0:
            return False
        return last_run is None or now - last_run >= self.interval_s


def sync_order(jobs: Iterable[SyncJob]) -> list[SyncJob]:
    """Jobs in an order where each runs after the syncs it names; a cycle is a CycleError
    naming it; an ``after`` naming no sync is a SyncError."""
    jobs = list(jobs)
    by_name: dict[str, SyncJob] = {}
    for job in jobs:
        if job.name in by_name:
            raise SyncError(f"sync {job.name!r} is defined twice")
        by_name[job.name] = job
    for job in jobs:
        missing = [d for d in job.after if d not in by_name]
        if missing:
            raise SyncError(f"sync {job.name!r} runs after {', '.join(missing)}, which is not a sync")
    order = topological_order({j.name: j.after for j in jobs}, what="syncs")
    return [by_name[n] for n in order]


def due(jobs: Iterable[SyncJob], last_run: Mapping[str, float], now: float) -> list[SyncJob]:
    """Jobs whose interval has passed since their last run, in run order."""
    return [j for j in sync_order(jobs) if j.is_due(last_run.get(j.name), now)]


@dataclass
class SyncRun:
    """The outcome of one job in a batch."""

    name: str
    ok: bool
    skipped: bool = False
    error: str = ""
    detail: Any = None   # whatever the runner returned (e.g. an ApplyResult)


def run_syncs(jobs: Iterable[SyncJob], run_one: Callable[[SyncJob], Any]) -> list[SyncRun]:
    """Run jobs in ``after`` order. ``run_one`` returns a truthy value (or an object whose
    ``ok`` / ``failed`` says so) on success or raises; a job whose ``after`` did not
    succeed is skipped, and so are the jobs after it. The others still run."""
    outcomes: list[SyncRun] = []
    bad: set[str] = set()
    for job in sync_order(jobs):
        blocked = [d for d in job.after if d in bad]
        if blocked:
            bad.add(job.name)
            outcomes.append(SyncRun(job.name, ok=False, skipped=True,
                                    error=f"skipped: {', '.join(blocked)} did not succeed"))
            continue
        try:
            detail = run_one(job)
        except Exception as exc:  # one failed sync must not stop the independent ones
            bad.add(job.name)
            outcomes.append(SyncRun(job.name, ok=False, error=f"{type(exc).__name__}: {exc}"))
            continue
        ok = _succeeded(detail)
        if not ok:
            bad.add(job.name)
        outcomes.append(SyncRun(job.name, ok=ok, detail=detail, error="" if ok else "failed"))
    return outcomes


def _succeeded(detail: Any) -> bool:
    if hasattr(detail, "ok"):
        return bool(detail.ok)
    if hasattr(detail, "failed"):  # an ApplyResult
        return not detail.failed
    return detail is None or bool(detail)


def plan_sync(job: SyncJob, records: Mapping[str, FunctionRecord], observations: Mapping[str, Observation], *,
              component_policies: Mapping[str, Policy | str] | None = None,
              unavailable: Mapping[str, str] | None = None,
              allow_empty: bool = False, max_deletions: int = 10, registry_serial: int | None = None,
              global_ignore: Iterable[str] = ()) -> Plan:
    """build_plan restricted to the job's components, with its direction and policies."""
    unavailable = {c: r for c, r in (unavailable or {}).items() if c in job.components}
    observed = {c: o for c, o in observations.items() if c in job.components}
    return build_plan(records, observed, job.components, policies=job.policies(component_policies),
                      direction=job.direction, allow_empty=allow_empty, max_deletions=max_deletions,
                      registry_serial=registry_serial, unavailable=unavailable, global_ignore=global_ignore)
