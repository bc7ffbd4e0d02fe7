"""The command against a real Docker engine (the test session's private dockerd).

Docker's policy is ``ask`` by default: a container stopped by hand is a decision left for a
person (exit 2, listed, nothing guessed) until ``sync docker --pull`` or ``--push`` settles it.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.cli_helpers import cli_env, make_function, registry_bytes, run_cli

pytestmark = pytest.mark.docker


@pytest.fixture
def project(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    make_function(tmp_path / "src", "alpha", targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", "docker", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return home, env, docker_clean


def _containers(docker, name: str) -> list[dict]:
    return docker.api.containers(all=True, filters={"label": f"functions-tui.function={name}"})


def test_container_stopped_by_hand_is_a_decision_then_settled(project):
    home, env, docker = project
    schema = json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())
    [container] = _containers(docker, "alpha")
    assert container["State"] == "running"
    docker.api.stop(container["Id"], timeout=0)

    before = registry_bytes(home)
    result = run_cli("--sync", "docker", "--json", env=env)
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema)
    assert [(d["function"], d["component"]) for d in doc["decisions"]] == [("alpha", "docker")]
    assert [d["field"] for d in doc["decisions"][0]["diffs"]] == ["state"]
    assert registry_bytes(home) == before  # never guessed
    assert _containers(docker, "alpha")[0]["State"] == "exited"

    push = run_cli("sync", "docker", "--push", env=env)  # the registry says running: start it again
    assert push.returncode == 0, push.stdout + push.stderr
    assert _containers(docker, "alpha")[0]["State"] == "running"
    assert run_cli("--sync", "docker", env=env).returncode == 0


def test_stop_and_run_commands_drive_the_local_container(project):
    home, env, docker = project
    stopped = run_cli("stop", "alpha", env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert _containers(docker, "alpha")[0]["State"] == "exited"
    assert run_cli("--sync", "docker", env=env).returncode == 0  # stopped is now what the registry wants

    started = run_cli("run", "alpha", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert _containers(docker, "alpha")[0]["State"] == "running"
    assert run_cli("--sync", "docker", env=env).returncode == 0
