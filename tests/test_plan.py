"""build_plan: the action each state gets under each policy and direction, the safety guards,
`after` ordering with cycles, and pulls that propagate to a function's other components."""

from __future__ import annotations

import dataclasses
import json

import pytest

from functions_tui.registry.models import FunctionRecord
from functions_tui.registry.ordering import CycleError, topological_order
from functions_tui.registry.plan import build_plan, classify_all, observed_for
from functions_tui.registry.plan_types import ActionKind, Direction, Policy, State
from tests.engine_helpers import deployed, make_spec, observe_all
from tests.memory_component import MemoryComponent

CW, RW, ASK = Policy.COMPONENT_WINS, Policy.REGISTRY_WINS, Policy.ASK


def kinds(plan) -> list[tuple[str, str, ActionKind]]:
    return [(a.function, a.component, a.kind) for a in plan.actions]


def plan_for(records, *components, policy=CW, **kw):
    return build_plan(records, observe_all(*components), policies={c.name: policy for c in components}, **kw)


def one_world(state: str):
    """One function on gcp, put in ``state``."""
    gcp = MemoryComponent("gcp")
    records = {}
    if state == "unmanaged":
        gcp.put("fn", {"memory": 128})
        return records, gcp
    record = deployed(make_spec("fn"), gcp) if state != "not_deployed" else FunctionRecord(spec=make_spec("fn"))
    records["fn"] = record
    if state == "drifted":
        gcp.change("fn", memory=1024)
    elif state == "pending":
        record.spec.memory = 512
    elif state == "conflict":
        record.spec.memory = 512
        gcp.change("fn", memory=1024)
    elif state == "ghost":
        gcp.remove("fn")
        # A listing emptied by the deletion would (rightly) read as a failed one; keep it non-empty.
        records["other"] = deployed(make_spec("other"), gcp)
    return records, gcp


@pytest.mark.parametrize("state, policy, expected", [
    ("in_sync", CW, None), ("in_sync", RW, None), ("in_sync", ASK, None),
    ("drifted", CW, ActionKind.PULL), ("drifted", RW, ActionKind.UPDATE), ("drifted", ASK, ActionKind.ASK),
    ("pending", CW, ActionKind.UPDATE), ("pending", RW, ActionKind.UPDATE), ("pending", ASK, ActionKind.UPDATE),
    # A conflict is a decision whatever the drift policy (only the explicit conflicts setting settles it).
    ("conflict", CW, ActionKind.ASK), ("conflict", RW, ActionKind.ASK), ("conflict", ASK, ActionKind.ASK),
    ("ghost", CW, ActionKind.PRUNE), ("ghost", RW, ActionKind.CREATE), ("ghost", ASK, ActionKind.ASK),
    ("not_deployed", CW, ActionKind.CREATE), ("not_deployed", RW, ActionKind.CREATE),
    ("not_deployed", ASK, ActionKind.CREATE),
    ("unmanaged", CW, ActionKind.ADOPT), ("unmanaged", RW, ActionKind.DELETE), ("unmanaged", ASK, ActionKind.ASK),
])
def test_each_state_under_each_policy(state, policy, expected):
    records, gcp = one_world(state)
    plan = plan_for(records, gcp, policy=policy)
    assert [a.kind for a in plan.actions] == ([expected] if expected else [])
    for action in plan.actions:
        assert action.reason and action.function == "fn" and action.component == "gcp"


def test_default_policies_ask_for_docker_and_pull_for_clouds():
    docker, gcp = MemoryComponent("docker"), MemoryComponent("gcp")
    records = {"fn": deployed(make_spec("fn", components=("docker", "gcp")), docker, gcp)}
    docker.change("fn", memory=1024)
    gcp.change("fn", timeout=5)
    plan = build_plan(records, observe_all(docker, gcp))
    by_comp = {a.component: a.kind for a in plan.actions if a.kind is not ActionKind.UPDATE}
    assert by_comp == {"docker": ActionKind.ASK, "gcp": ActionKind.PULL}


