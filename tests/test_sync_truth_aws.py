"""Sync truth on AWS Lambda, end to end: the real command against moto's server, every
out-of-band change made with the `aws` command line (awscli), as a colleague would.

- edits to different fields (registry: memory; console: timeout) merge: both kept, both sides;
- a field changed differently on both sides is a decision (exit 2), never settled by the policy;
- the same change on both sides settles;
- a pulled value lands in function.yaml (only its text changes) and the next `add` plans nothing;
- a user's later edit wins only for the field they edited;
- a second registry's `gc --yes` and `--sync` leave the first registry's functions alone;
- an old name-only mark is migrated by the registry that synced it, foreign to any other;
- a code hot-patch (`aws lambda update-function-code`) is drift;
- Docker down on a plain `--sync` is unknown, exit 1, its functions still in the output.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.cli_helpers import cli_env, make_function, run_cli, write_yaml
from tests.provider_clis import aws, zip_file

DECLARATION = """\
# The greeting function. Memory is tuned for the image library.
name: alpha
runtime: python3.11
entry_point: main.main   # module.function
memory: 128
timeout: 30
env:
  GREETING: "hi"
targets:
  aws: {}
"""


@pytest.fixture
def schema():
    return json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())


def _home(tmp_path, backend, name="home"):
    home = tmp_path / name
    write_yaml(home / "config.yaml", {"aws": {"role": backend.role_arn}})
    return home, cli_env(home, **backend.handle.env())


@pytest.fixture
def project(tmp_path, aws_clean):
    """alpha declared with comments and quoting, registered and deployed to Lambda."""
    home, env = _home(tmp_path, aws_clean)
    folder = tmp_path / "src" / "alpha"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("def main(event, context):\n    return 'alpha'\n")
    (folder / "function.yaml").write_text(DECLARATION)
    assert run_cli("add", str(folder), env=env).returncode == 0
    first = run_cli("--sync", "aws", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return folder / "function.yaml", home, env, aws_clean


def _config(backend, name="alpha"):
    return aws(backend, "lambda", "get-function-configuration", "--function-name", name)


def _dry(env, schema, *components):
    done = run_cli("--sync", *components, "--dry-run", "--json", env=env)
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    return done.returncode, doc


def _status(doc, function="alpha", component="aws"):
    return next(s for s in doc["statuses"] if s["function"] == function and s["component"] == component)


def _edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, (old, text)
    path.write_text(text.replace(old, new))


def test_edits_to_different_fields_merge_and_both_changes_are_kept(project, schema):
    declaration, home, env, backend = project
    _edit(declaration, "memory: 128", "memory: 256")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--timeout", "90")

    code, doc = _dry(env, schema, "aws")
    assert code == 2
    alpha = _status(doc)
    assert alpha["state"] == "diverged"
    assert {d["field"]: d["side"] for d in alpha["diffs"]} == {"memory": "registry", "timeout": "component"}
    assert doc["decisions"] == []

    done = run_cli("--sync", "aws", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    config = _config(backend)
    assert (config["MemorySize"], config["Timeout"]) == (256, 90)      # nothing lost on Lambda
    assert "timeout: 90" in declaration.read_text()                      # nor in the declaration
    assert "memory: 256" in declaration.read_text()
    code, doc = _dry(env, schema, "aws")
    assert code == 0 and _status(doc)["state"] == "in_sync"


def test_a_true_conflict_is_a_decision_and_nothing_changes(project, schema):
    declaration, home, env, backend = project
    _edit(declaration, "memory: 128", "memory: 256")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "512")
    text_before = declaration.read_text()

    done = run_cli("--sync", "aws", "--json", env=env)   # component-wins policy: still asked
    assert done.returncode == 2, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    assert _status(doc)["state"] == "conflict"
    assert [(d["function"], [x["field"] for x in d["diffs"]]) for d in doc["decisions"]] == [("alpha", ["memory"])]
    assert _config(backend)["MemorySize"] == 512
    assert declaration.read_text() == text_before
    assert "memory: 256" in run_cli("info", "alpha", env=env).stdout


def test_the_conflicts_setting_settles_them_explicitly(project, schema):
    declaration, home, env, backend = project
    write_yaml(home / "config.yaml", {"aws": {"role": backend.role_arn}, "conflicts": {"aws": "component-wins"}})
    _edit(declaration, "memory: 128", "memory: 256")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "512")
    code, doc = _dry(env, schema, "aws")
    assert code == 2 and doc["decisions"] == []
    assert "conflicts: component-wins" in doc["actions"][0]["reason"]
    assert run_cli("--sync", "aws", env=env).returncode == 0
    assert "memory: 512" in declaration.read_text()


def test_the_same_change_on_both_sides_settles(project, schema):
    declaration, home, env, backend = project
    _edit(declaration, "memory: 128", "memory: 512")
    assert run_cli("add", str(declaration), env=env).returncode == 0
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "512")
    code, doc = _dry(env, schema, "aws")
    assert code == 0, doc
    assert _status(doc)["state"] == "in_sync"
    assert [a["kind"] for a in doc["actions"]] == ["rebase"]


def test_a_pulled_value_lands_in_function_yaml_and_a_second_add_plans_nothing(project, schema):
    declaration, home, env, backend = project
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "1024")
    done = run_cli("--sync", "aws", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    # Only the value's text changed: comments, order, quoting and the rest byte for byte.
    assert declaration.read_text() == DECLARATION.replace("memory: 128", "memory: 1024")

    assert run_cli("add", str(declaration), env=env).returncode == 0
    code, doc = _dry(env, schema, "aws")
    assert code == 0 and doc["actions"] == [], doc["actions"]
    assert _config(backend)["MemorySize"] == 1024


def test_an_add_after_a_pull_keeps_the_pull_and_the_user_edit_wins_only_for_its_field(project, schema):
    declaration, home, env, backend = project
    declaration.chmod(0o444)                      # the pull cannot write back: a warning, nothing else
    aws(backend, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "1024")
    done = run_cli("--sync", "aws", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "function.yaml" in done.stdout + done.stderr          # says which file is behind
    assert declaration.read_text() == DECLARATION
    declaration.chmod(0o644)

    _edit(declaration, "timeout: 30", "timeout: 45")             # the user edits another field
    assert run_cli("add", str(declaration), env=env).returncode == 0
    code, doc = _dry(env, schema, "aws")
    assert code == 2
    alpha = _status(doc)
    assert alpha["state"] == "pending"
    assert [(d["field"], d["registry"], d["side"]) for d in alpha["diffs"]] == [("timeout", 45, "registry")]
    assert run_cli("--sync", "aws", env=env).returncode == 0
    config = _config(backend)
    assert (config["MemorySize"], config["Timeout"]) == (1024, 45)  # the pull was never reverted


def test_a_second_registry_never_deletes_adopts_or_changes_the_first_ones_functions(project, tmp_path, schema):
    declaration, home, env, backend = project
    for name in ("beta", "gamma"):
        make_function(tmp_path / "more", name, memory=128, targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "more"), env=env).returncode == 0
    assert run_cli("--sync", "aws", env=env).returncode == 0
    before = {f["FunctionName"]: f["CodeSha256"] for f in aws(backend, "lambda", "list-functions")["Functions"]}
    assert sorted(before) == ["alpha", "beta", "gamma"]

    # A teammate's laptop: a fresh registry, declaring its own function called alpha.
    other_home, other_env = _home(tmp_path, backend, "teammate")
    make_function(tmp_path / "teammate-src", "alpha", memory=2048, targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "teammate-src"), env=other_env).returncode == 0
    gc = run_cli("gc", "--yes", env=other_env)
    assert gc.returncode == 0, gc.stdout + gc.stderr
    code, doc = _dry(other_env, schema, "aws")
    states = {s["function"]: (s["state"], s.get("wanted")) for s in doc["statuses"]}
    assert states == {"alpha": ("foreign", True), "beta": ("foreign", False), "gamma": ("foreign", False)}
    assert doc["actions"] == [] and code == 2           # its own alpha is blocked: a person decides
    sync = run_cli("--sync", "aws", env=other_env)
    assert sync.returncode == 2, sync.stdout + sync.stderr
    assert "deployed by registry" in sync.stdout

    after = {f["FunctionName"]: f["CodeSha256"] for f in aws(backend, "lambda", "list-functions")["Functions"]}
    assert after == before                                # counted with the provider's own client
    assert _config(backend)["MemorySize"] == 128
    assert run_cli("--sync", "aws", env=env).returncode == 0   # the first registry: all still its own


def test_adopt_names_a_foreign_function_and_takes_it_over(project, tmp_path, schema):
    declaration, home, env, backend = project
    other_home, other_env = _home(tmp_path, backend, "teammate")
    done = run_cli("adopt", "alpha", "--from", "aws", env=other_env)
    assert done.returncode == 0, done.stdout + done.stderr
    code, doc = _dry(other_env, schema, "aws")
    assert code == 0 and _status(doc)["state"] == "in_sync"
    code, doc = _dry(env, schema, "aws")                 # now the first registry's is foreign
    assert _status(doc)["state"] == "foreign"


def test_an_old_name_only_mark_is_migrated_by_its_registry_and_foreign_to_others(project, tmp_path, schema):
    declaration, home, env, backend = project
    arn = _config(backend)["FunctionArn"]
    aws(backend, "lambda", "untag-resource", "--resource", arn, "--tag-keys", "functions-tui.registry")
    assert "functions-tui.registry" not in aws(backend, "lambda", "list-tags", "--resource", arn)["Tags"]

    other_home, other_env = _home(tmp_path, backend, "teammate")
    code, doc = _dry(other_env, schema, "aws")
    assert _status(doc)["state"] == "foreign" and doc["actions"] == []

    code, doc = _dry(env, schema, "aws")
    assert [a["kind"] for a in doc["actions"]] == ["claim"]
    assert run_cli("--sync", "aws", env=env).returncode == 0
    tags = aws(backend, "lambda", "list-tags", "--resource", arn)["Tags"]
    assert tags["functions-tui.function"] == "alpha" and tags["functions-tui.registry"]
    code, doc = _dry(env, schema, "aws")
    assert code == 0 and doc["actions"] == []


def test_a_code_hot_patch_on_lambda_is_drift(project, tmp_path, schema):
    declaration, home, env, backend = project
    package = zip_file(tmp_path, "patch", {"main.py": "def main(event, context):\n    return 'hot fix'\n"})
    aws(backend, "lambda", "update-function-code", "--function-name", "alpha", "--zip-file", f"fileb://{package}")
    code, doc = _dry(env, schema, "aws")
    assert code == 2
    alpha = _status(doc)
    assert alpha["state"] == "drifted"
    assert [(d["field"], d["side"]) for d in alpha["diffs"]] == [("code_digest", "component")]


def test_docker_down_on_a_plain_sync_is_unknown_and_exit_1(project, tmp_path, schema):
    declaration, home, env, backend = project
    make_function(tmp_path / "local", "web", targets={"docker": {}})
    assert run_cli("add", str(tmp_path / "local"), env=env).returncode == 0
    # cli_env points DOCKER_HOST at a socket that does not exist: Docker is down.
    done = run_cli("--sync", "--json", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    jsonschema.validate(doc, schema)
    assert doc["components"]["docker"]["status"] == "unknown"
    assert _status(doc, "web", "docker")["state"] == "unknown"    # the function stays in the output
    plain = run_cli("--sync", env=env)
    assert plain.returncode == 1 and "web" in plain.stdout
    assert run_cli("status", env=env).returncode == 0
    assert "unknown" in run_cli("status", env=env).stdout
