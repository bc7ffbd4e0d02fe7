"""`add` never reverts a value pulled since the declaration was last read, and a pull keeps
function.yaml true: through SyncService and the real engine, with the in-memory component
(tests/memory_component.py) as gcp and real declaration files in tmp_path."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from functions_tui.app.service import SyncService
from functions_tui.app.writeback import declaration_behind
from functions_tui.registry.kinds import component_names
from functions_tui.registry.plan_types import ActionKind, State
from tests.memory_component import MemoryComponent

DECLARATION = """\
# alpha: the first function
name: alpha
runtime: python3.11       # keep in step with the image
entry_point: main
memory: 128               # MB
timeout: 30               # seconds
env:
  LEVEL: info
targets:
  gcp: {region: europe-west1}
"""


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A service whose only usable component is an in-memory gcp, and alpha declared,
    added and deployed there (in sync)."""
    for key in ("MEM", "API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    gcp = MemoryComponent("gcp")
    components = {n: gcp if n == "gcp" else MemoryComponent(n, available=False) for n in component_names()}
    home = tmp_path / "home"
    home.mkdir()
    svc = SyncService(home, components=components)
    folder = tmp_path / "src" / "alpha"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("def main(event, context):\n    return 'alpha'\n")
    return svc, gcp, folder


def declare(svc: SyncService, folder: Path, text: str) -> Path:
    path = folder / "function.yaml"
    path.write_text(text)
    svc.add(folder)
    result = svc.apply(svc.plan(["gcp"]))
    assert not result.failed and [r.action.kind for r in result.results] == [ActionKind.CREATE]
    return path


def pull(svc: SyncService):
    """A sync of gcp under its default policy (component-wins): the drift is pulled."""
    plan = svc.plan(["gcp"])
    assert [(a.function, a.kind) for a in plan.actions] == [("alpha", ActionKind.PULL)], plan.actions
    result = svc.apply(plan)
    assert not result.failed, [r.error for r in result.failed]
    return result


def alpha(svc: SyncService):
    return svc.records()["alpha"].spec


def plan_for_alpha(svc: SyncService):
    plan = svc.plan(["gcp"])
    return ([a for a in plan.actions if a.function == "alpha"],
            {s.state for s in plan.statuses if s.function == "alpha"})


def test_pull_writes_the_declaration_and_add_then_keeps_the_pulled_value(setup):
    svc, gcp, folder = setup
    path = declare(svc, folder, DECLARATION)
    gcp.change("alpha", memory=512)          # changed in the console

    result = pull(svc)
    assert result.warnings == []
    assert path.read_text() == DECLARATION.replace("memory: 128 ", "memory: 512 ")
    assert alpha(svc).memory == 512 and alpha(svc).declared["memory"] == 512
    assert "declaration written" in [h.action for h in svc.history("alpha")]

    svc.add(folder)                          # the unchanged file, added again
    assert alpha(svc).memory == 512
    assert plan_for_alpha(svc) == ([], {State.IN_SYNC})

    # The user edits timeout: it wins (pending, pushed by the next sync); memory stays.
    path.write_text(path.read_text().replace("timeout: 30 ", "timeout: 90 "))
    svc.add(folder)
    spec = alpha(svc)
    assert (spec.memory, spec.timeout) == (512, 90)
    actions, states = plan_for_alpha(svc)
    assert states == {State.PENDING} and [a.kind for a in actions] == [ActionKind.UPDATE]
    assert not svc.apply(svc.plan(["gcp"])).failed
    assert gcp.resources["alpha"].values["timeout"] == 90 and gcp.resources["alpha"].values["memory"] == 512


def test_a_variable_reference_is_left_alone_and_add_does_not_revert_the_pull(setup):
    svc, gcp, folder = setup
    text = DECLARATION.replace("memory: 128 ", "memory: ${MEM}") \
        .replace("  LEVEL: info\n", "  LEVEL: info\n  TOKEN: ${API_TOKEN}\n") \
        + "variables: {MEM: 128, API_TOKEN: first-token}\n"
    path = declare(svc, folder, text)
    gcp.change("alpha", memory=512, env={"LEVEL": "debug", "TOKEN": "rotated-s3cret"})

    result = pull(svc)
    assert path.read_text() == text.replace("LEVEL: info", "LEVEL: debug")   # only the plain value
    assert result.warnings == [
        f"alpha: memory: set MEM=512 (or edit {path}:5)",
        f"alpha: env.TOKEN: set API_TOKEN to the new value (a secret: not shown) (or edit {path}:9)",
    ]
    spec = alpha(svc)
    assert spec.memory == 512 and spec.env["TOKEN"] == "rotated-s3cret"
    behind = declaration_behind(svc.record("alpha"), environ={})
    assert behind == [f"memory: set MEM=512 (declared as ${{MEM}} at {path}:5)",
                      f"env.TOKEN: set API_TOKEN to the registry's value (a secret: not shown) "
                      f"(declared as ${{API_TOKEN}} at {path}:9)"]
    assert "rotated-s3cret" not in repr((result.warnings, behind))

    svc.add(folder)                          # MEM still 128 in the file: not an edit
    spec = alpha(svc)
    assert spec.memory == 512 and spec.env["TOKEN"] == "rotated-s3cret" and spec.env["LEVEL"] == "debug"
    assert plan_for_alpha(svc) == ([], {State.IN_SYNC})
    assert declaration_behind(svc.record("alpha"), environ={}) == behind


def test_an_unwritable_declaration_is_a_warning_and_the_pulled_value_stays(setup):
    svc, gcp, folder = setup
    path = declare(svc, folder, DECLARATION)
    path.chmod(0o444)
    try:
        gcp.change("alpha", timeout=45)
        result = pull(svc)
        assert result.warnings == [f"alpha: timeout not written back: {path} is read-only"]
        assert path.read_text() == DECLARATION and stat.S_IMODE(path.stat().st_mode) == 0o444
        assert alpha(svc).timeout == 45 and alpha(svc).declared["timeout"] == 30
        assert declaration_behind(svc.record("alpha")) == [f"timeout: {path} is read-only"]

        svc.add(folder)                      # the old file: does not revert the pull
        assert alpha(svc).timeout == 45
        assert plan_for_alpha(svc) == ([], {State.IN_SYNC})
    finally:
        path.chmod(0o644)
    # Writable again: the next pull for alpha also catches timeout up.
    gcp.change("alpha", memory=256)
    result = pull(svc)
    assert result.warnings == []
    assert path.read_text() == DECLARATION.replace("memory: 128 ", "memory: 256 ").replace("timeout: 30 ", "timeout: 45 ")
    assert declaration_behind(svc.record("alpha")) == []


def test_a_merge_decision_writes_the_field_taken_from_the_component(setup):
    from functions_tui.app.service import Decision

    svc, gcp, folder = setup
    path = declare(svc, folder, DECLARATION)
    gcp.change("alpha", memory=512)                                   # the console's change
    path.write_text(DECLARATION.replace("timeout: 30 ", "timeout: 90 "))   # the user's change
    svc.add(folder)
    plan = svc.plan(["gcp"], policy="ask")
    assert [a.kind for a in plan.actions if a.function == "alpha"] == [ActionKind.ASK]
    result = svc.apply(plan, [Decision("alpha", "gcp", "merge", {"memory": "component", "timeout": "registry"})])
    assert not result.failed and result.warnings == []
    assert path.read_text() == DECLARATION.replace("timeout: 30 ", "timeout: 90 ").replace("memory: 128 ", "memory: 512 ")
    assert (alpha(svc).memory, alpha(svc).timeout) == (512, 90)
    assert gcp.resources["alpha"].values["timeout"] == 90
    svc.add(folder)
    assert plan_for_alpha(svc) == ([], {State.IN_SYNC})


def test_a_registry_without_snapshots_takes_the_file_as_before(setup):
    svc, gcp, folder = setup
    path = declare(svc, folder, DECLARATION)
    with svc.store.transaction("user") as txn:   # as an older version stored it
        record = txn.get("alpha")
        record.spec.declared = {}
        txn.put(record)
    path.write_text(DECLARATION.replace("memory: 128 ", "memory: 640 "))
    svc.add(folder)
    assert alpha(svc).memory == 640 and alpha(svc).declared["memory"] == 640


def test_dry_run_plans_write_no_file(setup):
    svc, gcp, folder = setup
    path = declare(svc, folder, DECLARATION)
    gcp.change("alpha", memory=512)
    svc.plan(["gcp"])
    assert path.read_text() == DECLARATION


def test_the_snapshot_round_trips_through_the_store(setup):
    svc, gcp, folder = setup
    declare(svc, folder, DECLARATION)
    declared = alpha(svc).declared
    assert set(declared) == {"runtime", "entry_point", "memory", "timeout", "env", "labels", "targets_state",
                             "code_digest"}
    assert declared["env"]["LEVEL"].startswith("k:") and "info" not in repr(declared)  # keyed (registry.secrets)
    assert declared["targets_state"] == {"gcp": "active"}
    fresh = SyncService(svc.home, components={})
    assert fresh.records()["alpha"].spec.declared == declared


def test_info_shows_what_the_declaration_is_behind_on(tmp_path):
    from functions_tui.registry.store import RegistryStore
    from tests.cli_helpers import cli_env, run_cli

    home = tmp_path / "home"
    env = cli_env(home)
    env.pop("MEM", None)
    folder = tmp_path / "src" / "alpha"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("def main(event, context):\n    return 'alpha'\n")
    path = folder / "function.yaml"
    path.write_text("name: alpha\nruntime: python3.11\nmemory: ${MEM}\nvariables: {MEM: 128}\n")
    assert run_cli("add", str(folder), env=env).returncode == 0
    info = run_cli("info", "alpha", env=env)
    assert info.returncode == 0, info.stderr
    assert "up to date" in info.stdout
    with RegistryStore(home / "registry.json").transaction("sync") as txn:   # what a pull of 512 leaves
        record = txn.get("alpha")
        record.spec.memory = 512
        txn.put(record, action="pull")
    info = run_cli("info", "alpha", env=env)
    assert info.returncode == 0, info.stderr
    text = " ".join(info.stdout.split())
    assert "behind: memory: set MEM=512 (declared as ${MEM} at" in text and "function.yaml:3)" in text
