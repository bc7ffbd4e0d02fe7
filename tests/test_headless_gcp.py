"""The command against Google Cloud Functions (the project's emulator, reached by the real
google-cloud-functions client): drift, deploy, delete and gc end to end."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2

from tests.cli_helpers import cli_env, make_function, registry_bytes, registry_id, run_cli

REGION = "us-central1"


@pytest.fixture
def schema():
    return json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())


@pytest.fixture
def project(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    env = cli_env(home, FUNCTIONS_TUI_GCP_ENDPOINT=fresh_gcp.endpoint, GOOGLE_CLOUD_PROJECT=fresh_gcp.project)
    make_function(tmp_path / "src", "alpha", memory=256, env={"GREETING": "hi"}, targets={"gcp": {"region": REGION}})
    make_function(tmp_path / "src", "beta", after=["alpha"], targets={"gcp": {"region": REGION}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", "gcp", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return tmp_path, home, env, fresh_gcp


def _name(gcp, function: str) -> str:
    return f"{gcp.parent(REGION)}/functions/{function}"


def test_env_patched_out_of_band_is_drift_with_the_value_masked(project, schema):
    tmp_path, home, env, gcp = project
    change = functions_v2.Function(name=_name(gcp, "alpha"), service_config=functions_v2.ServiceConfig(
        environment_variables={"GREETING": "hi", "DEBUG": "s3cret-value"}))
    gcp.client().update_function(function=change, update_mask=field_mask_pb2.FieldMask(
        paths=["service_config.environment_variables"])).result(timeout=10)

    before = registry_bytes(home)
    dry = run_cli("--sync", "gcp", "--dry-run", "--json", env=env)
    assert dry.returncode == 2, dry.stderr
    assert "s3cret-value" not in dry.stdout  # env values are secrets: masked everywhere
    doc = json.loads(dry.stdout)
    jsonschema.validate(doc, schema)
    alpha = next(s for s in doc["statuses"] if s["function"] == "alpha")
    assert alpha["state"] == "drifted"
    assert [(d["field"], d["secret"]) for d in alpha["diffs"]] == [("env.DEBUG", True)]
    assert registry_bytes(home) == before

    assert run_cli("--sync", "gcp", env=env).returncode == 0
    again = run_cli("--sync", "gcp", "--json", env=env)
    assert again.returncode == 0, again.stdout
    assert json.loads(again.stdout)["summary"]["states"]["in_sync"] == 2


def test_deploy_pushes_a_changed_declaration(project):
    tmp_path, home, env, gcp = project
    make_function(tmp_path / "src", "alpha", memory=512, env={"GREETING": "hi"}, targets={"gcp": {"region": REGION}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    pending = run_cli("status", "gcp", env=env)
    assert pending.returncode == 0 and "pending" in pending.stdout

    result = run_cli("deploy", "alpha", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gcp: update alpha: ok" in result.stdout
    assert gcp.client().get_function(name=_name(gcp, "alpha")).service_config.available_memory in ("512M", "512Mi")
    assert run_cli("--sync", "gcp", env=env).returncode == 0


def test_delete_removes_from_the_component_and_the_registry(project):
    tmp_path, home, env, gcp = project
    result = run_cli("delete", "beta", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    names = [f.name for f in gcp.client().list_functions(parent=gcp.parent("-"))]
    assert names == [_name(gcp, "alpha")]
    assert run_cli("info", "beta", env=env).returncode == 1
    assert run_cli("--sync", "gcp", env=env).returncode == 0


def test_gc_removes_dangling_marked_functions_and_ghosts_only_with_yes(project):
    tmp_path, home, env, gcp = project
    client = gcp.client()
    client.delete_function(name=_name(gcp, "beta")).result(timeout=10)  # beta: now a ghost
    stray = functions_v2.Function(
        name=_name(gcp, "stray"), build_config=functions_v2.BuildConfig(runtime="python311", entry_point="main"),
        labels={"functions-tui_function": "stray", "functions-tui_registry": registry_id(home)})
    unmarked = functions_v2.Function(
        name=_name(gcp, "theirs"), build_config=functions_v2.BuildConfig(runtime="python311", entry_point="main"))
    foreign = functions_v2.Function(
        name=_name(gcp, "partner"), build_config=functions_v2.BuildConfig(runtime="python311", entry_point="main"),
        labels={"functions-tui_function": "partner", "functions-tui_registry": "another-registry"})
    for fn in (stray, unmarked, foreign):
        client.create_function(parent=gcp.parent(REGION), function=fn,
                               function_id=fn.name.rsplit("/", 1)[-1]).result(timeout=10)

    before = registry_bytes(home)
    asked = run_cli("gc", env=env)  # not a terminal and no --yes: list, change nothing
    assert asked.returncode == 2
    assert "stray" in asked.stdout and "beta" in asked.stdout and "theirs" not in asked.stdout
    assert "partner" not in asked.stdout
    assert registry_bytes(home) == before

    done = run_cli("gc", "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    names = sorted(f.name.rsplit("/", 1)[-1] for f in client.list_functions(parent=gcp.parent("-")))
    assert names == ["alpha", "partner", "theirs"]  # unmarked and foreign ones are never touched
    # The ghost lost only its gcp entry: the function stays in the registry.
    info = run_cli("info", "beta", env=env)
    assert info.returncode == 0 and "targets.gcp: no longer a target in the registry" in info.stdout


def test_a_declared_runtime_is_deployed_in_cloud_functions_spelling_and_stays_in_sync(project):
    """The declaration says python3.11 (Lambda's spelling, the docs' example); Cloud Functions
    only knows python311. The adapter sends Google's identifier, and the next sync, which
    reads python311 back, finds nothing to do."""
    tmp_path, home, env, gcp = project
    deployed = gcp.client().get_function(name=_name(gcp, "alpha"))
    assert deployed.build_config.runtime == "python311"
    dry = run_cli("--sync", "gcp", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert {s["state"] for s in json.loads(dry.stdout)["statuses"]} == {"in_sync"}

    make_function(tmp_path / "src", "alpha", memory=256, env={"GREETING": "hi"}, runtime="python3.12",
                  targets={"gcp": {"region": REGION}})
    assert run_cli("add", str(tmp_path / "src" / "alpha"), env=env).returncode == 0
    pushed = run_cli("--sync", "gcp", env=env)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert gcp.client().get_function(name=_name(gcp, "alpha")).build_config.runtime == "python312"
