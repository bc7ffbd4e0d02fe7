"""SyncService, the API the app and the CLI share, in process against moto's server:
decisions (keep registry, take component, merge), resolve, and read-only everywhere."""

from __future__ import annotations

import pytest

from functions_tui.app.service import Decision, ReadOnlyError, SyncService
from functions_tui.registry.plan_types import ActionKind, State
from tests.cli_helpers import make_function, write_yaml


@pytest.fixture
def service(tmp_path, aws_clean, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/functions-tui-test.sock")
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    for key in ("FUNCTIONS_TUI_GCP_ENDPOINT", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(key, raising=False)
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}, "policies": {"aws": "ask"}})
    make_function(tmp_path / "src", "alpha", memory=128, timeout=10, targets={"aws": {}})
    svc = SyncService(home)
    svc.add(tmp_path / "src")
    result = svc.apply(svc.plan(["aws"]))
    assert not result.failed and [r.action.kind for r in result.results] == [ActionKind.CREATE]
    return svc, aws_clean


def _drift(aws, **config):
    aws.client("lambda").update_function_configuration(FunctionName="alpha", **config)


def _state(svc) -> State:
    return {s.function: s.state for s in svc.status(["aws"])}["alpha"]


def test_keep_registry_pushes_it_back(service):
    svc, aws = service
    _drift(aws, MemorySize=512)
    plan = svc.plan(["aws"])
    assert [(a.function, a.kind) for a in plan.decisions] == [("alpha", ActionKind.ASK)]
    result = svc.apply(plan, [Decision("alpha", "aws", "registry")])
    assert not result.failed
    assert aws.client("lambda").get_function_configuration(FunctionName="alpha")["MemorySize"] == 128
    assert _state(svc) is State.IN_SYNC


def test_resolve_take_component_updates_the_registry(service):
    svc, aws = service
    _drift(aws, MemorySize=512)
    svc.observe(["aws"])  # what the app's background sync would have done
    result = svc.resolve(Decision("alpha", "aws", "component"))
    assert not result.failed
    assert svc.records()["alpha"].spec.memory == 512
    assert _state(svc) is State.IN_SYNC
    assert "pull" in [h.action for h in svc.history("alpha")]


def test_merge_field_by_field(service):
    svc, aws = service
    _drift(aws, MemorySize=512, Timeout=30)
    plan = svc.plan(["aws"])
    result = svc.apply(plan, [Decision("alpha", "aws", "merge", {"memory": "component", "timeout": "registry"})])
    assert not result.failed, [r.error for r in result.failed]
    assert svc.records()["alpha"].spec.memory == 512 and svc.records()["alpha"].spec.timeout == 10
    assert aws.client("lambda").get_function_configuration(FunctionName="alpha")["Timeout"] == 10
    assert _state(svc) is State.IN_SYNC


def test_skip_leaves_everything_as_it_was(service):
    svc, aws = service
    _drift(aws, MemorySize=512)
    before = svc.store.path.read_bytes()
    result = svc.apply(svc.plan(["aws"]), [Decision("alpha", "aws", "skip")])
    assert result.results == []
    assert svc.store.path.read_bytes() == before
    assert _state(svc) is State.DRIFTED


def test_read_only_refuses_every_mutation_in_one_place(service, tmp_path):
    svc, aws = service
    _drift(aws, MemorySize=512)
    ro = SyncService(svc.home, read_only=True)
    plan = ro.plan(["aws"])  # reading and planning are fine
    assert ro.status(["aws"]) and plan.decisions
    before = svc.store.path.read_bytes()
    for call in (lambda: ro.apply(plan, [Decision("alpha", "aws", "registry")]),
                 lambda: ro.resolve(Decision("alpha", "aws", "component")),
                 lambda: ro.add(tmp_path / "src"),
                 lambda: ro.deploy("alpha"),
                 lambda: ro.delete("alpha"),
                 lambda: ro.set_run_state("alpha", "stopped"),
                 lambda: ro.restore()):
        with pytest.raises(ReadOnlyError):
            call()
    assert svc.store.path.read_bytes() == before
    assert aws.client("lambda").get_function_configuration(FunctionName="alpha")["MemorySize"] == 512


def test_a_named_sync_brings_its_own_components_direction_and_policy(service):
    svc, aws = service
    write_yaml(svc.home / "config.yaml", {
        "aws": {"role": aws.role_arn}, "policies": {"aws": "ask"},
        "syncs": [{"name": "clouds", "components": ["aws"], "direction": "pull", "policy": "component-wins"}]})
    _drift(aws, MemorySize=512)
    fresh = SyncService(svc.home)
    assert [(a.function, a.kind) for a in fresh.plan().decisions] == [("alpha", ActionKind.ASK)]
    plan = fresh.plan(sync="clouds")
    assert [(a.function, a.component, a.kind) for a in plan.actions] == [("alpha", "aws", ActionKind.PULL)]
    with pytest.raises(Exception, match="no sync named 'nightly'"):
        fresh.plan(sync="nightly")