def test_update_and_pull_name_their_fields():
    records, gcp = one_world("drifted")
    gcp.change("fn", env={"LOG_LEVEL": "debug", "API_KEY": "s3cret"})
    [pull] = plan_for(records, gcp, policy=CW).actions
    assert pull.fields == ["memory", "env.LOG_LEVEL"]
    [update] = plan_for(records, gcp, policy=RW).actions
    assert update.fields == ["env", "memory"]
    assert "memory" in update.reason and "env.LOG_LEVEL" in update.reason


@pytest.mark.parametrize("state, policy", [("drifted", CW), ("conflict", CW), ("ghost", CW), ("unmanaged", CW),
                                           ("pending", CW), ("not_deployed", CW), ("unmanaged", RW),
                                           ("drifted", RW), ("ghost", RW)])
@pytest.mark.parametrize("direction", [Direction.PULL, Direction.PUSH])
def test_direction_limits_the_actions(state, policy, direction):
    records, gcp = one_world(state)
    plan = plan_for(records, gcp, policy=policy, direction=direction)
    forbidden = ({ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DELETE} if direction is Direction.PULL
                 else {ActionKind.PULL, ActionKind.PRUNE, ActionKind.ADOPT})
    assert not {a.kind for a in plan.actions} & forbidden


def test_a_conflict_the_direction_cannot_resolve_is_asked():
    records, gcp = one_world("conflict")
    [action] = plan_for(records, gcp, policy=CW, direction=Direction.PUSH).actions
    assert action.kind is ActionKind.ASK


def test_global_ignore_list_applies_to_every_function():
    records, gcp = one_world("drifted")
    assert plan_for(records, gcp, global_ignore=["memory"]).actions == []


def test_rebase_when_both_sides_agree_but_the_base_is_stale():
    records, gcp = one_world("pending")
    gcp.change("fn", memory=512)
    plan = plan_for(records, gcp)
    assert kinds(plan) == [("fn", "gcp", ActionKind.REBASE)]
    assert plan.statuses[0].state is State.IN_SYNC


# --- guards -----------------------------------------------------------------------------------

def _ghosts_and_strays(**component_kw):
    """Two functions deployed then deleted out of band, and one marked stray resource."""
    gcp = MemoryComponent("gcp")
    records = {n: deployed(make_spec(n), gcp) for n in ("a", "b")}
    gcp.remove("a")
    gcp.put("stray")
    for key, value in component_kw.items():
        setattr(gcp, key, value)
    return records, gcp


@pytest.mark.parametrize("policy", [CW, RW])
def test_partial_listing_makes_the_component_unknown_and_deletes_nothing(policy):
    records, gcp = _ghosts_and_strays(partial=True)
    plan = plan_for(records, gcp, policy=policy)
    assert "incomplete" in plan.unknown["gcp"] and "page 2" in plan.unknown["gcp"]
    assert not any(a.destructive for a in plan.actions)
    states = {s.function: s.state for s in plan.statuses}
    assert states["a"] is State.UNKNOWN          # absent from a partial listing proves nothing
    assert states["b"] is State.IN_SYNC          # present items are still classified
    assert states["stray"] is State.UNMANAGED
    if policy is CW:
        assert ("stray", "gcp", ActionKind.ADOPT) in kinds(plan)  # adopting destroys nothing
    assert ("a", "gcp", ActionKind.CREATE) not in kinds(plan)    # might exist on a missing page


def test_failed_listing_is_unknown_with_its_error():
    records, gcp = _ghosts_and_strays(fail_observe="403 permission denied")
    plan = plan_for(records, gcp, policy=CW)
    assert "403 permission denied" in plan.unknown["gcp"]
    assert plan.actions == []
    assert {s.state for s in plan.statuses} == {State.UNKNOWN}


