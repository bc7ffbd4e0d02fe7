"""Sync truth on Docker, end to end: the real command against the test session's private
dockerd, every out-of-band change made with the `docker` command line, as a developer would.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.cli_helpers import cli_env, make_function, run_cli, write_yaml
from tests.provider_clis import docker

pytestmark = pytest.mark.docker


@pytest.fixture
def schema():
    return json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())


@pytest.fixture
def project(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    write_yaml(home / "config.yaml", {"policies": {"docker": "component-wins"}})
    declaration = make_function(tmp_path / "src", "alpha", memory=128, targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", "docker", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return declaration, home, env, docker_clean


def _container(backend, name="alpha"):
    out = docker(backend, "ps", "-a", "--filter", f"label=functions-tui.function={name}",
                     "--format", "{{.ID}} {{.State}}")
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return rows[0] if rows else None


def _dry(env, schema):
    done = run_cli("--sync", "docker", "--dry-run", "--json", env=env)
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    return done.returncode, doc


def _status(doc, function="alpha"):
    return next(s for s in doc["statuses"] if s["function"] == function and s["component"] == "docker")


def _edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_edits_to_different_fields_merge_and_both_are_kept(project, schema):
    declaration, home, env, engine = project
    _edit(declaration, "memory: 128", "memory: 256")                    # the user: memory
    assert run_cli("add", str(declaration), env=env).returncode == 0
    docker(engine, "stop", "-t", "0", _container(engine)[0])         # the developer: stopped it

    code, doc = _dry(env, schema)
    assert code == 2 and doc["decisions"] == []
    alpha = _status(doc)
    assert alpha["state"] == "diverged"
    assert {d["field"]: d["side"] for d in alpha["diffs"]} == {"memory": "registry", "state": "component"}

    done = run_cli("--sync", "docker", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _container(engine)[1] in ("exited", "created")                # still stopped, as left
    assert "state: stopped" in declaration.read_text()                   # and declared so
    code, doc = _dry(env, schema)
    assert code == 0 and _status(doc)["state"] == "in_sync"
    info = run_cli("info", "alpha", env=env).stdout
    assert "256" in info


def test_a_true_conflict_is_a_decision(project, schema):
    declaration, home, env, engine = project
    text = declaration.read_text().replace("docker: {}", "docker:\n    state: stopped")
    declaration.write_text(text)                                         # the user: stop it
    assert run_cli("add", str(declaration), env=env).returncode == 0
    docker(engine, "rm", "-f", _container(engine)[0])                # the developer: removed the container
    done = run_cli("--sync", "docker", "--json", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert _status(doc)["state"] == "conflict"
    assert [(d["function"], [x["field"] for x in d["diffs"]]) for d in doc["decisions"]] == [("alpha", ["state"])]
    assert _container(engine) is None                                    # nothing guessed


def test_a_second_registry_leaves_the_first_ones_images_and_containers_alone(project, tmp_path, schema):
    declaration, home, env, engine = project
    before = docker(engine, "ps", "-a", "-q", "--no-trunc") + "\n" + docker(engine, "images", "-q", "--no-trunc")
    other = tmp_path / "teammate"
    other_env = cli_env(other, DOCKER_HOST=engine.host)
    write_yaml(other / "config.yaml", {"policies": {"docker": "component-wins"}})
    make_function(tmp_path / "teammate-src", "other", targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "teammate-src"), env=other_env).returncode == 0
    gc = run_cli("gc", "--yes", env=other_env)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    code, doc = _dry(other_env, schema)
    assert _status(doc)["state"] == "foreign"
    assert [a["function"] for a in doc["actions"]] == ["other"]          # only its own create
    sync = run_cli("--sync", "docker", env=other_env)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    after = docker(engine, "ps", "-a", "-q", "--no-trunc") + "\n" + docker(engine, "images", "-q", "--no-trunc")
    assert set(before.split()) <= set(after.split())                      # counted with the docker CLI
    code, doc = _dry(env, schema)
    assert code == 0 and _status(doc)["state"] == "in_sync"
    assert _status(doc, "other")["state"] == "foreign"


#: alpha's declaration names its engine by its kind; config.yaml calls that engine laptop.
NAMED_BY_KIND = """\
# alpha runs on the laptop's engine
name: alpha
runtime: python3.11
entry_point: main.main
memory: 128        # MB
targets:
  docker: {}       # laptop, the only docker instance in config.yaml
"""


def test_a_pulled_run_state_for_an_instance_the_file_names_by_its_kind_is_written_under_that_name(tmp_path, docker_clean):
    """config.yaml names the engine ``laptop`` (its only docker instance); the declaration says
    ``targets: {docker: {}}``, which means laptop. A container stopped by hand is pulled: the
    file says so under ``docker:``, the key it uses (no second entry for the same engine),
    with everything else as it was, and the next add and sync find nothing to do."""
    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", {"components": {"laptop": {"kind": "docker", "host": docker_clean.host}},
                                      "policies": {"laptop": "component-wins"}})
    (tmp_path / "src" / "alpha").mkdir(parents=True)
    (tmp_path / "src" / "alpha" / "main.py").write_text("def main(event, context):\n    return 'alpha'\n")
    declaration = write_yaml(tmp_path / "src" / "alpha" / "function.yaml", NAMED_BY_KIND)
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert declaration.read_text() == NAMED_BY_KIND
    docker(docker_clean, "stop", "-t", "0", _container(docker_clean)[0])

    done = run_cli("--sync", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not written back" not in done.stdout + done.stderr
    assert declaration.read_text() == NAMED_BY_KIND.replace("docker: {}  ", "docker: {state: stopped}  ")
    assert run_cli("add", str(declaration), env=env).returncode == 0     # nothing reverts the pulled state
    again = run_cli("--sync", "--dry-run", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _container(docker_clean)[1] in ("exited", "created")
