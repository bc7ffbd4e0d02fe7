"""Docker faults end to end: real dockerd → DockerComponent.observe() → registry.plan.build_plan.

Whatever keeps us from seeing Docker (the daemon stopped, the socket forbidden), the plan
built from that observation deletes, prunes and creates nothing; an out-of-band change we
*can* see shows up as drift; resources without our mark are never planned for deletion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from functions_tui.components.docker import DockerComponent, container_name
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec, digest_source
from functions_tui.registry.plan import build_plan, status_for
from functions_tui.registry.plan_types import DESTRUCTIVE, ActionKind, State

pytestmark = pytest.mark.docker
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def deployed(docker_backend, tmp_path_factory):
    """Two functions deployed with the adapter, and registry records whose base is what was seen.

    Module-scoped (builds are the slow part); a test that changes Docker puts it back.
    """
    docker_backend.clean()
    source = tmp_path_factory.mktemp("faults") / "src"
    source.mkdir()
    (source / "index.html").write_text("ok\n")
    component = DockerComponent(base_url=docker_backend.host, registry_id="6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c")
    records = {}
    for name, state in (("api", "running"), ("worker", "built")):
        spec = FunctionSpec(name=name, runtime="python312", source=str(source), env={"N": name},
                            targets={"docker": {"state": state}}, code_digest=digest_source(source))
        observed = component.create(spec)
        records[name] = FunctionRecord(spec, {"docker": ComponentRecord(
            "docker", base=observed.fingerprint(), resource_id=observed.resource_id)})
    yield component, records
    component.close()
    docker_backend.clean()


def risky(plan):
    return [a for a in plan.actions if a.kind in DESTRUCTIVE or a.kind is ActionKind.CREATE]


@pytest.mark.parametrize("policy", ["component-wins", "registry-wins"])
def test_daemon_gone_plans_nothing_destructive(deployed, policy):
    _, records = deployed
    missing = DockerComponent(base_url=f"unix://{tempfile.gettempdir()}/no-such-dir/docker.sock")

    observation = missing.observe()
    plan = build_plan(records, {"docker": observation}, policies={"docker": policy})

    assert not observation.complete and observation.items == {}
    assert "docker" in plan.unknown
    assert risky(plan) == []
    assert {status_for(plan, n, "docker").state for n in records} == {State.UNKNOWN}


def test_permission_denied_plans_nothing_destructive(deployed, docker_backend):
    """The same records, observed by a user the real engine's socket refuses."""
    _, records = deployed
    if os.geteuid() != 0:
        pytest.skip("needs root to act as another user")
    script = (
        "import json, os, sys, docker, docker.errors, docker.utils\n"
        "from functions_tui.components.docker import DockerComponent\n"
        "from functions_tui.registry.models import FunctionRecord\n"
        "from functions_tui.registry.plan import build_plan\n"
        "from functions_tui.registry.plan_types import DESTRUCTIVE, ActionKind\n"
        "records = {k: FunctionRecord.from_dict(v) for k, v in json.load(sys.stdin).items()}\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        f"component = DockerComponent(base_url={docker_backend.host!r})\n"
        "observation = component.observe()\n"
        "plan = build_plan(records, {'docker': observation}, policies={'docker': 'registry-wins'})\n"
        "print(json.dumps({'complete': observation.complete, 'errors': observation.errors,\n"
        "    'reason': component.detect().reason, 'unknown': list(plan.unknown),\n"
        "    'risky': [a.kind.value for a in plan.actions if a.kind in DESTRUCTIVE or a.kind is ActionKind.CREATE]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          input=json.dumps({k: r.to_dict() for k, r in records.items()}), timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)

    assert seen["complete"] is False and seen["errors"]
    assert "permission denied" in seen["reason"]
    assert seen["unknown"] == ["docker"] and seen["risky"] == []


def test_container_stopped_out_of_band_is_drift(deployed, docker_backend):
    component, records = deployed
    container = docker_backend.client.containers.get(container_name("api"))
    container.stop(timeout=0)
    try:
        plan = build_plan(records, {"docker": component.observe()}, policies={"docker": "ask"})
    finally:
        container.start()

    status = status_for(plan, "api", "docker")
    assert status.state is State.DRIFTED
    assert [d.field for d in status.diffs] == ["state"]
    assert status_for(plan, "worker", "docker").state is State.IN_SYNC


def test_unmarked_image_is_never_planned_for_deletion(deployed, docker_backend):
    component, records = deployed
    stray = docker_backend.client.images.get("functions-tui/api:latest")
    stray_ref = "functions-tui/handmade:latest"
    # Someone's own image in our namespace: a copy of a function image without the mark.
    container = docker_backend.client.containers.create(stray.id, name="handmade-src", network_mode="none")
    container.commit(repository="functions-tui/handmade", tag="latest",
                     changes=['LABEL functions-tui.function=""'])
    container.remove()

    try:
        observation = component.observe()
        plan = build_plan(records, {"docker": observation}, policies={"docker": "registry-wins"},
                          direction="push")

        assert f"image {stray_ref}" in observation.unmarked
        assert not [a for a in plan.actions if a.function == "handmade"]
        assert docker_backend.client.images.get(stray_ref)
    finally:
        docker_backend.client.images.remove(stray_ref)
