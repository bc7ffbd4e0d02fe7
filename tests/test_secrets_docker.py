"""Keyed env hashes and Docker's spec label, on the test session's real dockerd: the label
holds keyed hashes (nothing to brute-force a short secret from with ``docker images``), and
images deployed before keyed hashes (their labels carry unsalted sha256 hashes) are not drift
after the upgrade: in sync while the value is the same, pending (never a conflict) once the
registry's value changes."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from functions_tui.registry import secrets
from functions_tui.registry.secrets import legacy_hash
from tests.cli_helpers import cli_env, make_function, run_cli

pytestmark = pytest.mark.docker

SECRET = "docker-label-s3cret"

#: Makes the docker adapter write labels as functions-tui did before keyed hashes.
OLD_LABELS = """
import functions_tui.components.docker as docker
from functions_tui.registry.secrets import legacy_hash
docker.hash_value = legacy_hash
"""


def spec_label(docker, name: str) -> dict:
    [container] = docker.api.containers(all=True, filters={"label": f"functions-tui.function={name}"})
    return json.loads(container["Labels"]["functions-tui.spec"])


def ok(result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_spec_label_holds_keyed_hashes(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    make_function(tmp_path / "src", "alpha", env={"API_KEY": SECRET}, targets={"docker": {}})
    ok(run_cli("add", str(tmp_path / "src"), env=env))
    ok(run_cli("--sync", "docker", env=env))
    label = spec_label(docker_clean, "alpha")
    assert label["env"]["API_KEY"] == secrets.RegistryKeys(home / "registry.json").hash(SECRET)
    assert legacy_hash(SECRET)[2:] not in json.dumps(label)
    again = run_cli("--sync", "docker", "--dry-run", "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["actions"] == [], again.stdout + again.stderr


def test_images_labelled_before_keyed_hashes_are_not_drift(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    declaration = make_function(tmp_path / "src", "alpha", env={"API_KEY": SECRET, "LEVEL": "info"},
                                targets={"docker": {}})
    ok(run_cli("add", str(tmp_path / "src"), env=env))
    site = tmp_path / "old-labels"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OLD_LABELS)
    ok(run_cli("--sync", "docker", env=dict(env, PYTHONPATH=str(site))))
    assert spec_label(docker_clean, "alpha")["env"]["API_KEY"] == legacy_hash(SECRET)

    # The registry as the old version wrote it: plain env, unsalted hashes, no key.
    path = home / "registry.json"
    tables = orjson.loads(path.read_bytes())
    keys = secrets.RegistryKeys(path)
    plain = {"API_KEY": SECRET, "LEVEL": "info"}
    old = {}
    for value in plain.values():
        old[keys.hash(value)] = old[keys.legacy_keyed(legacy_hash(value))] = legacy_hash(value)
    tables["meta"]["1"]["schema"] = 2
    del tables["meta"]["1"]["key"]
    for doc in tables["functions"].values():
        doc["spec"]["env"] = dict(plain)
        doc["spec"]["declared"]["env"] = {k: old[v] for k, v in doc["spec"]["declared"]["env"].items()}
        for comp in doc["components"].values():
            if type(comp["base"]) is dict:
                comp["base"]["env"] = {k: old[v] for k, v in comp["base"]["env"].items()}
    path.write_bytes(orjson.dumps(tables))
    Path(home / "registry.key").unlink()

    dry = run_cli("--sync", "docker", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    doc = json.loads(dry.stdout)
    assert [(s["function"], s["state"]) for s in doc["statuses"]] == [("alpha", "in_sync")]
    assert doc["actions"] == []
    ok(run_cli("--sync", "docker", env=env))  # writes the upgraded registry
    assert b'"h:' not in path.read_bytes() and SECRET.encode() not in path.read_bytes()
    assert spec_label(docker_clean, "alpha")["env"]["API_KEY"] == legacy_hash(SECRET)  # not rebuilt for it
    keys = secrets.RegistryKeys(path)  # the key the upgrade made

    # The registry's value changes: pending (push), not a conflict with the old label.
    declaration.write_text(declaration.read_text().replace("info", "debug"))
    ok(run_cli("add", str(tmp_path / "src"), env=env))
    dry = run_cli("--sync", "docker", "--dry-run", "--json", env=env)
    doc = json.loads(dry.stdout)
    assert [(s["function"], s["state"]) for s in doc["statuses"]] == [("alpha", "pending")], dry.stdout
    assert [d["field"] for s in doc["statuses"] for d in s["diffs"]] == ["env.LEVEL"]
    ok(run_cli("--sync", "docker", env=env))
    label = spec_label(docker_clean, "alpha")["env"]
    assert label == {"API_KEY": keys.hash(SECRET), "LEVEL": keys.hash("debug")}  # keyed from now on
    again = run_cli("--sync", "docker", "--dry-run", "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["actions"] == [], again.stdout
