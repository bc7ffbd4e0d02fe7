"""The field-level three-way merge (registry.merge) and how the engine plans and applies it.

Property tests (hypothesis) of the merge itself: for random R, B, C field maps no field
changed on exactly one side is ever lost, a field changed on both sides the same way is
settled, one changed differently is a conflict, and the result does not depend on the order
the fields are visited. Then the engine over the in-memory component: a pair whose fields
merge is planned and applied field by field, end to end (real backends: test_sync_truth_*).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions_tui.registry.apply import resolve_decision
from functions_tui.registry.merge import COMPONENT, CONFLICT, REGISTRY, merge, merged_values, state_of
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Direction, Policy, State
from tests.engine_helpers import deployed, make_spec, observe_all, seed
from tests.memory_component import MemoryComponent

FIELDS = ("runtime", "memory", "timeout", "env", "labels", "state")
SCALAR = st.sampled_from([None, 1, 2, 3])
MAPPING = st.dictionaries(st.sampled_from(["A", "B", "C"]), st.sampled_from(["x", "y", "z"]), max_size=3)


@st.composite
def three_way(draw):
    """(R, B, C): B random, R and C each B with random fields replaced."""
    base = {f: draw(MAPPING if f in ("env", "labels") else SCALAR) for f in FIELDS}

    def edited():
        out = {f: (dict(v) if isinstance(v, dict) else v) for f, v in base.items()}
        for f in draw(st.sets(st.sampled_from(FIELDS), max_size=3)):
            if f in ("env", "labels"):
                out[f] = draw(MAPPING)
            else:
                out[f] = draw(SCALAR)
        return out

    return edited(), base, edited()


def flat(values):
    out = {}
    for f, v in values.items():
        if isinstance(v, dict):
            out.update({f"{f}.{k}": x for k, x in v.items()})
        else:
            out[f] = v
    return out


@settings(max_examples=500, deadline=None)
@given(three_way())
def test_no_field_changed_on_exactly_one_side_is_lost(rbc):
    registry, base, component = rbc
    values, conflicts = merged_values(registry, base, component, FIELDS)
    r, b, c = flat(registry), flat(base), flat(component)
    for key in set(r) | set(b) | set(c):
        rv, bv, cv = r.get(key), b.get(key), c.get(key)
        if rv == cv:
            assert key not in values and key not in conflicts   # settled, both sides the same
        elif rv == bv:
            assert values[key] == cv                            # only the component changed it
        elif cv == bv:
            assert values[key] == rv                            # only the registry changed it
        else:
            assert key in conflicts and key not in values       # both, differently: a person decides


@settings(max_examples=300, deadline=None)
@given(three_way(), st.randoms(use_true_random=False))
def test_the_merge_is_the_same_whichever_order_the_fields_are_visited(rbc, rnd):
    registry, base, component = rbc
    order = list(FIELDS)
    rnd.shuffle(order)

    def shuffled(values):
        out = {}
        for f in reversed(order):  # a different insertion order, keys inside maps too
            v = values[f]
            out[f] = dict(reversed(list(v.items()))) if isinstance(v, dict) else v
        return out

    assert merge(registry, base, component, FIELDS) == merge(
        shuffled(registry), shuffled(base), shuffled(component), order)
    assert merged_values(registry, base, component, FIELDS)[0] == merged_values(
        shuffled(registry), shuffled(base), shuffled(component), order)[0]


def test_state_of_sides():
    assert state_of([]) == "in_sync"
    assert state_of([COMPONENT, COMPONENT]) == "drifted"
    assert state_of([REGISTRY]) == "pending"
    assert state_of([REGISTRY, COMPONENT]) == "diverged"
    assert state_of([REGISTRY, COMPONENT, CONFLICT]) == "conflict"


def test_without_a_base_every_difference_is_a_conflict():
    assert merge({"memory": 1, "env": {"A": "x"}}, None, {"memory": 2, "env": {}}, ("memory", "env")) == {
        "memory": CONFLICT, "env.A": CONFLICT}


# --- the engine, field by field -----------------------------------------------------------

def _world(store, **registry_fields):
    gcp = MemoryComponent("gcp")
    record = deployed(make_spec("fn", memory=128, timeout=60), gcp)
    for key, value in registry_fields.items():
        setattr(record.spec, key, value)
    seed(store, record)
    gcp.registry_id = store.load().lineage   # what the engine marks with: this registry's identity
    for item in gcp.resources.values():
        gcp._own(item)
    return gcp


def _plan(store, gcp, **kw):
    snap = store.load()
    kw.setdefault("policies", {"gcp": Policy.COMPONENT_WINS})
    return build_plan(snap.functions, observe_all(gcp), ["gcp"], registry_serial=snap.serial,
                      registry_id=snap.lineage, **kw)


def _apply(store, journal, gcp, plan, decisions=()):
    from functions_tui.registry.apply import apply_plan

    result = apply_plan(plan, store, {"gcp": gcp}, journal, decisions)
    assert result.failed == [], [r.error for r in result.failed]
    return result


def test_edits_to_different_fields_merge_and_both_are_kept(store, journal):
    gcp = _world(store, memory=256)                 # the registry changed memory
    gcp.change("fn", timeout=90)                    # the component changed timeout
    plan = _plan(store, gcp)
    (status,) = plan.statuses
    assert status.state is State.DIVERGED
    assert {d.field: d.side for d in status.diffs} == {"memory": REGISTRY, "timeout": COMPONENT}
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["timeout"]),
                                                          (ActionKind.UPDATE, ["memory"])]
    assert plan.decisions == []
    _apply(store, journal, gcp, plan)
    spec = store.load().functions["fn"].spec
    assert (spec.memory, spec.timeout) == (256, 90)
    assert (gcp.resources["fn"].values["memory"], gcp.resources["fn"].values["timeout"]) == (256, 90)
    assert [s.state for s in _plan(store, gcp).statuses] == [State.IN_SYNC]


def test_a_pull_only_run_takes_the_component_side_and_leaves_the_registry_side_pending(store, journal):
    gcp = _world(store, memory=256)
    gcp.change("fn", timeout=90)
    plan = _plan(store, gcp, direction=Direction.PULL)
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["timeout"])]
    _apply(store, journal, gcp, plan)
    (status,) = _plan(store, gcp).statuses
    assert status.state is State.PENDING and [d.field for d in status.diffs] == ["memory"]
    assert store.load().functions["fn"].spec.timeout == 90


def test_env_keys_merge_one_by_one(store, journal):
    gcp = _world(store, env={"LOG_LEVEL": "debug", "API_KEY": "s3cret"})   # registry edits LOG_LEVEL
    gcp.change("fn", env={"LOG_LEVEL": "info", "API_KEY": "rotated"})      # component rotates API_KEY
    plan = _plan(store, gcp)
    assert plan.statuses[0].state is State.DIVERGED
    _apply(store, journal, gcp, plan)
    assert store.load().functions["fn"].spec.env == {"LOG_LEVEL": "debug", "API_KEY": "rotated"}
    assert gcp.resources["fn"].values["env"] == {"LOG_LEVEL": "debug", "API_KEY": "rotated"}


def test_a_true_conflict_is_a_decision_under_every_drift_policy(store):
    gcp = _world(store, memory=256)
    gcp.change("fn", memory=512, timeout=90)
    for policy in Policy:
        plan = _plan(store, gcp, policies={"gcp": policy})
        assert plan.statuses[0].state is State.CONFLICT
        assert [a.kind for a in plan.actions] == [ActionKind.ASK], policy
        assert "memory changed both in the registry and on gcp" in plan.actions[0].reason


def test_the_conflicts_setting_settles_conflicts_and_says_so(store, journal):
    gcp = _world(store, memory=256, runtime="nodejs20")   # registry: memory + runtime
    gcp.change("fn", memory=512, timeout=90)               # component: memory + timeout
    plan = _plan(store, gcp, conflicts={"gcp": "component-wins"})
    assert [a.kind for a in plan.actions] == [ActionKind.PULL, ActionKind.UPDATE]
    assert "conflicts: component-wins" in plan.actions[0].reason
    _apply(store, journal, gcp, plan)
    spec = store.load().functions["fn"].spec
    assert (spec.memory, spec.timeout, spec.runtime) == (512, 90, "nodejs20")


def test_conflicts_registry_wins_keeps_the_registry_for_conflicts_and_still_takes_clean_changes(store, journal):
    gcp = _world(store, memory=256)
    gcp.change("fn", memory=512, timeout=90)
    plan = _plan(store, gcp, conflicts={"gcp": "registry-wins"})
    _apply(store, journal, gcp, plan)
    spec = store.load().functions["fn"].spec
    assert (spec.memory, spec.timeout) == (256, 90)
    assert (gcp.resources["fn"].values["memory"], gcp.resources["fn"].values["timeout"]) == (256, 90)


def test_the_same_change_on_both_sides_settles(store, journal):
    gcp = _world(store, memory=512)
    gcp.change("fn", memory=512)
    plan = _plan(store, gcp)
    (status,) = plan.statuses
    assert status.state is State.IN_SYNC
    assert [a.kind for a in plan.actions] == [ActionKind.REBASE]


def test_a_decision_answers_the_conflicting_fields_and_the_clean_ones_still_merge(store, journal):
    from functions_tui.app.service import Decision

    gcp = _world(store, memory=256, runtime="nodejs20")
    gcp.change("fn", memory=512, timeout=90)
    plan = _plan(store, gcp)
    actions = resolve_decision(plan, Decision("fn", "gcp", "registry"))
    assert [(a.kind, a.fields) for a in actions] == [(ActionKind.PULL, ["timeout"]),
                                                     (ActionKind.UPDATE, ["memory", "runtime"])]
    actions = resolve_decision(plan, Decision("fn", "gcp", "component"))
    assert [(a.kind, a.fields) for a in actions] == [(ActionKind.PULL, ["memory", "timeout"]),
                                                     (ActionKind.UPDATE, ["runtime"])]
    _apply(store, journal, gcp, plan, [Decision("fn", "gcp", "merge", {"memory": "component"})])
    spec = store.load().functions["fn"].spec
    assert (spec.memory, spec.timeout, spec.runtime) == (512, 90, "nodejs20")
    assert gcp.resources["fn"].values["runtime"] == "nodejs20"


def test_a_merge_decision_must_answer_every_conflict(store):
    from functions_tui.app.service import Decision
    from functions_tui.registry.apply import DecisionError

    gcp = _world(store, memory=256)
    gcp.change("fn", memory=512, timeout=90)
    plan = _plan(store, gcp)
    with pytest.raises(DecisionError, match="choose registry or component for memory"):
        resolve_decision(plan, Decision("fn", "gcp", "merge", {"timeout": "registry"}))


# --- ownership ------------------------------------------------------------------------------

def test_a_resource_marked_by_another_registry_is_foreign_and_never_touched(store, journal):
    gcp = _world(store)
    gcp.put("theirs", {"memory": 128}, owner="another-registry")
    gcp.put("fn2", {"memory": 128}, owner="another-registry")
    for policy in Policy:
        plan = _plan(store, gcp, policies={"gcp": policy})
        states = {s.function: (s.state, s.detail) for s in plan.statuses}
        assert states["theirs"] == (State.FOREIGN, "another-registry")
        assert not [a for a in plan.actions if a.function in ("theirs", "fn2")]


def test_a_legacy_mark_is_claimed_only_where_this_registry_synced_the_function(store, journal):
    gcp = _world(store)
    gcp.resources["fn"].owner = None                      # deployed before registry identities
    gcp.put("stranger", {"memory": 128})                  # a legacy mark this registry never saw
    plan = _plan(store, gcp)
    states = {s.function: (s.state, s.detail) for s in plan.statuses}
    assert states["fn"][0] is State.IN_SYNC
    assert states["stranger"][0] is State.FOREIGN
    assert [(a.kind, a.function) for a in plan.actions] == [(ActionKind.CLAIM, "fn")]
    _apply(store, journal, gcp, plan)
    assert gcp.resources["fn"].owner == store.load().lineage
    assert gcp.resources["stranger"].owner is None
    assert _plan(store, gcp).actions == []
