"""``python -m bench registry``: registry save and load times at 1k, 10k and 100k functions.

save_<n>_s: one transaction (source "import") that puts n new functions into an empty
registry and writes it: lock, read, n puts with their history entries (history bounded at
10k), then at commit the TinyDB table operations (one insert_multiple of the records, their
compact form: registry.compact; one of the history entries) on the transaction's cache
(registry.storage.TransactionCache), and its one write: the tables encoded a slice of rows
at a time straight into the temp file, fsync, generation link, rename, folder fsync.
load_<n>_s: ``RegistryStore.load()`` of that file: read, parse, validate every record's
shape, index by name (FunctionRecords are built lazily, on access).
load_records_<n>_s: what a command that looks at every function pays (status, plan, the
TUI's first sync): ``load()`` and then every FunctionRecord built, in one batch with the
collector paused (as SyncService._build_all does).

Records are shaped like real ones: a spec with env (3 vars), labels (2), three targets and
sometimes `after`, and three component records with base fingerprints (env values hashed,
code digest): about 1.9 KB of JSON each as FunctionRecord.to_dict(). The file stores a
base that repeats another component's but for its state as a reference (registry.compact):
in sync, as here, two of the three bases, so about 1.4 KB each.
Each figure is the median of three runs (what a user typically sees; stderr lists every run). With BENCH_REGISTRY_BEFORE=<a checkout
of another revision> stderr also gives that revision's store's figures, measured in the same
run (see _figures_before).

journal_2k_actions_s: the operations journal's cost over a 2,000-action apply: 2,000
begin (fsynced) / finish pairs, the recorder's clear lines (one per 100 actions, as its
batches do) and the end-of-run compaction, on a journal that already holds a long history
(10,000 lines: 5,000 operations an earlier crashed run left open). Append-only, so an event
costs the same however long the journal is. (The whole-file journal it replaced rewrote
itself on every event: ~40 ms an action at 2,000 actions.)
apply_2k_memory_component_lock_hold_max_s: the longest the registry lock is held at once during an apply of
2,000 creates (an in-process adapter that answers at once) over a registry of 2,000
functions; stderr also gives the total hold, the number of transactions and the apply's
time with and without journaling. (Before issue 10 the lock was held for the whole apply.)
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from functions_tui.components import load_kinds
from functions_tui.registry.kinds import component_names

load_kinds()   # the records it makes target every default component (one per kind)

from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.gc_pause import gc_paused
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.store import RegistryStore

JOURNAL_ACTIONS = 2_000
JOURNAL_GOAL_S = 1.0
LOCK_HOLD_GOAL_S = 0.5

#: (n, label, save goal, load goal, load-and-build goal)
SIZES = ((1_000, "1k", None, None, None), (10_000, "10k", 0.1, 0.1, 0.2), (100_000, "100k", 1.0, 1.5, 2.5))


def make_record(i: int) -> FunctionRecord:
    """A realistic function: env, labels, targets on all three components, three bases."""
    name = f"fn-{i:06d}"
    spec = FunctionSpec(
        name=name,
        runtime="python3.12",
        entry_point="handler",
        source=f"functions/{name}",
        memory=(128, 256, 512)[i % 3],
        timeout=60,
        env={"LOG_LEVEL": "info", "DB_URL": f"postgres://db{i % 7}.internal:5432/app", "API_KEY": f"sk-{i:020d}"},
        labels={"team": f"team-{i % 13}", "env": "prod"},
        after=[f"fn-{i - 1:06d}"] if i % 10 == 0 and i else [],  # a few depend on another
        targets={
            "docker": {"port": 8000 + i % 1000},
            "gcp": {"project": "acme-prod", "region": "europe-west1", "trigger": "http"},
            "aws": {"region": "eu-west-1", "role": "arn:aws:iam::123456789012:role/fn-exec"},
        },
        code_digest="sha256:%064x" % (i * 2654435761),
    )
    components = {
        c: ComponentRecord(component=c, base=spec_fingerprint(spec, c), resource_id=f"{c}/{name}",
                           last_sync="2026-11-21T04:00:00+00:00")
        for c in component_names()
    }
    return FunctionRecord(spec=spec, components=components)


def _save(folder: Path, records: list[FunctionRecord]) -> tuple[float, Path]:
    path = folder / "registry.json"
    for leftover in folder.glob("registry.json*"):
        leftover.unlink()
    store = RegistryStore(path)
    started = time.perf_counter()
    with store.transaction("import") as txn:
        for record in records:
            txn.put(record)
    return time.perf_counter() - started, path


def _load(path: Path, expected: int) -> float:
    started = time.perf_counter()
    snapshot = RegistryStore(path).load()
    elapsed = time.perf_counter() - started
    assert len(snapshot.functions) == expected
    return elapsed


def _load_records(path: Path, expected: int) -> float:
    """Open the file and build every FunctionRecord, as commands do."""
    started = time.perf_counter()
    functions = RegistryStore(path).load().functions
    with gc_paused(long_lived=True):
        records = [functions[name] for name in functions]
    elapsed = time.perf_counter() - started
    assert len(records) == expected
    del records, functions
    return elapsed


def _journal_2k(folder: Path, actions: int = JOURNAL_ACTIONS) -> float:
    """Seconds for ``actions`` begin/finish pairs (+ a clear a 100, + the final compaction)
    on a journal already holding 5,000 open operations of a crashed run (10,000 lines)."""
    import orjson

    from functions_tui.registry.journal import Journal, JournalEntry

    journal = Journal(folder / "journal.json")
    history = []
    for i in range(5_000):
        entry = JournalEntry(f"old-{i:05d}", "aws", "update", run="crashed", pid=2 ** 22 + 1, host="elsewhere")
        history.append(orjson.dumps({"event": "begin", **entry.to_dict()}))
        history.append(orjson.dumps({"event": "finish", "id": entry.id, "made": True}))
    journal.path.write_bytes(b"\n".join(history) + b"\n")
    started = time.perf_counter()
    batch = []
    for i in range(actions):
        entry = journal.begin(f"fn-{i:06d}", "aws", "create", run="bench")
        journal.finish(entry, made=True)
        batch.append(entry.id)
        if len(batch) == 100:
            journal.clear(batch)
            batch = []
    journal.clear(batch)
    open_entries = journal.compact()
    elapsed = time.perf_counter() - started
    assert open_entries == 5_000, open_entries
    journal.path.unlink()
    return elapsed


class _InstantAws:
    """An adapter that creates at once (what is measured is the engine, not a cloud)."""

    name = "aws"
    registry_id = ""

    def create(self, spec: FunctionSpec):
        from functions_tui.registry.component import ObservedFunction
        from functions_tui.registry.fingerprint import spec_values

        values = spec_values(spec, "aws")
        return ObservedFunction(spec.name, "aws", values, resource_id=f"arn:aws:lambda:eu-west-1:1:function:{spec.name}",
                                owner=self.registry_id)


class _NoJournal:
    def begin(self, *args, **kwargs):
        from functions_tui.registry.journal import JournalEntry

        return JournalEntry(args[0], args[1], args[2])

    def finish(self, *args, **kwargs) -> None:
        pass

    def clear(self, ids) -> None:
        pass

    def compact(self) -> int:
        return 0


def _apply_2k(folder: Path, journaled: bool, n: int = JOURNAL_ACTIONS) -> tuple[float, list[float]]:
    """(apply seconds, each registry-lock hold in seconds) for n creates on aws over a
    registry of n functions."""
    import functions_tui.registry.store as store_module
    from functions_tui.registry.apply import apply_plan
    from functions_tui.registry.journal import Journal
    from functions_tui.registry.plan_types import Action, ActionKind, Plan

    folder = Path(tempfile.mkdtemp(prefix="apply-", dir=folder))  # a registry of its own
    store = RegistryStore(folder / "registry.json")
    with store.transaction("import") as txn:
        for i in range(n):
            record = make_record(i)
            del record.components["aws"]
            txn.put(record)
    plan = Plan(actions=[Action(f"fn-{i:06d}", "aws", ActionKind.CREATE, "bench") for i in range(n)],
                registry_serial=store.load().serial)
    holds: list[float] = []
    real_lock = store_module.RegistryLock

    class TimedLock(real_lock):
        def acquire(self) -> None:
            super().acquire()
            self._since = time.perf_counter()

        def release(self) -> None:
            holds.append(time.perf_counter() - self._since)
            super().release()

    journal = Journal(folder / "journal.json") if journaled else _NoJournal()
    store_module.RegistryLock = TimedLock
    try:
        gc.collect()
        started = time.perf_counter()
        result = apply_plan(plan, store, {"aws": _InstantAws()}, journal)
        elapsed = time.perf_counter() - started
    finally:
        store_module.RegistryLock = real_lock
    assert not result.failed and len(result.results) == n, [r.error for r in result.failed][:3]
    assert all("aws" in store.load().functions[f"fn-{i:06d}"].components for i in (0, n - 1))
    return elapsed, holds


def run_apply(repeats: int = 3) -> Iterator[dict]:
    folder = Path(tempfile.mkdtemp(prefix="bench-journal-"))
    try:
        journal_runs = [_journal_2k(folder) for _ in range(repeats)]
        print(f"registry: journal, {JOURNAL_ACTIONS} begin/finish pairs on a 10,000-line journal: "
              f"{[round(s, 3) for s in journal_runs]}", file=sys.stderr)
        yield {"bench": "registry", "figure": "journal_2k_actions_s", "value": round(statistics.median(journal_runs), 4),
               "unit": "s", "goal": JOURNAL_GOAL_S}
        with_journal = [_apply_2k(folder, True) for _ in range(repeats)]
        without = [_apply_2k(folder, False)[0] for _ in range(repeats)]
        best = min(with_journal, key=lambda run: run[0])
        longest = statistics.median(max(holds) for _, holds in with_journal)
        print(f"registry: apply of {JOURNAL_ACTIONS} creates over {JOURNAL_ACTIONS} functions: "
              f"{min(t for t, _ in with_journal):.3f}s journaled, {min(without):.3f}s without a journal "
              f"(journal overhead {min(t for t, _ in with_journal) - min(without):.3f}s); registry lock held "
              f"{len(best[1])} times, {sum(best[1]):.3f}s in all, longest {max(best[1]):.3f}s", file=sys.stderr)
        # (the 2,000 actions go to an in-memory component that answers at once: the name says so)
        yield {"bench": "registry", "figure": "apply_2k_memory_component_lock_hold_max_s", "value": round(longest, 4),
               "unit": "s", "goal": LOCK_HOLD_GOAL_S}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _figures(n: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of each run: save, load and load_records of n functions."""
    folder = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    try:
        records = [make_record(i) for i in range(n)]
        gc.collect()
        runs: dict[str, list[float]] = {"save": [], "load": [], "load_records": []}
        for _ in range(repeats):
            elapsed, path = _save(folder, records)
            runs["save"].append(elapsed)
            runs["load"].append(_load(path, n))
            runs["load_records"].append(_load_records(path, n))
        runs["mb"] = [path.stat().st_size / 1e6]
        return runs
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _figures_before(n: int, repeats: int) -> dict[str, list[float]] | None:
    """The same figures with the registry package of another checkout (BENCH_REGISTRY_BEFORE=
    its folder, e.g. ``git worktree add /tmp/before <rev>``): this file's code run in a
    subprocess on that store, right after this one's, for old and new side by side in the
    same run (the machine is shared: figures from another time are not comparable)."""
    before = os.environ.get("BENCH_REGISTRY_BEFORE")
    if not before:
        return None
    code = ("import json, runpy, sys; sys.path.insert(0, sys.argv[1]); "
            "print(json.dumps(runpy.run_path(sys.argv[2])['_figures'](int(sys.argv[3]), int(sys.argv[4]))))")
    done = subprocess.run([sys.executable, "-c", code, before, __file__, str(n), str(repeats)],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": before})
    return json.loads(done.stdout.splitlines()[-1])


def run(sizes=SIZES, repeats: int = 3) -> Iterator[dict]:
    yield from run_apply(repeats)
    for n, label, save_goal, load_goal, records_goal in sizes:
        print(f"registry: {n} functions", file=sys.stderr)
        runs = _figures(n, repeats)
        before = _figures_before(n, repeats)
        print(f"registry: {n} functions, file {runs['mb'][0]:.1f} MB ({runs['mb'][0] * 1e6 / n:.0f} B/function), "
              + ", ".join(f"{kind} {[round(s, 3) for s in runs[kind]]}" for kind in ("save", "load", "load_records")),
              file=sys.stderr)
        for kind, goal in (("save", save_goal), ("load", load_goal), ("load_records", records_goal)):
            figure = f"{kind}_{label}_s"
            if before is not None:
                print(f"registry: {figure} {statistics.median(runs[kind]):.3f} (before, same run: "
                      f"{statistics.median(before[kind]):.3f})", file=sys.stderr)
            yield {"bench": "registry", "figure": figure, "value": round(statistics.median(runs[kind]), 4), "unit": "s",
                   "goal": goal}
