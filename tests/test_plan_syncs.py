"""Named syncs: definition checks, `after` order with cycles, due-ness, a batch where a failed
sync skips the ones after it, and a job's plan limited to its components and direction."""

from __future__ import annotations

import pytest

from registry.classify import classify_all
from registry.models import FunctionRecord
from registry.ordering import CycleError
from registry.plan_types import ActionKind, Direction, Policy, State
from registry.syncs import SyncError, SyncJob, due, plan_sync, run_syncs, sync_order
from tests.engine_helpers import deployed, make_spec, observe_all
from tests.memory_component import MemoryComponent


def job(name, *after, components=("gcp",), **kw):
    return SyncJob(name, list(components), after=list(after), **kw)


def test_definition_errors_name_the_sync():
    with pytest.raises(SyncError, match="'x' needs at least one component"):
        SyncJob("x", [])
    with pytest.raises(SyncError, match="unknown component azure"):
        SyncJob("x", ["azure"])
    with pytest.raises(SyncError, match="'x'"):
        SyncJob("x", ["gcp"], direction="sideways")
    with pytest.raises(SyncError, match="interval"):
        SyncJob("x", ["gcp"], interval_s=-1)


def test_from_config_accepts_the_apps_sync_config_shape():
    class SyncConfig:  # app.config.SyncConfig's attribute names
        name, components, direction, policy, interval, after = "clouds", ["gcp", "aws"], "pull", None, 300, ["local"]

    made = SyncJob.from_config(SyncConfig())
    assert (made.name, made.components, made.direction, made.policy, made.interval_s, made.after) == (
        "clouds", ["gcp", "aws"], Direction.PULL, None, 300.0, ["local"])
    assert SyncJob.from_config(made.to_dict()) == made


def test_policy_of_the_sync_overrides_the_components():
    configured = {"gcp": "component-wins", "aws": "ask"}
    assert job("a", components=("gcp", "aws")).policies(configured) == {
        "gcp": Policy.COMPONENT_WINS, "aws": Policy.ASK}
    assert job("a", components=("gcp", "aws"), policy="registry-wins").policies(configured) == {
        "gcp": Policy.REGISTRY_WINS, "aws": Policy.REGISTRY_WINS}


def test_order_follows_after_and_cycles_are_named():
    assert [j.name for j in sync_order([job("deploy", "build"), job("build"), job("audit")])] == [
        "audit", "build", "deploy"]
    with pytest.raises(CycleError, match="syncs: a -> b -> a"):
        sync_order([job("a", "b"), job("b", "a")])
    with pytest.raises(SyncError, match="runs after nope"):
        sync_order([job("a", "nope")])
    with pytest.raises(SyncError, match="twice"):
        sync_order([job("a"), job("a")])


def test_due_uses_each_interval():
    jobs = [job("fast", interval_s=60), job("slow", interval_s=3600), job("manual")]
    assert [j.name for j in due(jobs, {}, now=1000.0)] == ["fast", "slow"]
    assert [j.name for j in due(jobs, {"fast": 900.0, "slow": 900.0}, now=1000.0)] == ["fast"]
    assert due(jobs, {"fast": 990.0, "slow": 990.0}, now=1000.0) == []


def test_a_failed_sync_skips_the_syncs_after_it_and_the_rest_run():
    ran = []

    def run_one(j):
        ran.append(j.name)
        if j.name == "build":
            raise RuntimeError("docker daemon went away")
        return True

    outcomes = {o.name: o for o in run_syncs(
        [job("build"), job("deploy", "build"), job("verify", "deploy"), job("audit")], run_one)}
    assert ran == ["audit", "build"]
    assert outcomes["build"].error == "RuntimeError: docker daemon went away"
    assert outcomes["deploy"].skipped and "build" in outcomes["deploy"].error
    assert outcomes["verify"].skipped and outcomes["audit"].ok


def test_an_apply_result_with_failures_counts_as_failed():
    class Result:
        failed = ["x"]

    outcomes = run_syncs([job("a"), job("b", "a")], lambda j: Result())
    assert [(o.name, o.ok, o.skipped) for o in outcomes] == [("a", False, False), ("b", False, True)]


def test_plan_of_a_sync_covers_only_its_components_and_direction():
    docker, gcp = MemoryComponent("docker"), MemoryComponent("gcp")
    records = {"fn": deployed(make_spec("fn", components=("docker", "gcp")), docker, gcp)}
    gcp.change("fn", memory=1024)
    docker.change("fn", timeout=5)
    records["new"] = FunctionRecord(spec=make_spec("new", components=("docker", "gcp")))
    plan = plan_sync(job("gcp-pull", components=("gcp",), direction="pull"), records, observe_all(docker, gcp),
                     component_policies={"gcp": "component-wins"})
    assert {s.component for s in plan.statuses} == {"gcp"}
    assert [(a.function, a.kind) for a in plan.actions] == [("fn", ActionKind.PULL)]  # no CREATE when pulling


def test_plan_of_a_sync_whose_component_was_not_observed_is_unknown():
    records = {"fn": FunctionRecord(spec=make_spec("fn"))}
    plan = plan_sync(job("g"), records, {})
    assert "not observed" in plan.unknown["gcp"] and plan.actions == []


def test_classify_all_applies_the_guards_and_survives_a_cycle():
    gcp = MemoryComponent("gcp", partial=True)
    records = {"a": deployed(make_spec("a", after=["b"]), gcp), "b": deployed(make_spec("b", after=["a"]), gcp)}
    gcp.remove("a")
    statuses = {s.function: s.state for s in classify_all(records, observe_all(gcp), ["gcp"])}
    assert statuses == {"a": State.UNKNOWN, "b": State.IN_SYNC}