def test_unavailable_component_is_unknown_with_the_reason():
    records, gcp = _ghosts_and_strays()
    plan = build_plan(records, {}, policies={"gcp": CW}, unavailable={"gcp": "gcloud credentials missing"})
    assert plan.unknown == {"gcp": "gcloud credentials missing"}
    assert plan.actions == []
    assert [(s.function, s.state, s.detail) for s in plan.statuses] == [
        ("a", State.UNKNOWN, "gcloud credentials missing"), ("b", State.UNKNOWN, "gcloud credentials missing")]


def test_empty_listing_while_functions_are_expected_is_unknown():
    gcp = MemoryComponent("gcp")
    records = {n: deployed(make_spec(n), gcp) for n in ("a", "b")}
    gcp.resources.clear()
    plan = plan_for(records, gcp, policy=CW)
    assert "listed no functions" in plan.unknown["gcp"] and "allow_empty" in plan.unknown["gcp"]
    assert plan.actions == []
    trusted = plan_for(records, gcp, policy=CW, allow_empty=True)
    assert trusted.unknown == {}
    assert kinds(trusted) == [("b", "gcp", ActionKind.PRUNE), ("a", "gcp", ActionKind.PRUNE)]


def test_empty_listing_is_fine_when_nothing_was_deployed_yet():
    gcp = MemoryComponent("gcp")
    plan = plan_for({"a": FunctionRecord(spec=make_spec("a"))}, gcp)
    assert plan.unknown == {} and kinds(plan) == [("a", "gcp", ActionKind.CREATE)]


def test_allow_empty_does_not_override_a_failed_listing():
    records, gcp = _ghosts_and_strays(fail_observe=True)
    assert "gcp" in plan_for(records, gcp, allow_empty=True).unknown


def test_too_many_deletions_plans_none_of_them_and_warns():
    gcp = MemoryComponent("gcp")
    for i in range(4):
        gcp.put(f"stray{i}")
    plan = plan_for({}, gcp, policy=RW, max_deletions=3)
    assert plan.actions == []
    assert "4" in plan.warnings[0] and "max_deletions=3" in plan.warnings[0]
    assert len(plan_for({}, gcp, policy=RW, max_deletions=4).actions) == 4


def test_unmarked_resources_are_never_deleted_or_adopted():
    gcp = MemoryComponent("gcp", {"theirs": {}}, unmarked=["theirs"])
    observation = gcp.observe()
    observation.items["theirs"] = gcp.resources["theirs"]  # even if a listing did hand it over
    for policy in (CW, RW, ASK):
        plan = build_plan({}, {"gcp": observation}, policies={"gcp": policy})
        assert plan.actions == []
        assert plan.statuses[0].detail == "unmarked"


def test_components_not_in_the_plan_are_left_alone():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    records = {"fn": FunctionRecord(spec=make_spec("fn", components=("gcp", "aws")))}
    plan = build_plan(records, observe_all(gcp), policies={"gcp": CW})
    assert kinds(plan) == [("fn", "gcp", ActionKind.CREATE)]


# --- ordering ---------------------------------------------------------------------------------

def test_actions_follow_after_and_deletions_come_last_dependents_first():
    gcp = MemoryComponent("gcp")
    records = {
        "db": FunctionRecord(spec=make_spec("db")),
        "api": FunctionRecord(spec=make_spec("api", after=["db"])),
        "web": FunctionRecord(spec=make_spec("web", after=["api"])),
    }
    for name in ("old-a", "old-b"):
        gcp.put(name)
    records["old-a"] = deployed(make_spec("old-a"), MemoryComponent("gcp"))
    records["old-a"].spec.after = []
    records["old-b"] = deployed(make_spec("old-b", after=["old-a"]), MemoryComponent("gcp"))
    gcp.remove("old-a")
    gcp.remove("old-b")
    plan = plan_for(records, gcp, policy=CW, allow_empty=True)
    assert kinds(plan) == [("db", "gcp", ActionKind.CREATE), ("api", "gcp", ActionKind.CREATE),
                           ("web", "gcp", ActionKind.CREATE),
                           ("old-b", "gcp", ActionKind.PRUNE), ("old-a", "gcp", ActionKind.PRUNE)]
    assert [a.depends_on for a in plan.actions[:3]] == [[], ["db"], ["api"]]


