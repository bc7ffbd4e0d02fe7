"""A sync on moto whose apply is held inside a Lambda create (deterministically: the create
waits on an Event the test sets) while a real `functions-tui add` runs in another process:
the add gets the registry at once (no 10 s lock wait, no "locked by" error), its change
survives the apply, and the apply's own outcomes are all recorded."""

from __future__ import annotations

import threading

import pytest

from functions_tui.app.service import SyncService
from functions_tui.registry.journal import Journal
from functions_tui.registry.plan_types import ActionKind, State
from tests.cli_helpers import cli_env, make_function, run_cli, write_yaml


@pytest.fixture
def project(tmp_path, aws_clean, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/functions-tui-test.sock")
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    for key in ("FUNCTIONS_TUI_GCP_ENDPOINT", "GOOGLE_CLOUD_PROJECT", "FUNCTIONS_TUI_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    env = cli_env(home, **aws_clean.handle.env())
    src = tmp_path / "src"
    for name in ("alpha", "beta", "gamma"):
        make_function(src, name, memory=128, timeout=10, targets={"aws": {}})
    done = run_cli("add", str(src), env=env)
    assert done.returncode == 0, done.stderr
    return home, env, src, aws_clean


def test_an_add_during_a_long_apply_gets_the_registry_at_once_and_survives(project, tmp_path):
    home, env, src, aws = project
    assert run_cli("add", str(src), env=env).returncode == 0

    svc = SyncService(home)
    plan = svc.plan(["aws"])
    assert sorted((a.function, a.kind) for a in plan.actions) == [
        ("alpha", ActionKind.CREATE), ("beta", ActionKind.CREATE), ("gamma", ActionKind.CREATE)]
    adapter = svc.adapter("aws")
    inside, release = threading.Event(), threading.Event()
    real_create = adapter.create

    def held_create(spec):
        if spec.name == "beta":
            inside.set()
            assert release.wait(120), "the test never released the apply"
        return real_create(spec)

    adapter.create = held_create
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(svc.apply(plan)), daemon=True)
    worker.start()
    try:
        assert inside.wait(60), "the apply never reached beta's create"
        make_function(tmp_path / "later", "delta", memory=256, timeout=20, targets={"aws": {}})
        # The apply stays inside beta's create until the test releases it: had it held the
        # registry lock, this add would have failed with "locked" after the lock timeout.
        added = run_cli("add", str(tmp_path / "later" / "delta"), env=env)
        assert added.returncode == 0, added.stderr
        assert "locked" not in added.stderr
        assert worker.is_alive()                   # the apply was still inside beta's create
        assert "delta" in svc.store.load().functions
    finally:
        release.set()
        worker.join(120)
    (result,) = outcome
    assert [(r.action.function, r.ok, r.error) for r in result.results] == [
        ("alpha", True, ""), ("beta", True, ""), ("gamma", True, "")]

    functions = svc.store.load().functions
    for name in ("alpha", "beta", "gamma"):   # every outcome recorded
        assert functions[name].components["aws"].base is not None, name
    delta = functions["delta"]                # the add's change survived the apply
    assert (delta.spec.memory, delta.spec.timeout, delta.components) == (256, 20, {})
    assert Journal.for_store(svc.store).entries() == []
    after = svc.plan(["aws"])
    assert {s.function: s.state for s in after.statuses} == {
        "alpha": State.IN_SYNC, "beta": State.IN_SYNC, "gamma": State.IN_SYNC, "delta": State.MISSING}
    assert [(a.function, a.kind) for a in after.actions] == [("delta", ActionKind.CREATE)]
