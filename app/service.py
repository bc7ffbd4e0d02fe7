"""SyncService: the one place the CLI and the TUI go through.

Ties the config, the registry store and the component adapters to the sync engine.
The TUI (issue 6) calls exactly this API from worker threads, so every method is safe to
call from a thread and never touches Textual. Cloud SDKs are imported lazily (adapters
are built on first use) so ``--help`` stays fast. Mutations go through ``_check_writable``,
the one central place ``read_only`` is enforced.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from functions_tui.app import detection_cache, paths
from functions_tui.app.config import Config, load_config
from functions_tui.registry.component import Detection, Observation
from functions_tui.registry.models import FunctionRecord, FunctionSpec, HistoryEntry, utc_now
from functions_tui.registry.plan_types import CHOICES, Action, ActionKind, ApplyResult, Decision, PairStatus, Plan, State



class ServiceError(Exception):
    """A failure the user can act on; the message is one line saying what and how to fix it."""


class ReadOnlyError(ServiceError):
    """A mutating call on a read-only service."""


class ComponentUnavailableError(ServiceError):
    """A command needs a component that is not available here (message has reason and fix)."""


class UnknownFunctionError(ServiceError):
    pass


def read_only_refusal(what: str) -> str:
    """The one wording of a refusal in read-only mode (the service's error, the app's notices)."""
    return f"read-only: {what} is disabled (started with --read-only; start without it to change things)"


class SyncService:
    def __init__(self, home: Path | None = None, *, read_only: bool = False,
                 config: Config | None = None, components: dict[str, Any] | None = None) -> None:
        """``home``: config dir (default: FUNCTIONS_TUI_HOME / platformdirs). ``read_only``:
        every mutating method raises ReadOnlyError (the one central place that enforces it).
        ``config`` / ``components`` (name -> adapter) may be injected, e.g. by tests."""
        from functions_tui.registry.store import RegistryStore

        self.home = paths.config_dir(home)
        self.read_only = read_only
        self._config = config
        self._config_active = False
        self.store = RegistryStore(self.home / paths.REGISTRY_FILE,  # keeps config.yaml's `generations:`
                                   generations=lambda: getattr(self.config, "generations", 10))
        self._adapters: dict[str, Any] = dict(components or {})
        self._injected = set(self._adapters)
        self._detections: dict[str, Detection] | None = None
        self._last: dict[str, Observation] = {}
        self._lock = threading.RLock()          # caches (detections, observations)
        self._adapter_lock = threading.Lock()   # building adapters (never held while detecting)
        #: Read components in child processes where that is safe (app/forked_observe.py): the
        #: short-lived commands set it; the TUI, whose threads make forking unsafe, does not.
        self.fork_observers = False
        self._probes: dict[str, Any] = {}   # component -> forked_observe.Probe not yet read

    # --- plumbing -------------------------------------------------------------
    @property
    def config(self) -> Config:
        with self._lock:
            if self._config is None:
                self._config = load_config(self.home)
            if not self._config_active:   # (a config given to the constructor too)
                self._config.activate()   # its instances are the components (registry.kinds)
                self._config_active = True   # (set first: the registry write below reads the config)
                try:
                    self._components_named_by_kind()
                except BaseException:
                    self._config_active = False   # not settled: asked again on the next use
                    raise
            return self._config

    def _components_named_by_kind(self) -> None:
        """A registry written before config.yaml named instances keys targets and bases by
        kind (``aws``). Once components: names them otherwise (``aws-prod``), such a key means
        the kind's default instance: renamed in one registry write, so no function reads as
        not deployed there, or its resource as unknown to the registry (which gc would take
        for dangling). A kind with several instances and none named as it cannot be guessed:
        refused, saying what to name. Nothing is read unless a kind has no same-named instance."""
        from functions_tui.registry import kinds

        config = self._config
        renamed = {k: kinds.default_instance(k) for k in kinds.kinds() if k not in config.component_names}
        if not renamed or self._injected or not self.store.exists():
            return
        from functions_tui.registry.filters import on_component

        # A query over the stored documents: no record is built unless one has to move.
        stale = {k for k in renamed if self.store.names(on_component(k))}
        if not stale:
            return
        ambiguous = sorted(k for k in stale if renamed[k] is None)
        if ambiguous:
            raise ServiceError(
                f"the registry has functions on {', '.join(ambiguous)}, and {config.path} names several "
                f"instances of that kind but none called {' or '.join(ambiguous)}: name the one they are on "
                f"{ambiguous[0]} (components: {ambiguous[0]}: {{kind: {ambiguous[0]}, ...}})")
        if self.read_only:
            raise ReadOnlyError(read_only_refusal(
                f"renaming {', '.join(sorted(stale))} in the registry to {', '.join(renamed[k] for k in sorted(stale))}"))
        with self.store.transaction("user") as txn:
            for record in txn.records():
                moves = [(k, renamed[k]) for k in stale if k in record.spec.targets or k in record.components]
                for old, new in moves:
                    if old in record.spec.targets:
                        record.spec.targets[new] = record.spec.targets.pop(old)
                    if old in record.components:
                        moved = record.components.pop(old)
                        moved.component = new
                        record.components[new] = moved
                    for part in ("targets_state", "targets_image"):   # the declaration's snapshot
                        kept = (record.spec.declared or {}).get(part)
                        if isinstance(kept, dict) and old in kept:
                            kept[new] = kept.pop(old)
                if moves:
                    txn.put(record, action="component renamed: " + ", ".join(f"{o} -> {n}" for o, n in moves))

    def _check_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(read_only_refusal(what))

    def adapter(self, name: str):
        """The adapter for ``name``, built (and its SDK imported) on first use."""
        with self._adapter_lock:
            if name not in self._adapters:
                known = self.config.component_names
                if name not in known:
                    raise ServiceError(f"unknown component {name!r} (known: {', '.join(known)})")
                from functions_tui.app.adapters import build_component

                self._adapters[name] = build_component(name, self.config)
            return self._adapters[name]

    # --- reading -------------------------------------------------------------
    def component_names(self) -> list[str]:
        """The components config.yaml names (one per kind by default), then any given in code."""
        known = self.config.component_names
        return known + [n for n in self._adapters if n not in known]

    def detections(self, refresh: bool = False) -> dict[str, Detection]:
        """Availability per component: memory, then components.json, then detecting (cached)."""
        with self._lock:
            if self._detections is not None and not refresh:
                return dict(self._detections)
        # Detect without holding the lock: detect_all builds adapters on worker threads.
        cached = None if refresh else self._cached_detections()
        if cached is None:
            with self._lock:
                probed = {n: p for n, p in self._probes.items() if p.detects and not refresh}
            cached = {n: p.detection() for n, p in probed.items()}
            cached.update(detection_cache.detect_all([n for n in self.component_names() if n not in probed],
                                                     self.adapter))
            cached = {n: cached[n] for n in self.component_names()}
            if not self._injected:
                try:
                    detection_cache.save(cached, self.home, self._settings())
                except OSError:  # an unwritable config dir must not stop a read
                    pass
        with self._lock:
            self._detections = cached
        return dict(cached)

    def _cached_detections(self) -> dict[str, Detection] | None:
        """components.json when it holds every component for today's settings, else None."""
        cached = None if self._injected else detection_cache.load(self.home, self._settings())
        return cached if cached is not None and set(cached) == set(self.component_names()) else None

    def _settings(self) -> dict[str, Any]:
        """What each adapter is built with (endpoints, region, project; never secrets)."""
        from functions_tui.app.adapters import adapter_settings

        return {n: adapter_settings(n, self.config) for n in self.config.component_names}

    def require(self, name: str) -> None:
        """Raise ComponentUnavailableError (reason + fix) unless ``name`` is usable here.
        A cached "unavailable" is checked again first: the user may just have fixed it."""
        det = self.detections().get(name)
        if det is None:
            raise ServiceError(f"unknown component {name!r} (known: {', '.join(self.component_names())})")
        if not det.available:
            det = self.redetect(name)
        if not det.available:
            fix = f"; fix: {det.fix}" if det.fix else ""
            raise ComponentUnavailableError(f"{name} is unavailable: {det.reason or 'not detected'}{fix}")

    def components_for_run(self) -> tuple[list[str], dict[str, str]]:
        """The components a run with none named covers, and the ones it skips (name -> why).

        Every available component, and every component the registry has functions on even
        when it is down: the plan calls that one unknown (its functions stay in the output and
        a headless run exits 1), never quietly skipped. Only a component that is unavailable
        and holds nothing of the registry is skipped. A cached "unavailable" of a component in
        use is checked again first: it may have come back."""
        used = set().union(*self.targeted_components(self.record_map()).values())
        detections = self.redetect_unavailable(n for n in self.component_names() if n in used)
        names = [n for n in self.component_names() if (detections.get(n) and detections[n].available) or n in used]
        skipped = {n: (d.reason or "not detected") + (f" (fix: {d.fix})" if d.fix else "")
                   for n, d in detections.items() if not d.available and n not in names}
        return names, skipped

    def redetect_unavailable(self, names: Iterable[str]) -> dict[str, Detection]:
        """The detections, with each of ``names`` that was cached as unavailable detected
        again first: it may have come back (a daemon started, credentials fixed)."""
        detections = self.detections()
        for name in names:
            det = detections.get(name)
            if not (det and det.available):
                detections[name] = self.redetect(name)
        return detections

    def redetect(self, name: str) -> Detection:
        """Detect one component again and update the cache."""
        try:
            det = self.adapter(name).detect()
        except Exception as exc:
            det = Detection(name, False, reason=f"detection failed: {type(exc).__name__}: {exc}")
        with self._lock:
            current = dict(self._detections or {})
            current[name] = det
            self._detections = current
        if not self._injected:
            try:
                detection_cache.save(current, self.home, self._settings())
            except OSError:
                pass
        return det

    def records(self) -> dict[str, FunctionRecord]:
        """Every record, built in one batch with the collector paused, and shared with the
        other reads of the same file version (``record_map``, ``status``): read-only, like the
        store's snapshots (copy a record before changing it; writes go through transactions)."""
        if not self.store.exists():
            return {}
        records = self.record_map()
        self._build_all(records)
        return dict(records)

    def record_map(self) -> Mapping[str, FunctionRecord]:
        """The registry as the store's read-only mapping, each record built on first access
        (``records()`` builds all of them up front: a 10k first paint needs only names).
        The same mapping for every read of one file version (see ``_shared_records``)."""
        if not self.store.exists():
            return {}
        return self._shared_records(self.store.load())

    def _shared_records(self, snap: Any) -> Mapping[str, FunctionRecord]:
        """``snap``'s records, the same mapping for every read of one file version: a record
        built once is not built again, and callers (the TUI's syncs) can tell "the registry did
        not change" by identity. Read-only by contract (writers go through store transactions,
        which copy what they change). ``plan`` does not use it: a plan builds every record, and
        keeping 50k of them alive between syncs cost more memory (~35 MB) than rebuilding them
        in one batch (~0.3 s, on the sync's thread) does time."""
        functions = snap.functions
        raw = getattr(functions, "_raw", None)   # registry.store.RecordMap: the parsed docs
        if raw is None:
            return functions
        with self._lock:
            cached = getattr(self, "_records_cache", None)
            if cached is not None and cached._raw is raw:
                return cached
            self._records_cache = functions
        return functions

    @staticmethod
    def _build_all(records: Mapping[str, FunctionRecord]) -> None:
        """Build every record of a lazy mapping now, in one batch with the collector paused
        (one by one with it running, the collector rescans the growing heap: 3x slower)."""
        from functions_tui.registry.gc_pause import gc_paused

        with gc_paused(long_lived=True):
            for name in records:
                records[name]

    def registry_id(self) -> str:
        """This registry's identity (its lineage), written into every resource it deploys;
        "" before the registry exists (then nothing on any component is ours)."""
        return self.store.load().lineage if self.store.exists() else ""

    def targeted_components(self, records: Mapping[str, FunctionRecord]) -> dict[str, frozenset[str]]:
        """name -> the components a function targets or has a record for, read from the stored
        docs when ``records`` is the store's lazy mapping, so no FunctionRecord gets built."""
        docs = getattr(records, "_raw", None)   # registry.store.RecordMap: the docs as read
        if not isinstance(docs, dict):
            return {name: frozenset(rec.spec.targets).union(rec.components) for name, rec in records.items()}
        with self._lock:   # the same file version as last time: the same answer (a TUI sync asks each time)
            cached = getattr(self, "_targets_cache", None)
            if cached is not None and cached[0] is docs:
                return cached[1]
        targets = {name: frozenset((doc.get("spec") or {}).get("targets") or ()).union(doc.get("components") or ())
                   for name, doc in docs.items()}
        with self._lock:
            self._targets_cache = (docs, targets)   # holding docs keeps its identity unique
        return targets

    def find(self, name: str) -> FunctionRecord | None:
        """One function's record, or None: a TinyDB query of the registry (no other record is built)."""
        return self.store.find(name) if self.store.exists() else None

    def record(self, name: str) -> FunctionRecord:
        """One function's record: a TinyDB query of the registry (no other record is built)."""
        rec = self.find(name)
        if rec is None:
            raise UnknownFunctionError(f"no function named {name!r} in the registry {self.store.path}")
        return rec

    def matching_names(self, query: Any) -> frozenset[str]:
        """The functions whose registry document matches a TinyDB query (registry.filters)."""
        return frozenset(self.store.names(query)) if self.store.exists() else frozenset()

    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        if not self.store.exists():
            return []
        return self.store.history(name, limit)

    def observe(self, components: Iterable[str] | None = None) -> dict[str, Observation]:
        """Observe the components in parallel; an unavailable or failing one gives a failed
        (incomplete) observation with the reason, never an empty one. A component a probe
        (``start_probes``) is reading is taken from it; the others are listed on threads."""
        names = list(components) if components is not None else self.component_names()
        result = dict(self.observe_each(names))
        return {n: result[n] for n in names}

    def observe_each(self, names: list[str]) -> Iterator[tuple[str, Observation]]:
        """``observe(names)`` one component at a time, each as soon as it is in (so the caller
        can work on one while the others are still being listed)."""
        from concurrent.futures import ThreadPoolExecutor, as_completed

        if not names:
            return
        self.start_probes(names)
        with self._lock:
            probes = {n: self._probes.pop(n) for n in names if n in self._probes}

        def one(name: str) -> tuple[str, Observation]:
            return name, probes[name].observation() if name in probes else self._observe_one(name)

        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            for future in as_completed([pool.submit(one, n) for n in names]):
                name, observation = future.result()
                with self._lock:
                    self._last[name] = observation
                yield name, observation

    def _observe_one(self, name: str, det: Detection | None = None) -> Observation:
        det = det or self.detections().get(name)
        if det is not None and not det.available:
            fix = f"; fix: {det.fix}" if det.fix else ""
            return Observation.failed(name, f"unavailable: {det.reason or 'not detected'}{fix}")
        started = time.perf_counter()
        try:
            obs = self.adapter(name).observe()
        except Exception as exc:  # an adapter bug or outage is an unknown component, not a crash
            obs = Observation.failed(name, f"listing failed: {type(exc).__name__}: {exc}")
        obs.observed_at = obs.observed_at or utc_now()
        obs.duration_s = obs.duration_s or time.perf_counter() - started
        return obs

    def start_probes(self, names: Iterable[str] | None = None) -> None:
        """With ``fork_observers`` (the short-lived commands) and where forking is safe, start
        reading each component in a child process of its own (app/forked_observe.py: SDK
        imports and parsing then use every core): detecting it when components.json does not
        hold it yet, then listing it. ``detections()`` and ``observe()`` take the answers.
        Call it as early as possible; a component not probed is read on a thread as before."""
        from functions_tui.app import forked_observe

        if not self.fork_observers or not forked_observe.can_fork():
            return
        with self._lock:
            detections = self._detections
            wanted = [n for n in (names or self.component_names()) if n not in self._probes]
        if detections is None:
            detections = self._cached_detections()
            with self._lock:
                self._detections = detections
        for n in wanted:
            detect = None if detections is not None else (lambda n=n: self.adapter(n).detect())
            probe = forked_observe.Probe(n, lambda det, n=n: self._observe_one(n, det), detect)
            with self._lock:
                self._probes[n] = probe

    def discard_probes(self) -> None:
        """End the probes no one asked for (a component the command did not read after all)."""
        with self._lock:
            probes, self._probes = list(self._probes.values()), {}
        for probe in probes:
            probe.discard()

    def last_observations(self) -> dict[str, Observation]:
        """The most recent observation per component (cached in memory, no network)."""
        with self._lock:
            return dict(self._last)

    def status(self, components: Iterable[str] | None = None, *, observe: bool = True,
               records: dict[str, FunctionRecord] | None = None) -> list[PairStatus]:
        """Every (function, component) pair's state. ``observe=False`` uses the last
        observations (no network); ``records`` saves a second registry read when the caller
        already has one. Each component is classified as soon as its listing is in (a pair's
        state depends only on its own component), while the slower ones are still listed;
        the result is in the plan's order (registry functions by name, then names only a
        component has; components in ``components`` order)."""
        from functions_tui.registry.plan import classify_all

        names = list(components) if components is not None else self.component_names()
        if records is None:
            records = self.record_map()
            self._build_all(records)
        if observe:
            arriving = self.observe_each(names)
        else:
            last = self.last_observations()
            arriving = iter([(n, last[n]) for n in names if n in last])
        unavailable, registry_id = self._unavailable(names), self.registry_id()
        statuses: list[PairStatus] = []
        classified: set[str] = set()
        for name, observation in arriving:
            classified.add(name)
            statuses += classify_all(records, {name: observation}, [name], registry_id=registry_id,
                                     unavailable={name: unavailable[name]} if name in unavailable else {})
        for name in names:   # unavailable and never observed: still classified (unknown)
            if name in unavailable and name not in classified:
                statuses += classify_all(records, {}, [name], unavailable={name: unavailable[name]},
                                         registry_id=registry_id)
        order = {n: i for i, n in enumerate(names)}
        statuses.sort(key=lambda s: (s.function not in records, s.function, order.get(s.component, len(order))))
        return statuses

    def observe_async(self, names: list[str]):
        """Start ``observe(names)`` on a thread and return its Future, so the caller can read
        the registry while the listings (mostly network waits) run."""
        from concurrent.futures import ThreadPoolExecutor

        self.start_probes(names)   # before this process has a thread of its own
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="observe")
        try:
            return pool.submit(self.observe, names)
        finally:
            pool.shutdown(wait=False)

    def _unavailable(self, names: Iterable[str]) -> dict[str, str]:
        """Components the detections say cannot be used, with the reason and the fix."""
        detections = self.detections()
        out = {}
        for n in names:
            det = detections.get(n)
            if det is not None and not det.available:
                out[n] = f"{n} is unavailable: {det.reason or 'not detected'}" + (f"; fix: {det.fix}" if det.fix else "")
        return out

    # --- planning and applying ----------------------------------------------
    def resolve_sync(self, components: Iterable[str] | None, sync: str | None,
                     direction: str | None, policy: str | None) -> tuple[list[str], str, dict[str, str]]:
        """Components, direction and per-component drift policy of one run (the conflicts
        settings come from ``Config.conflicts_for``)."""
        cfg = self.config
        named = cfg.sync(sync) if sync else None
        if sync and named is None:
            raise ServiceError(f"no sync named {sync!r} in {cfg.path} (known: {', '.join(s.name for s in cfg.syncs)})")
        names = list(components) if components is not None else (
            list(named.components) if named else self.component_names())
        for n in names:
            if n not in self.component_names():
                raise ServiceError(f"unknown component {n!r} (known: {', '.join(self.component_names())})")
        run_direction = direction or (named.direction if named else "two-way")
        policies = {n: policy or cfg.policy_for(n, sync) for n in names}
        return names, run_direction, policies

    def plan(self, components: Iterable[str] | None = None, *, sync: str | None = None,
             direction: str | None = None, policy: str | None = None,
             allow_empty: bool = False, observations: dict[str, Observation] | None = None,
             conflicts: str | None = None) -> Plan:
        """Observe (unless fresh observations are given) and build a plan; changes nothing.
        ``policy`` / ``conflicts`` override config.yaml's drift policies / conflicts settings."""
        names, run_direction, policies = self.resolve_sync(components, sync, direction, policy)
        # Listing is mostly waiting on the network: start it, then read the registry meanwhile.
        pending = self.observe_async(names) if observations is None else None
        serial = None
        lineage = ""  # no registry yet: nothing on any component is ours
        records: dict[str, FunctionRecord] = {}
        try:
            if self.store.exists():
                snap = self.store.load()
                serial, records, lineage = snap.serial, snap.functions, snap.lineage
                self._build_all(records)   # in one batch, while the listing waits on the network
        finally:
            if pending is not None:
                observations = pending.result()
        from functions_tui.registry.plan import build_plan

        plan = build_plan(records, {n: observations[n] for n in names if n in observations}, names,
                          direction=run_direction, policies=policies, allow_empty=allow_empty,
                          max_deletions=self.config.max_deletions, unavailable=self._unavailable(names),
                          registry_serial=serial, registry_id=lineage,
                          conflicts={n: conflicts or self.config.conflicts_for(n, sync) for n in names})
        return plan

    def apply(self, plan: Plan, decisions: Iterable[Decision] = (), *,
              progress: Callable[[Any], None] | None = None) -> ApplyResult:
        """Apply the plan's non-ASK actions plus the given decisions. The registry is written in
        short transactions as outcomes come in (never locked across a cloud call, so ``add``
        and other writes go on meanwhile; see registry.apply), then once more for the
        declarations written back. ``progress``, if given, is called from this thread before and after each action with a
        registry.apply.ApplyStep (the TUI's "applying 3/7" line)."""
        self._check_writable("applying a plan")
        decisions = list(decisions)
        for d in decisions:
            if d.choice not in CHOICES:
                raise ServiceError(f"decision for {d.function} on {d.component}: unknown choice {d.choice!r} "
                                   f"(use one of {', '.join(CHOICES)})")
        from functions_tui.registry.apply import apply_plan, decided_components

        components = {n: self.adapter(n) for n in decided_components(plan, decisions)}
        # One generation for the whole run (its progress writes and the declarations'
        # snapshots), so `restore` goes back to before the sync in one step.
        with self.store.generation_batch():
            try:
                result = apply_plan(plan, self.store, components, decisions=decisions, progress=progress)
            except ValueError as exc:  # the engine's DecisionError: a decision that does not fit
                raise ServiceError(str(exc)) from None
            with self._lock:  # what we just changed is no longer what was last seen
                for n in components:
                    self._last.pop(n, None)
            self._write_declarations(result)
        return result

    def _write_declarations(self, result: ApplyResult) -> None:
        """After an apply: write what was pulled or adopted into the function.yaml each value
        was declared in (app.writeback), then record the new snapshots in one transaction.
        Never fails the apply (it is done): problems become ``result.warnings``."""
        warnings = getattr(result, "warnings", None)
        if warnings is None:
            warnings = result.warnings = []
        try:
            from functions_tui.app.writeback import pulled_fields, updated_snapshot, write_back

            wanted = pulled_fields(result.results)
            if not wanted:
                return
            records = self.store.load().functions
            requests = [(records[n].spec, pulls) for n, pulls in wanted.items()
                        if n in records and records[n].spec.declared_in]
            if not requests:
                return
            report = write_back(requests)
            warnings.extend(report.warnings)
            outcomes = {n: o for n, o in report.functions.items() if o.settled or o.base}
            if outcomes:
                with self.store.transaction("sync") as txn:
                    for name, outcome in outcomes.items():
                        record = txn.get(name)
                        if record is None or not record.spec.declared_in:
                            continue
                        record.spec.declared = updated_snapshot(record.spec.declared, outcome)
                        txn.put(record, action="declaration written" if outcome.written else "declaration read")
        except Exception as exc:  # the registry already holds the pulled values: say so, go on
            warnings.append(f"the declarations could not be updated: {type(exc).__name__}: {exc}")

    def resolve(self, decision: Decision) -> ApplyResult:
        """Resolve one conflict now (writes registry, pushes/pulls as the choice needs)."""
        self._check_writable("resolving a conflict")
        observations = self.last_observations()
        obs = {decision.component: observations[decision.component]} if decision.component in observations else None
        # Under "ask" every pair that differs is a question, so any of them can be answered here.
        plan = self.plan([decision.component], policy="ask", observations=obs)
        if not any(s.function == decision.function and s.component == decision.component for s in plan.statuses):
            raise ServiceError(f"{decision.function} on {decision.component}: nothing to decide")
        plan = plan.with_actions(a for a in plan.actions
                                 if a.function == decision.function and a.component == decision.component)
        return self.apply(plan, [decision])

    # --- everyday commands (CLI) ---------------------------------------------------
    def add(self, path: str | Path) -> list[FunctionSpec]:
        """Register (or update) the functions declared under ``path``; one registry write."""
        self._check_writable("adding functions")
        from functions_tui.app.declarations import load_declarations, merge_declared

        self.config   # read (and its instances made the components) first: targets: names them
        existing = self.records()
        # ``after`` may name functions registered earlier (adding one edited file of many).
        registered_after = {name: list(record.spec.after) for name, record in existing.items()}
        specs = load_declarations(Path(path), known=registered_after)
        paths.ensure_config_dir(self.home)
        with self.store.transaction("import") as txn:
            for i, spec in enumerate(specs):
                old = txn.get(spec.name)
                # A field not edited since the file was last read keeps the registry's value
                # (a pull may have changed it meanwhile); an edited one is the file's.
                spec = specs[i] = merge_declared(spec, old.spec if old else None)
                record = FunctionRecord(spec=spec, components=dict(old.components) if old else {})
                txn.put(record, action="update" if old else "add")
        return specs

    def deploy(self, name: str, to: Iterable[str] | None = None) -> ApplyResult:
        """Push the registry's spec of ``name`` to its targets (or ``to``), creating or updating."""
        self._check_writable("deploying")
        record = self.record(name)
        targets = list(to) if to else [c for c in self.component_names() if c in record.spec.targets]
        if not targets:
            raise ServiceError(f"{name} has no targets: add one under targets: in {record.spec.declared_in or 'its function.yaml'}"
                               " or use --to COMPONENT")
        for c in targets:
            self.require(c)
        # The person asked for the registry's spec there (conflicting fields included); a
        # component it does not target yet becomes a target as the plan is applied.
        return self.apply_function(self._deploy_plan(name, targets))

    @staticmethod
    def _check_limits(spec: FunctionSpec, components: Iterable[str]) -> None:
        """A new target's provider limits, as `add` checks the declared ones (registry.limits)."""
        from functions_tui.app.declarations import first_limit_problem

        values = {"name": spec.name, "runtime": spec.runtime, "memory": spec.memory, "timeout": spec.timeout,
                  "env": spec.env, "labels": spec.labels}
        for component in components:
            found = first_limit_problem(values, {component: {}})
            if found:
                field, problem = found
                raise ServiceError(f"{spec.name}: cannot deploy to {component}: {field}: {problem}")

    def run_state_components(self, record: FunctionRecord, state: str) -> list[str]:
        """Where ``run`` / ``stop`` apply to ``record``: the components it targets whose kind
        has run states (Docker's containers), else the first such component there is."""
        from functions_tui.registry.kinds import states_of

        able = [c for c in self.component_names() if state in states_of(c)]
        return [c for c in able if c in record.spec.targets] or able[:1]

    def set_run_state(self, name: str, state: str) -> ApplyResult:
        """``run`` / ``stop``: the local container of ``name`` (desired state in the spec), on
        each component of a kind that runs containers (Docker's instances) it targets."""
        self._check_writable("starting or stopping a container")
        record = self.record(name)  # a clear error for an unknown name, before taking the lock
        components = self.run_state_components(record, state)
        if not components:
            raise ServiceError(f"{name}: no component here can {'start' if state == 'running' else 'stop'} "
                               "a container (a docker component: components: in config.yaml)")
        for component in components:
            self.require(component)
        with self.store.transaction("user") as txn:
            rec = txn.get(name)
            for component in components:
                rec.spec.targets.setdefault(component, {})["state"] = state
                txn.put(rec, action=f"{component} {state}", component=component)
        return self.deploy(name, components)

    def gc_plan(self, allow_empty: bool = False) -> Plan:
        """What gc would remove: marked resources no registry entry knows (delete from the
        component) and ghosts (drop from the registry). Never on an untrusted listing."""
        detections = self.detections()
        names = [n for n in self.component_names() if detections.get(n) and detections[n].available]
        plan = self.plan(names, policy="ask", allow_empty=allow_empty)
        actions = []
        for s in plan.statuses:
            if s.component in plan.unknown:
                continue
            if s.state is State.UNMANAGED and s.detail == "marked":
                actions.append(Action(s.function, s.component, ActionKind.DELETE,
                                      f"dangling: carries our mark on {s.component} but no registry entry knows it"))
            elif s.state is State.MISSING and s.detail == "ghost":
                actions.append(Action(s.function, s.component, ActionKind.PRUNE,
                                      f"ghost: deleted from {s.component} out of band"))
        if len(actions) > self.config.max_deletions:
            return plan.with_actions([], f"{len(actions)} removals blocked by max_deletions="
                                         f"{self.config.max_deletions} (raise it in config.yaml)")
        return plan.with_actions(actions)

    def delete(self, name: str, *, force: bool = False) -> ApplyResult:
        """Remove ``name`` from every component it is deployed to, then from the registry.
        Without ``force`` a component that cannot be seen stops the delete (nothing lost)."""
        self._check_writable("deleting a function")
        record = self.record(name)
        deployed = [c for c in self.component_names() if c in record.components or c in record.spec.targets]
        detections = self.detections()
        usable = [c for c in deployed if detections.get(c) and detections[c].available]
        if len(usable) < len(deployed) and not force:
            down = [c for c in deployed if c not in usable]
            raise ServiceError(f"{', '.join(down)} unavailable: cannot check whether {name} is deployed there; "
                               "fix it (functions-tui components) or use --force to drop it from the registry anyway")
        plan = self.plan(usable, policy="ask") if usable else Plan()
        plan_registry_id = self.registry_id()
        actions = []
        for c in usable:
            if c in plan.unknown:
                if not force:
                    raise ServiceError(f"{c}: {plan.unknown[c]}; use --force to drop {name} from the registry anyway")
                continue
            from functions_tui.registry.plan import observed_for

            seen = observed_for(plan, name, c)
            if seen is not None:
                if not seen.marked:
                    raise ServiceError(f"{c}: {name} does not carry the functions-tui mark; not deleting it")
                from functions_tui.registry.classify import ownership

                foreign = ownership(seen, plan_registry_id, record.components.get(c))[0]
                if foreign:
                    raise ServiceError(f"{c}: {name} there was deployed by another registry ({foreign}); not deleting"
                                       f" it (take it over first with `functions-tui adopt {name} --from {c}`)")
                actions.append(Action(name, c, ActionKind.DELETE, reason="delete requested"))
        plan = plan.with_actions(actions)
        result = self.apply(plan) if actions else ApplyResult()
        if result.failed and not force:
            return result
        with self.store.transaction("user") as txn:
            if txn.get(name) is not None:
                txn.remove(name, action="delete")
        return result

    def adopt(self, name: str, component: str) -> ApplyResult:
        """Take ``name`` on ``component`` under this registry's management because the user
        named it: a marked resource no registry entry knows, or one another registry deployed
        (foreign: its mark is rewritten to this registry's identity, so the other registry
        sees it as foreign from then on). Unmarked resources are never adopted."""
        self._check_writable("adopting a function")
        self.require(component)
        plan = self.plan([component], policy="ask")
        if component in plan.unknown:
            raise ServiceError(f"{component}: {plan.unknown[component]}")
        return self.apply(plan.with_actions(self._adopt_actions(plan, name, component)))

    def restore(self, serial: int | None = None, *, confirm=None):
        """Put back a kept registry generation (``serial``, default the previous one); returns
        registry.store.Restored, or None when ``confirm(generation, replaces_readable)`` says
        no. ``replaces_readable`` is False when the current registry is damaged or missing
        (nothing is lost then: a damaged file is kept aside)."""
        self._check_writable("restoring the registry")
        target = self.store.restore_target(serial)
        if confirm is not None and not confirm(target, self.store.readable()):
            return None
        return self.store.restore(generation=target)

    def interrupted(self) -> list[str]:
        """Cloud operations journaled but never cleared (an earlier run was interrupted)."""
        from functions_tui.registry.apply import interrupted_operations
        from functions_tui.registry.journal import Journal

        return interrupted_operations(Journal.for_store(self.store))

    def acknowledge_interrupted(self, components: Iterable[str]) -> int:
        """Clear the interrupted operations of ``components`` (after a sync re-observed them)."""
        self._check_writable("clearing the operations journal")
        from functions_tui.registry.apply import acknowledge_interrupted
        from functions_tui.registry.journal import Journal

        return acknowledge_interrupted(Journal.for_store(self.store), components)

    # --- revealing secret values (the conflict screen's reveal key) ----------------------------
    def reveal(self, function: str, component: str, field: str) -> dict[str, Any]:
        """The clear values of one secret field (``env`` or ``env.KEY``) of ``function`` on
        ``component``: {key: registry.masking.Revealed} with the registry's value (decrypted
        as the store reads it), the component's (its last listing, or the adapter when that
        held only hashes) and the base's where it can be told (the base keeps a keyed hash:
        known when it matches one side). Read only on a person's request: never stored in a
        plan or a diff, never logged. ``env`` alone covers the keys the two sides differ in."""
        from functions_tui.registry.fingerprint import hash_matches
        from functions_tui.registry.masking import reveal_key

        head, _, only = field.partition(".")
        if head != "env":
            raise ServiceError(f"{field}: only env values are secret; the others are shown as they are")
        record = self.record_map().get(function)   # this one record built, not the whole registry
        if record is None:
            raise UnknownFunctionError(f"no function named {function!r} in the registry {self.store.path}")
        # A ${VAR} reference not set in this shell shows as its reference, not as a value.
        registry_env = {k: (v.plain() if v.resolved else f"{v.ref} (not set here)") if hasattr(v, "plain") else str(v)
                        for k, v in record.spec.env.items()}
        component_env = self._component_env(function, component)
        kept = record.components.get(component)
        base_env = ((kept.base or {}).get("env") or {}) if kept is not None else {}
        keys = [only] if only else sorted(k for k in set(registry_env) | set(component_env)
                                          if registry_env.get(k) != component_env.get(k))
        return {k: reveal_key(k, base_env.get(k), registry_env.get(k), component_env.get(k), hash_matches)
                for k in keys}

    def _component_env(self, function: str, component: str) -> dict[str, str]:
        """``function``'s plain env on ``component``: the last listing's when it holds plain
        values, else read from the adapter (a listing of hashes, or none cached yet)."""
        self.require(component)
        adapter = self.adapter(component)
        seen = self.last_observations().get(component)
        observed = seen.items.get(function) if seen is not None else None
        if observed is None:
            one = getattr(adapter, "observe_one", None)
            observed = one(function) if one is not None else adapter.observe().items.get(function)
        if observed is None:
            raise ServiceError(f"{function} is not on {component} (any more): sync to see it again")
        if getattr(observed, "env_hashed", False):
            reader = getattr(adapter, "read_env", None)
            if reader is None:
                raise ServiceError(f"{component} shows only hashes of {function}'s env and cannot read its values")
            return {str(k): str(v) for k, v in reader(function).items()}
        return {str(k): str(v) for k, v in (observed.values.get("env") or {}).items()}

    # --- one function, from the dashboard's actions (issue 11) --------------------------------
    #: What plan_function plans; run / stop go through set_run_state, edit through add.
    FUNCTION_INTENTS = ("deploy", "sync", "delete", "adopt")

    def plan_function(self, name: str, components: Iterable[str], intent: str) -> Plan:
        """The plan of one action on one function (changes nothing); apply it with
        ``apply_function``. ``deploy``: push the registry's spec (as ``deploy --to``; a
        component it does not target yet becomes a target when the plan is applied). ``sync``:
        what a sync of ``components`` would do, for this function only. ``delete``: remove it
        from ``components`` and stop targeting them (its registry entry stays). ``adopt``: take
        a marked resource (unknown to the registry, or another registry's) under management."""
        comps = list(components)
        if intent not in self.FUNCTION_INTENTS:
            raise ServiceError(f"unknown action {intent!r} (use one of {', '.join(self.FUNCTION_INTENTS)})")
        if not comps:
            raise ServiceError(f"{intent} {name}: no component to {intent} on")
        if intent == "sync":
            plan = self.plan(comps)
            return plan.with_actions(a for a in plan.actions if a.function == name)
        for c in comps:
            self.require(c)
        if intent == "deploy":
            plan = self._deploy_plan(name, comps)
        elif intent == "adopt":
            plan = self.plan(comps, policy="ask")
            plan = plan.with_actions([a for c in comps for a in self._adopt_actions(plan, name, c)])
        else:
            plan = self.plan(comps, policy="ask")
            plan = plan.with_actions([a for c in comps for a in self._delete_actions(plan, name, c)])
        for c in comps:
            if c in plan.unknown:
                raise ServiceError(f"{c}: {plan.unknown[c]}")
        return plan

    def apply_function(self, plan: Plan, decisions: Iterable[Decision] = (), **options: Any) -> ApplyResult:
        """Apply a ``plan_function`` plan. A deploy to a component the function does not target
        yet makes it a target first (so later syncs watch it there), on the very registry
        read the plan was made from: a registry changed since is refused as any stale plan."""
        self._check_writable("applying a plan")
        records = self.record_map()
        new = {(a.function, a.component) for a in plan.actions
               if a.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.REBASE) and a.function in records
               and a.component not in records[a.function].spec.targets}
        if new:
            with self.store.transaction("user", expected_serial=plan.registry_serial) as txn:
                for name, component in sorted(new):
                    rec = txn.get(name)
                    rec.spec.targets.setdefault(component, {})
                    txn.put(rec, action="add target", component=component)
            plan = plan.read_at(txn.new_serial)
        return self.apply(plan, decisions, **options)

    def _deploy_plan(self, name: str, comps: list[str]) -> Plan:
        """deploy()'s plan (registry-wins, push) for ``name`` only, planned as if every one of
        ``comps`` were a target already (nothing is written before the plan is confirmed)."""
        import copy
        from collections import ChainMap

        from functions_tui.registry.plan import build_plan

        names, direction, policies = self.resolve_sync(comps, None, "push", "registry-wins")
        pending = self.observe_async(names)
        try:
            snap = self.store.load()
        finally:
            observations = pending.result()
        records: Mapping[str, FunctionRecord] = snap.functions
        record = records.get(name)   # only this record is built (a 10k registry stays lazy)
        if record is None:
            raise UnknownFunctionError(f"no function named {name!r} in the registry {self.store.path}")
        new = [c for c in comps if c not in record.spec.targets]
        self._check_limits(record.spec, new)
        if new:
            wanted = copy.deepcopy(records[name])
            for c in new:
                wanted.spec.targets[c] = {}
            records = ChainMap({name: wanted}, records)   # the lazy map stays lazy
        plan = build_plan(records, {n: observations[n] for n in names if n in observations}, names,
                          direction=direction, policies=policies, allow_empty=False,
                          max_deletions=self.config.max_deletions, unavailable=self._unavailable(names),
                          registry_serial=snap.serial, registry_id=snap.lineage,
                          conflicts={n: "registry-wins" for n in names})
        for c in names:
            if c in plan.unknown:
                raise ServiceError(f"{c}: {plan.unknown[c]}")
            status = next((s for s in plan.statuses if s.function == name and s.component == c), None)
            if status is not None and status.state is State.FOREIGN:
                raise ServiceError(f"{c}: {name} there was deployed by another registry ({status.detail});"
                                   " adopt it first to deploy over it")
            if status is not None and status.state is State.UNMANAGED:
                raise ServiceError(f"{c}: a {name} not deployed by functions-tui is there; it is never replaced")
        return plan.with_actions(a for a in plan.actions if a.function == name
                                 and a.kind in (ActionKind.CREATE, ActionKind.UPDATE, ActionKind.REBASE))

    def _adopt_actions(self, plan: Plan, name: str, component: str) -> list[Action]:
        """adopt()'s checks and actions for one component of a ``policy="ask"`` plan."""
        from functions_tui.registry.plan import status_for

        status = status_for(plan, name, component)
        if status is None or (status.state is State.IN_SYNC and status.detail == "absent"):
            raise ServiceError(f"{component} has no function named {name!r}")
        if status.state is State.UNMANAGED and status.detail != "marked":
            raise ServiceError(f"{name} on {component} carries no functions-tui mark: it was not deployed by"
                               " functions-tui and is never adopted")
        if status.state not in (State.UNMANAGED, State.FOREIGN):
            raise ServiceError(f"{name} on {component} is already managed by this registry ({status.state.value})")
        foreign = status.state is State.FOREIGN
        actions = [Action(name, component, ActionKind.ADOPT, "adopt requested"
                          + (f" (it was deployed by registry {status.detail})" if foreign else ""))]
        if foreign:
            actions.append(Action(name, component, ActionKind.CLAIM,
                                  "write this registry's identity into its ownership mark"))
        return actions

    def _delete_actions(self, plan: Plan, name: str, component: str) -> list[Action]:
        """Remove ``name`` from one component (only a resource this registry marked) and drop
        that component from its registry entry (record and target), so no sync puts it back."""
        from functions_tui.registry.classify import ownership
        from functions_tui.registry.plan import observed_for

        record = self.record_map().get(name)
        actions = []
        seen = observed_for(plan, name, component)
        if seen is not None:
            if not seen.marked:
                raise ServiceError(f"{component}: {name} does not carry the functions-tui mark; not deleting it")
            foreign = ownership(seen, self.registry_id(), record.components.get(component) if record else None)[0]
            if foreign:
                raise ServiceError(f"{component}: {name} there was deployed by another registry ({foreign});"
                                   " not deleting it (adopt it first)")
            actions.append(Action(name, component, ActionKind.DELETE, reason="delete requested"))
        if record is not None and (component in record.spec.targets or component in record.components):
            actions.append(Action(name, component, ActionKind.PRUNE,
                                  reason=f"stop deploying it to {component} (the registry entry stays)"))
        if not actions:
            raise ServiceError(f"{name} is not on {component}: nothing to delete")
        return actions

    # --- import: bring a function no registry deployed under management (issue 14) -----------
    def unmarked_functions(self, component: str) -> list[tuple[str, str, str]]:
        """(name, one-line summary, resource id) of each function on ``component`` that carries
        no mark: what ``import COMPONENT`` offers. A kind may say itself what it offers
        (``import_candidates``: docker's containers and images of any name); else the names
        its listing reported unmarked."""
        self.require(component)
        adapter = self.adapter(component)
        offered = getattr(adapter, "import_candidates", None)
        if offered is not None:
            from functions_tui.registry.component import ApplyError

            try:
                seen = offered()
            except ApplyError as exc:
                raise ServiceError(f"{component}: {exc}") from exc
            return [(n, seen[n].summary, seen[n].resource_id) for n in sorted(seen)]
        observation = self._observe_one(component)
        if not observation.complete and not observation.unmarked:
            raise ServiceError(f"{component}: {'; '.join(observation.errors) or 'the listing failed'}")
        names = sorted(observation.unmarked)
        describe = getattr(adapter, "describe_unmarked", None)
        if describe is None or not names:
            return [(n, "", "") for n in names]
        seen = describe(names)
        return [(n, seen[n].summary, seen[n].resource_id) if n in seen else (n, "", "") for n in names]

    def import_prepare(self, component: str, name: str, folder: Path, runtime: str = "") -> "ImportDraft":
        """Read ``name``'s configuration and code on ``component`` and write its function.yaml
        (mode 0600: env values may be secrets) and code into ``folder`` (a new, empty folder
        the caller moves into place only once this succeeded). Nothing on the component or in
        the registry changes. ``runtime`` (``--runtime``) is declared where the component shows
        none of its own (docker: where it cannot be read); where it shows one, a different one
        is refused, as import never changes a function's configuration. Raises ServiceError
        (one line naming it) when it cannot be imported."""
        from functions_tui.registry.component import ApplyError

        self.require(component)
        adapter = self.adapter(component)
        describe = getattr(adapter, "describe_unmarked", None)
        if describe is None:
            raise ServiceError(f"{component}: import is not supported for this kind of component yet")
        try:
            seen = describe([name])[name]
        except ApplyError as exc:
            raise ServiceError(f"{name}: not found on {component} ({exc})") from exc
        if seen.marked:
            if seen.owner and seen.owner != self.registry_id():
                raise ServiceError(f"{name} on {component} was deployed by another registry ({seen.owner}):"
                                   f" `functions-tui adopt {name} --from {component}` takes it over")
            raise ServiceError(f"{name} on {component} carries this registry's mark already:"
                               f" `functions-tui adopt {name} --from {component}` or `--sync {component}` manage it")
        if name in self.record_map():
            raise ServiceError(f"{name}: a function of that name is in the registry already; not importing it")
        values = seen.values
        if values.get("refusal"):
            raise ServiceError(f"{name}: not importing it: {values['refusal']}")
        notes = values.setdefault("notes", [])   # (download_code adds what it read)
        image = (values.get("target") or {}).get("image")
        read_runtime = str(values.get("runtime") or "")
        if runtime and not image:
            from functions_tui.registry.limits import runtime_key

            # A runtime the component records itself (Lambda's, Cloud Functions') is its
            # configuration; one read from evidence (docker's base image) is not.
            if read_runtime and not values.get("runtime_inferred") and runtime_key(runtime) != runtime_key(read_runtime):
                raise ServiceError(f"{name}: --runtime {runtime} is not the runtime {component} runs it on"
                                   f" ({read_runtime}); import never changes a function's configuration")
            if read_runtime and read_runtime != runtime:
                notes.append(f"runtime {runtime}, as --runtime says (read as {read_runtime})")
            read_runtime = runtime
        elif not image and not read_runtime:
            why = values.get("runtime_unknown") or f"{component} shows none"
            raise ServiceError(f"{name}: its runtime cannot be read ({why}); name it: --runtime RUNTIME"
                               " (e.g. python3.12, nodejs20), which picks the base image its next deploy builds on")
        note = adapter.download_code(seen, folder)
        declaration: dict[str, Any] = {"name": name}
        if not image:
            declaration["runtime"] = literal(read_runtime)
            declaration["entry_point"] = literal(values.get("entry_point") or "")
        for key in ("memory", "timeout"):
            if values.get(key) not in (None, ""):
                declaration[key] = int(values[key])
        env = {str(k): literal(str(v)) for k, v in (values.get("env") or {}).items()}
        if env:
            declaration["env"] = env
        labels = {str(k): literal(str(v)) for k, v in (values.get("labels") or {}).items()}
        if labels:
            declaration["labels"] = labels
        declaration["targets"] = {component: dict(values.get("target") or {})}
        import yaml

        path = folder / "function.yaml"
        if path.exists():
            raise ServiceError(f"{name}: its code holds a function.yaml of its own; not writing over it"
                               " (import it into an empty folder by hand, or remove that file from its code)")
        text = yaml.safe_dump(declaration, sort_keys=False, default_flow_style=False)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        return ImportDraft(name=name, component=component, observed=seen, declaration=declaration,
                           files=files, code_note=note, clear_env=sorted(env), notes=list(notes))

    def import_commit(self, draft: "ImportDraft", folder: Path) -> FunctionRecord:
        """Mark the function import_prepare read (its declaration now in ``folder``) with this
        registry's identity, then register it, in one registry write, with its spec (add()'s
        reading of the written declaration) and its base on the component: the fingerprint of
        the marked resource, exactly as an adoption records it (registry.apply's ``_set_base``),
        so the next sync reads it as in sync. The mark is one label/tag write: configuration and
        code are never changed. A registry that does not exist yet is created by that write with
        the identity the mark already carries (as apply does for a first deploy)."""
        import uuid

        from functions_tui.app.declarations import load_declarations, merge_declared
        from functions_tui.registry.component import ApplyError
        from functions_tui.registry.models import ComponentRecord

        self._check_writable("importing a function")
        paths.ensure_config_dir(self.home)
        spec = next(s for s in load_declarations(folder, known={n: list(r.spec.after) for n, r in self.records().items()})
                    if s.name == draft.name)
        spec = merge_declared(spec, None)
        lineage = self.registry_id() or str(uuid.uuid4())
        adapter = self.adapter(draft.component)
        adapter.registry_id = lineage
        image = spec.image(draft.component)
        from functions_tui.registry.journal import Journal

        # Like every cloud change: journaled before it is made, cleared once the registry holds it
        # (an interrupted import is reported at the next start, as an interrupted apply is).
        journal = Journal.for_store(self.store)
        entry = journal.begin(draft.name, draft.component, "import", resource_id=draft.observed.resource_id)
        try:
            marked = adapter.mark_imported(draft.name, ("image:" + image) if image else spec.code_digest,
                                           str(draft.observed.values.get("deployed_code") or ""),
                                           resource_id=draft.observed.resource_id, spec=spec)
        except ApplyError as exc:
            journal.finish(entry, made=False)
            raise ServiceError(str(exc)) from exc
        journal.finish(entry, made=True)
        with self.store.transaction("import") as txn:
            if not txn.lineage:
                txn.lineage = lineage
            elif txn.lineage != lineage:
                raise ServiceError(f"{draft.name}: the registry was replaced while importing; it is marked with"
                                   f" identity {lineage}: `functions-tui adopt {draft.name} --from {draft.component}`")
            if txn.get(draft.name) is not None:
                raise ServiceError(f"{draft.name}: registered meanwhile; it is marked now:"
                                   f" `functions-tui --sync {draft.component}` reads it")
            record = FunctionRecord(spec=spec, components={draft.component: ComponentRecord(
                draft.component, base=marked.fingerprint(), resource_id=marked.resource_id, last_sync=utc_now())})
            txn.put(record, action="add", component=draft.component)
        journal.clear([entry.id])
        return record


def literal(text: str) -> str:
    """A provider's value as declaration text that reads back as itself: every scalar of a
    function.yaml interpolates ``${VAR}``, and ``$$`` is a plain ``$``."""
    return text.replace("$", "$$")


@dataclass
class ImportDraft:
    """What import read of one function and wrote into its folder (not yet moved into place)."""

    name: str
    component: str
    observed: Any
    declaration: dict[str, Any]
    files: list[str]
    code_note: str      # "" when the code was written, else why not
    clear_env: list[str]
    notes: list[str] = field(default_factory=list)   # what was read from where, what was left out