def test_questions_are_listed_after_everything_that_runs():
    gcp = MemoryComponent("gcp")
    records = {"a": deployed(make_spec("a"), gcp), "z": FunctionRecord(spec=make_spec("z"))}
    gcp.change("a", memory=1)
    plan = plan_for(records, gcp, policy=ASK)
    assert kinds(plan) == [("z", "gcp", ActionKind.CREATE), ("a", "gcp", ActionKind.ASK)]
    assert [a.function for a in plan.decisions] == ["a"]


def test_a_cycle_is_an_error_that_names_it():
    gcp = MemoryComponent("gcp")
    records = {n: FunctionRecord(spec=make_spec(n, after=[d])) for n, d in
               (("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"))}
    with pytest.raises(CycleError) as err:
        plan_for(records, gcp)
    assert "a -> b -> c -> a" in str(err.value)
    assert err.value.cycle == ["a", "b", "c", "a"]


def test_self_dependency_is_a_cycle():
    with pytest.raises(CycleError, match="x -> x"):
        topological_order({"x": ["x"]})


def test_topological_order_is_deterministic_and_ignores_unknown_names():
    graph = {"c": [], "b": ["ghost"], "a": ["c"], "d": ["b", "a"]}
    order = topological_order(graph)
    assert sorted(order) == ["a", "b", "c", "d"]
    assert order.index("c") < order.index("a") < order.index("d") and order.index("b") < order.index("d")
    assert order == topological_order(dict(reversed(list(graph.items()))))


def test_a_long_chain_needs_no_recursion():
    chain = {f"f{i:05d}": [f"f{i - 1:05d}"] if i else [] for i in range(5000)}
    assert topological_order(chain) == sorted(chain)


# --- pulls shared across a function's components ---------------------------------------------

def test_a_pull_is_pushed_to_the_other_components_in_the_same_plan():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    records = {"fn": deployed(make_spec("fn", components=("gcp", "aws")), gcp, aws)}
    gcp.change("fn", memory=2048)
    plan = plan_for(records, gcp, aws, policy=CW)
    assert kinds(plan) == [("fn", "gcp", ActionKind.PULL), ("fn", "aws", ActionKind.UPDATE)]
    assert plan.actions[1].fields == ["memory"] and "gcp" in plan.actions[1].reason


def test_two_components_pulling_different_values_is_a_question():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    records = {"fn": deployed(make_spec("fn", components=("gcp", "aws")), gcp, aws)}
    gcp.change("fn", memory=2048)
    aws.change("fn", memory=4096)
    plan = plan_for(records, gcp, aws, policy=CW)
    assert [a.kind for a in plan.actions] == [ActionKind.ASK, ActionKind.ASK]
    assert "gcp and aws" in plan.actions[0].reason


def test_two_components_pulling_different_fields_both_get_the_merge():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    records = {"fn": deployed(make_spec("fn", components=("gcp", "aws")), gcp, aws)}
    gcp.change("fn", memory=2048)
    aws.change("fn", timeout=30)
    plan = plan_for(records, gcp, aws, policy=CW)
    assert kinds(plan) == [("fn", "gcp", ActionKind.PULL), ("fn", "aws", ActionKind.PULL),
                           ("fn", "gcp", ActionKind.UPDATE), ("fn", "aws", ActionKind.UPDATE)]
    assert (plan.actions[2].fields, plan.actions[3].fields) == (["timeout"], ["memory"])


