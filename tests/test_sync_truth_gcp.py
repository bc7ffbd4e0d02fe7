"""Sync truth on Google Cloud Functions, end to end: the real command against the project's
v2 emulator, every out-of-band change made with google-cloud-functions' own client (REST),
as a colleague in the console would.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2

from tests.cli_helpers import cli_env, make_function, run_cli

REGION = "us-central1"


@pytest.fixture
def schema():
    return json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())


def _env(tmp_path, gcp, name="home"):
    home = tmp_path / name
    return home, cli_env(home, FUNCTIONS_TUI_GCP_ENDPOINT=gcp.endpoint, GOOGLE_CLOUD_PROJECT=gcp.project)


@pytest.fixture
def project(tmp_path, fresh_gcp):
    home, env = _env(tmp_path, fresh_gcp)
    declaration = make_function(tmp_path / "src", "alpha", memory=256, timeout=60,
                                targets={"gcp": {"region": REGION}})
    make_function(tmp_path / "src", "beta", memory=256, targets={"gcp": {"region": REGION}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", "gcp", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return declaration, home, env, fresh_gcp


def _name(gcp, function):
    return f"{gcp.parent(REGION)}/functions/{function}"


def _patch(gcp, function, paths, **service):
    change = functions_v2.Function(name=_name(gcp, function), service_config=functions_v2.ServiceConfig(**service))
    gcp.client().update_function(function=change, update_mask=field_mask_pb2.FieldMask(paths=paths)).result(timeout=10)


def _get(gcp, function):
    return gcp.client().get_function(name=_name(gcp, function))


def _dry(env, schema):
    done = run_cli("--sync", "gcp", "--dry-run", "--json", env=env)
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    return done.returncode, doc


def _status(doc, function="alpha"):
    return next(s for s in doc["statuses"] if s["function"] == function)


def _edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_edits_to_different_fields_merge_and_both_are_kept(project, schema):
    declaration, home, env, gcp = project
    _edit(declaration, "memory: 256", "memory: 512")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    _patch(gcp, "alpha", ["service_config.timeout_seconds"], timeout_seconds=120)

    code, doc = _dry(env, schema)
    assert code == 2 and doc["decisions"] == []
    alpha = _status(doc)
    assert alpha["state"] == "diverged"
    assert {d["field"]: d["side"] for d in alpha["diffs"]} == {"memory": "registry", "timeout": "component"}

    done = run_cli("--sync", "gcp", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    fn = _get(gcp, "alpha")
    assert (fn.service_config.available_memory, fn.service_config.timeout_seconds) == ("512M", 120)
    assert "timeout: 120" in declaration.read_text() and "memory: 512" in declaration.read_text()
    code, doc = _dry(env, schema)
    assert code == 0 and _status(doc)["state"] == "in_sync"


def test_a_true_conflict_is_a_decision(project, schema):
    declaration, home, env, gcp = project
    _edit(declaration, "memory: 256", "memory: 512")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    _patch(gcp, "alpha", ["service_config.available_memory"], available_memory="1024M")
    done = run_cli("--sync", "gcp", "--json", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert _status(doc)["state"] == "conflict"
    assert [(d["function"], [x["field"] for x in d["diffs"]]) for d in doc["decisions"]] == [("alpha", ["memory"])]
    assert _get(gcp, "alpha").service_config.available_memory == "1024M"


def test_the_same_change_on_both_sides_settles(project, schema):
    declaration, home, env, gcp = project
    _edit(declaration, "memory: 256", "memory: 1024")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    _patch(gcp, "alpha", ["service_config.available_memory"], available_memory="1024M")
    code, doc = _dry(env, schema)
    assert code == 0 and _status(doc)["state"] == "in_sync"


def test_a_second_registry_leaves_the_first_ones_functions_alone(project, tmp_path, schema):
    declaration, home, env, gcp = project
    before = sorted((f.name, f.update_time.isoformat() if hasattr(f.update_time, "isoformat") else str(f.update_time))
                    for f in gcp.client().list_functions(parent=gcp.parent("-")))
    assert len(before) == 2
    other_home, other_env = _env(tmp_path, gcp, "teammate")
    make_function(tmp_path / "teammate-src", "placeholder", targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "teammate-src"), env=other_env).returncode == 0
    gc = run_cli("gc", "--yes", env=other_env)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    code, doc = _dry(other_env, schema)
    assert {s["function"]: s["state"] for s in doc["statuses"] if s["component"] == "gcp"} == {
        "alpha": "foreign", "beta": "foreign"}
    assert doc["actions"] == []
    sync = run_cli("--sync", "gcp", env=other_env)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    after = sorted((f.name, f.update_time.isoformat() if hasattr(f.update_time, "isoformat") else str(f.update_time))
                   for f in gcp.client().list_functions(parent=gcp.parent("-")))
    assert after == before   # nothing deleted, nothing changed (counted with google-cloud-functions)


def test_an_old_name_only_mark_is_migrated_by_its_registry(project, tmp_path, schema):
    declaration, home, env, gcp = project
    fn = _get(gcp, "alpha")
    labels = {k: v for k, v in fn.labels.items() if k != "functions-tui_registry"}
    change = functions_v2.Function(name=fn.name, labels=labels)
    gcp.client().update_function(function=change, update_mask=field_mask_pb2.FieldMask(paths=["labels"])).result(timeout=10)

    other_home, other_env = _env(tmp_path, gcp, "teammate")
    make_function(tmp_path / "teammate-src", "placeholder", targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "teammate-src"), env=other_env).returncode == 0
    code, doc = _dry(other_env, schema)
    assert _status(doc)["state"] == "foreign"

    code, doc = _dry(env, schema)
    assert [(a["function"], a["kind"]) for a in doc["actions"]] == [("alpha", "claim")]
    assert run_cli("--sync", "gcp", env=env).returncode == 0
    assert _get(gcp, "alpha").labels["functions-tui_registry"]
    code, doc = _dry(env, schema)
    assert code == 0 and doc["actions"] == []
