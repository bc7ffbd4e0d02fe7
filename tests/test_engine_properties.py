"""Property tests (hypothesis) of the sync engine over generated worlds: registries, bases and
components in every combination of states.

- classification is total and deterministic;
- applying a plan and planning again gives in sync (component-wins and registry-wins), up to
  the questions a person must answer;
- no plan ever deletes or prunes on a component whose observation is incomplete, failed,
  unavailable, or suspiciously empty — and applying it never deletes there either.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions_tui.registry.apply import apply_plan
from functions_tui.registry.classify import classify, fast_normalize, registry_fingerprints
from functions_tui.registry.fingerprint import normalize, spec_fingerprint, spec_values
from functions_tui.registry.journal import Journal
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Direction, Policy, State
from tests.engine_helpers import store_for_tests
from tests.memory_component import MemoryComponent

COMPS = ("docker", "gcp", "aws")
NAMES = ("a", "b", "c", "d")

values_st = st.fixed_dictionaries({
    "runtime": st.sampled_from(["python3.12", "nodejs20"]),
    "entry_point": st.just("main"),
    "code_digest": st.sampled_from(["", "sha256:1"]),
    "memory": st.sampled_from([128, 256]),
    "timeout": st.sampled_from([30, 60]),
    "env": st.dictionaries(st.sampled_from(["K", "API_KEY"]), st.sampled_from(["x", "y"]), max_size=2),
    "labels": st.dictionaries(st.sampled_from(["team", "tier"]), st.sampled_from(["p", "q"]), max_size=2),
    "state": st.sampled_from(["active", "active", "stopped"]),
})


SCENARIOS = ("in_sync", "drifted", "pending", "conflict", "ghost", "not_deployed", "stale_base", "no_base")
MUTATIONS = {"memory": [128, 256, 512], "timeout": [30, 60, 90], "runtime": ["python3.12", "nodejs20"],
             "state": ["active", "stopped"], "env": [{}, {"K": "x"}, {"K": "y", "API_KEY": "z"}],
             "labels": [{}, {"team": "p"}, {"tier": "q"}]}


@st.composite
def mutated(draw, values):
    out = dict(values)
    for field_name in draw(st.sets(st.sampled_from(sorted(MUTATIONS)), min_size=1, max_size=2)):
        out[field_name] = draw(st.sampled_from([v for v in MUTATIONS[field_name] if v != values.get(field_name)]))
    return out


@st.composite
def worlds(draw, components=COMPS, marked_only=True):
    """(records, {component: MemoryComponent}): each registry function is, on each component
    it targets, in a drawn scenario (every state of the table); plus stray resources."""
    comps = {c: MemoryComponent(c) for c in components}
    records: dict[str, FunctionRecord] = {}
    for name in NAMES:
        if not draw(st.booleans()):  # only on components, maybe
            for c in components:
                if draw(st.integers(0, 3)) == 0:
                    comps[c].put(name, draw(values_st), marked=marked_only or draw(st.booleans()))
            continue
        r = draw(values_st)
        targets = sorted(draw(st.sets(st.sampled_from(components), min_size=1)))
        spec = FunctionSpec(name=name, runtime=r["runtime"], memory=r["memory"], timeout=r["timeout"],
                            code_digest=r["code_digest"], env=dict(r["env"]), labels=dict(r["labels"]),
                            targets={c: {"state": r["state"]} for c in targets},
                            after=[n for n in NAMES if n < name][-1:] if draw(st.booleans()) else [],
                            ignore=draw(st.sampled_from([[], [], ["env.K"], ["memory"]])))
        record = records[name] = FunctionRecord(spec=spec)
        for c in components:
            if c not in targets:
                if draw(st.integers(0, 4)) == 0:  # the same name, unmanaged on a component it does not target
                    comps[c].put(name, draw(values_st))
                continue
            scenario = draw(st.sampled_from(SCENARIOS))
            base = current = None
            if scenario in ("in_sync", "drifted", "ghost"):
                base = r
            elif scenario in ("pending", "stale_base", "conflict"):
                base = draw(mutated(r))
            if scenario in ("in_sync", "stale_base"):
                current = r
            elif scenario == "drifted":
                current = draw(mutated(r))
            elif scenario == "pending":
                current = base
            elif scenario in ("conflict", "no_base"):
                current = draw(mutated(r))
            if base is not None:
                record.components[c] = ComponentRecord(c, base=normalize(base), resource_id=f"{c}/{name}/old")
            if current is not None:
                comps[c].put(name, current, marked=marked_only or draw(st.booleans()))
    return records, comps


def observe(comps):
    return {c: m.observe() for c, m in comps.items()}


def pair_states(plan):
    return {(s.function, s.component): s for s in plan.statuses}


@settings(max_examples=150, database=None, deadline=None)
@given(worlds(marked_only=False), st.booleans(), st.booleans())
def test_classification_is_total_and_deterministic(world, complete, available):
    records, comps = world
    observations = observe(comps)
    for c, observation in observations.items():
        for name in sorted(set(records) | set(observation.items)):
            record, observed = records.get(name), observation.items.get(name)
            first = classify(record, observed, c, complete, available)
            assert isinstance(first.state, State)
            assert first == classify(record, observed, c, complete, available)
            if not available:
                assert first.state is State.UNKNOWN
            if observed is not None and available:
                assert first.state is not State.MISSING and first.state is not State.UNKNOWN
    plan = build_plan(records, observations, policies={c: Policy.ASK for c in comps})
    again = build_plan(records, observations, policies={c: Policy.ASK for c in comps})
    assert dataclasses.asdict(plan) == dataclasses.asdict(again)
    assert all(a.reason.strip() for a in plan.actions)  # every action says why
    shown = [d for s in plan.statuses for d in s.diffs] + [d for a in plan.actions for d in a.diffs]
    assert all(d.secret and {d.base, d.registry, d.component} <= {"set", "unset", "•••• (changed)"}
               for d in shown if d.field.startswith("env."))
    # Every pair where either side has the function has exactly one status.
    expected = {(n, c) for c, o in observations.items() for n in o.items}
    expected |= {(n, c) for n, r in records.items() for c in r.spec.targets if c in comps}
    assert sorted((s.function, s.component) for s in plan.statuses) == sorted(expected)


def _apply_and_replan(records, comps, policy):
    with tempfile.TemporaryDirectory() as tmp:
        store = store_for_tests(Path(tmp))
        with store.transaction("user") as txn:
            for record in records.values():
                txn.put(record, action="create")
        snapshot = store.load()
        plan = build_plan(snapshot.functions, observe(comps), policies={c: policy for c in comps},
                          allow_empty=True, max_deletions=1000, registry_serial=snapshot.serial)
        result = apply_plan(plan, store, comps, Journal(Path(tmp) / "journal.json"))
        assert result.failed == [], [r.error for r in result.failed]
        after = build_plan(store.load().functions, observe(comps), policies={c: policy for c in comps},
                           allow_empty=True, max_deletions=1000)
    return plan, after


@settings(max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(components=("gcp",)), st.sampled_from([Policy.COMPONENT_WINS, Policy.REGISTRY_WINS]))
def test_apply_then_replan_is_in_sync_on_one_component_but_for_the_conflicts(world, policy):
    """Conflicts are never settled by the drift policy: they stay questions, nothing else does."""
    records, comps = world
    plan, after = _apply_and_replan(records, comps, policy)
    asked = {(a.function, a.component) for a in plan.decisions}
    assert [(a.function, a.component) for a in after.actions] == [(a.function, a.component) for a in plan.decisions]
    for status in after.statuses:
        assert status.state is State.IN_SYNC or (status.function, status.component) in asked, status


@settings(max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_registry_wins_converges_in_one_apply_on_every_component_but_for_the_conflicts(world):
    records, comps = world
    plan, after = _apply_and_replan(records, comps, Policy.REGISTRY_WINS)
    asked = {a.function for a in plan.decisions}
    assert not [a for a in after.actions if a.function not in asked]
    for status in after.statuses:
        assert status.state is State.IN_SYNC or status.function in asked, status


@settings(max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_component_wins_converges_up_to_the_questions(world):
    records, comps = world
    plan, after = _apply_and_replan(records, comps, Policy.COMPONENT_WINS)
    asked = {a.function for a in plan.actions if a.kind is ActionKind.ASK}
    assert not [a for a in after.actions if a.function not in asked]
    for status in after.statuses:
        assert status.state is State.IN_SYNC or status.function in asked, status


@settings(max_examples=200, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(marked_only=False),
       st.dictionaries(st.sampled_from(COMPS), st.sampled_from(["partial", "failed", "unavailable", "emptied"]),
                       min_size=1),
       st.sampled_from(list(Policy)), st.sampled_from(list(Direction)), st.booleans())
def test_no_plan_deletes_or_prunes_where_the_observation_is_not_trusted(world, faults, policy, direction,
                                                                       allow_empty):
    records, comps = world
    unavailable = {}
    for c, fault in faults.items():
        if fault == "partial":
            comps[c].partial = True
        elif fault == "failed":
            comps[c].fail_observe = "HTTP 503 from the listing"
        elif fault == "unavailable":
            unavailable[c] = f"{c} credentials missing"
        elif fault == "emptied":
            comps[c].resources.clear()
    observations = {c: m.observe() for c, m in comps.items() if c not in unavailable}
    plan = build_plan(records, observations, policies={c: policy for c in comps}, direction=direction,
                      allow_empty=allow_empty, max_deletions=1000, unavailable=unavailable)
    untrusted = {c for c, f in faults.items() if f != "emptied"}
    expected_there = {c for c in faults if any(c in r.spec.targets and r.components.get(c) is not None
                                               for r in records.values())}
    if not allow_empty:
        untrusted |= {c for c, f in faults.items() if f == "emptied" and c in expected_there}
    assert untrusted <= set(plan.unknown)
    for action in plan.actions:
        if action.component in untrusted:
            assert not action.destructive, action
    # Nothing absent from an untrusted listing is acted on (no re-create, no prune): it is unknown.
    absent_untrusted = {(s.function, s.component) for s in plan.statuses
                        if s.component in untrusted and s.state is State.UNKNOWN}
    assert not [a for a in plan.actions if (a.function, a.component) in absent_untrusted
                and a.kind is not ActionKind.ASK]
    # And applying it does not delete there either.
    with tempfile.TemporaryDirectory() as tmp:
        store = store_for_tests(Path(tmp))
        with store.transaction("user") as txn:
            for record in records.values():
                txn.put(record, action="create")
        before = {c: sorted(m.resources) for c, m in comps.items()}
        apply_plan(plan, store, comps, Journal(Path(tmp) / "journal.json"))
        for c in untrusted:
            assert set(before[c]) <= set(comps[c].resources), f"{c} lost resources"
            assert not [call for call in comps[c].calls if call[0] == "delete"]
        pruned = {(h.function, h.component) for h in store.history() if h.action == "prune"}
        assert not {p for p in pruned if p[1] in untrusted}


@settings(max_examples=200, database=None, deadline=None)
@given(values_st, st.booleans())
def test_fast_fingerprints_equal_normalize(values, hashed):
    assert fast_normalize(values) == normalize(values)
    spec = FunctionSpec(name="f", runtime=values["runtime"], memory=values["memory"], timeout=values["timeout"],
                        env=values["env"], labels=values["labels"],
                        targets={"docker": {}, "aws": {"state": values["state"]}})
    assert registry_fingerprints(spec, COMPS) == {c: spec_fingerprint(spec, c) for c in ("docker", "aws")}
    assert spec_values(spec, "aws")["state"] == values["state"]