def test_a_pulled_run_state_stays_with_its_component():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    records = {"fn": deployed(make_spec("fn", components=("gcp", "aws")), gcp, aws)}
    gcp.change("fn", state="stopped")
    assert kinds(plan_for(records, gcp, aws, policy=CW)) == [("fn", "gcp", ActionKind.PULL)]


def test_the_same_stray_on_two_components_is_adopted_once_if_they_agree():
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    gcp.put("stray", {"memory": 128})
    aws.put("stray", {"memory": 128})
    assert [a.kind for a in plan_for({}, gcp, aws).actions] == [ActionKind.ADOPT, ActionKind.ADOPT]
    aws.change("stray", memory=256)
    assert [a.kind for a in plan_for({}, gcp, aws).actions] == [ActionKind.ADOPT, ActionKind.ASK]


# --- what a plan carries ----------------------------------------------------------------------

def test_plan_keeps_the_serial_and_never_serializes_a_secret():
    records, gcp = one_world("drifted")
    gcp.change("fn", env={"API_KEY": "pw-rotated-77"})
    plan = plan_for(records, gcp, registry_serial=41)
    assert plan.registry_serial == 41
    text = json.dumps(dataclasses.asdict(plan), default=str)
    assert "pw-rotated-77" not in text and "s3cret" not in text
    assert observed_for(plan, "fn", "gcp").values["env"] == {"API_KEY": "pw-rotated-77"}


def test_every_pair_gets_exactly_one_status():
    docker, gcp = MemoryComponent("docker"), MemoryComponent("gcp")
    records = {"a": deployed(make_spec("a", components=("docker", "gcp")), docker, gcp),
               "b": FunctionRecord(spec=make_spec("b", components=("gcp",)))}
    docker.put("stray")
    plan = build_plan(records, observe_all(docker, gcp))
    assert sorted((s.function, s.component) for s in plan.statuses) == [
        ("a", "docker"), ("a", "gcp"), ("b", "gcp"), ("stray", "docker")]


def test_classify_all_applies_the_guards_and_survives_a_cycle():
    gcp = MemoryComponent("gcp", partial=True)
    records = {"a": deployed(make_spec("a", after=["b"]), gcp), "b": deployed(make_spec("b", after=["a"]), gcp)}
    gcp.remove("a")
    statuses = {s.function: s.state for s in classify_all(records, observe_all(gcp), ["gcp"])}
    assert statuses == {"a": State.UNKNOWN, "b": State.IN_SYNC}


def test_a_built_plan_is_never_edited_a_narrower_one_is_made_from_it():
    """What a person reviewed is what is applied: commands narrow a sync's plan (one function,
    one pair, gc's removals) into a new plan; the one built stays as built."""
    records, gcp = one_world("drifted")
    plan = plan_for(records, gcp, registry_serial=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.actions = []
    narrowed = plan.with_actions([], "nothing asked")
    assert plan.actions and narrowed.actions == [] and narrowed.warnings[-1] == "nothing asked"
    assert narrowed.statuses == plan.statuses and narrowed.registry_serial == 7
    # the observed values it was decided on travel with it (a PULL needs them at apply time)
    assert observed_for(narrowed, "fn", "gcp") is observed_for(plan, "fn", "gcp") is not None
    assert plan.read_at(8).registry_serial == 8 and plan.registry_serial == 7


def test_a_runtime_spelled_the_providers_way_is_the_same_runtime():
    """Cloud Functions reports ``python311`` for a declared ``python3.11``: in sync, not drift;
    and a registry change of runtime is a push even when B and C spell the old one apart."""
    records, gcp = one_world("in_sync")
    spec = records["fn"].spec
    gcp.change("fn", runtime=spec.runtime.replace(".", ""))
    [status] = plan_for(records, gcp).statuses
    assert status.state is State.IN_SYNC

    spec.runtime = "python3.13"
    plan = plan_for(records, gcp)
    assert plan.statuses[0].state is State.PENDING
    assert [(d.field, d.side) for d in plan.statuses[0].diffs] == [("runtime", "registry")]
