"""``functions-tui --sync`` end to end against AWS Lambda (moto's server over HTTP).

The command runs as a subprocess, exactly as cron or CI would run it; out-of-band changes
are made with plain boto3, as a colleague in the console would.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.cli_helpers import (cli_env, make_function, one_line_error, registry_bytes, registry_id, run_cli,
                               write_yaml)


@pytest.fixture
def schema():
    return json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())


@pytest.fixture
def project(tmp_path, aws_clean):
    """A config dir whose aws component is the moto server, and two declared functions."""
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    make_function(tmp_path / "src", "alpha", memory=128, env={"GREETING": "hi"}, targets={"aws": {}})
    make_function(tmp_path / "src", "beta", memory=128, after=["alpha"], targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    return home, env, aws_clean


def _sync(env, *extra):
    return run_cli("--sync", "aws", *extra, env=env)


def _deploy(env):
    first = _sync(env)
    assert first.returncode == 0, first.stdout + first.stderr
    again = _sync(env)
    assert again.returncode == 0, again.stdout + again.stderr


def test_first_sync_deploys_in_after_order_and_a_second_run_is_in_sync(project, schema):
    home, env, aws = project
    dry = _sync(env, "--dry-run", "--json")
    assert dry.returncode == 2, dry.stderr
    doc = json.loads(dry.stdout)
    jsonschema.validate(doc, schema)
    assert doc["mode"] == "dry-run" and doc["exit_code"] == 2
    assert [(a["function"], a["kind"], a["outcome"]) for a in doc["actions"]] == [
        ("alpha", "create", "planned"), ("beta", "create", "planned")]
    assert aws.client("lambda").list_functions()["Functions"] == []  # the dry run deployed nothing

    _deploy(env)
    names = sorted(f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"])
    assert names == ["alpha", "beta"]


def test_drift_made_out_of_band_is_reported_then_pulled(project, schema):
    home, env, aws = project
    _deploy(env)
    lam = aws.client("lambda")
    lam.update_function_configuration(FunctionName="alpha", MemorySize=512)

    before = registry_bytes(home)
    dry = _sync(env, "--dry-run", "--json")
    assert dry.returncode == 2, dry.stderr
    doc = json.loads(dry.stdout)
    jsonschema.validate(doc, schema)
    states = {(s["function"], s["component"]): s for s in doc["statuses"]}
    alpha = states[("alpha", "aws")]
    assert alpha["state"] == "drifted"
    assert [(d["field"], d["base"], d["registry"], d["component"]) for d in alpha["diffs"]] == [
        ("memory", 128, 128, 512)]
    assert states[("beta", "aws")]["state"] == "in_sync"
    assert [(a["function"], a["kind"]) for a in doc["actions"]] == [("alpha", "pull")]
    assert registry_bytes(home) == before  # --dry-run changes nothing

    table = _sync(env, "--dry-run")
    assert table.returncode == 2
    assert "drifted" in table.stdout and "alpha" in table.stdout and "pull" in table.stdout

    applied = _sync(env, "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    doc = json.loads(applied.stdout)
    jsonschema.validate(doc, schema)
    assert [(a["function"], a["kind"], a["outcome"]) for a in doc["actions"]] == [("alpha", "pull", "applied")]
    assert "512" in run_cli("info", "alpha", env=env).stdout  # component-wins: the registry took 512

    again = _sync(env)
    assert again.returncode == 0, again.stdout + again.stderr


def test_with_ask_policy_the_decision_is_listed_not_guessed(project, schema):
    home, env, aws = project
    _deploy(env)
    write_yaml(home / "config.yaml", {"aws": {"role": aws.role_arn}, "policies": {"aws": "ask"}})
    aws.client("lambda").update_function_configuration(FunctionName="beta", Timeout=30)
    before = registry_bytes(home)

    result = _sync(env, "--json")
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema)
    assert doc["mode"] == "apply"
    assert [(d["function"], d["component"]) for d in doc["decisions"]] == [("beta", "aws")]
    assert doc["actions"] == []
    assert registry_bytes(home) == before  # nothing was decided for the person
    assert aws.client("lambda").get_function_configuration(FunctionName="beta")["Timeout"] == 30

    table = _sync(env)
    assert table.returncode == 2
    assert "Decisions left for you (1)" in table.stdout and "beta" in table.stdout


def test_ghost_and_unmanaged_are_reported(project, schema):
    home, env, aws = project
    _deploy(env)
    write_yaml(home / "config.yaml", {"aws": {"role": aws.role_arn}, "policies": {"aws": "ask"}})
    lam = aws.client("lambda")
    lam.delete_function(FunctionName="beta")  # gone out of band: beta becomes a ghost
    # Deployed by this registry and since forgotten by it: unmanaged. Another registry's: foreign.
    lam.create_function(FunctionName="stray", Runtime="python3.11", Role=aws.role_arn, Handler="main.main",
                        Code={"ZipFile": _zip()}, Tags={"functions-tui.function": "stray",
                                                        "functions-tui.registry": registry_id(home)})
    lam.create_function(FunctionName="theirs", Runtime="python3.11", Role=aws.role_arn, Handler="main.main",
                        Code={"ZipFile": _zip()}, Tags={"functions-tui.function": "theirs",
                                                        "functions-tui.registry": "another-registry"})

    result = _sync(env, "--dry-run", "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema)
    states = {s["function"]: (s["state"], s["detail"]) for s in doc["statuses"]}
    assert states["beta"] == ("missing", "ghost")
    assert states["stray"] == ("unmanaged", "marked")
    assert states["theirs"] == ("foreign", "another-registry")
    assert states["alpha"] == ("in_sync", "")


def test_unreachable_component_is_one_line_error_and_nothing_changes(project, schema):
    home, env, aws = project
    _deploy(env)
    before = registry_bytes(home)
    down = {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port
    result = run_cli("--sync", "aws", "--json", env=down)
    assert result.returncode == 1
    line = one_line_error(result.stderr)
    assert "aws" in line
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema)
    assert doc["exit_code"] == 1 and doc["errors"]
    assert registry_bytes(home) == before


@pytest.mark.parametrize("shape", [b'{"truncated": ', b"", b"\x00\xff garbage", b'{"_default": {}}'])
def test_corrupt_registry_is_one_line_error_naming_the_file(project, shape):
    home, env, aws = project
    registry = home / "registry.json"
    registry.write_bytes(shape)
    before = registry_bytes(home)
    for args in (("--sync", "aws"), ("status",), ("info", "alpha")):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert str(registry) in line and "restore" in line
        assert registry_bytes(home) == before


def test_headless_sync_never_imports_textual(project):
    home, env, aws = project
    result = run_cli("--sync", "aws", "--dry-run", env=env, python_flags=("-X", "importtime"))
    assert result.returncode in (0, 2), result.stderr
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "botocore" in imported  # the trace is real (the adapter uses botocore, not boto3)
    assert not [m for m in imported if m == "textual" or m.startswith("textual.")]


def _zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", "def main(event, context):\n    return 1\n")
    return buf.getvalue()


def test_a_normal_run_keeps_stderr_quiet_when_it_is_not_a_terminal(project):
    home, env, aws = project
    first = _sync(env)
    assert first.returncode == 0
    assert first.stderr == ""  # progress only on a terminal; cron mails stay empty


def test_progress_goes_to_stderr_on_a_terminal(project):
    import os
    import pty
    import subprocess

    home, env, aws = project
    _deploy(env)
    master, slave = pty.openpty()
    from tests.cli_helpers import command

    import threading

    chunks: list[bytes] = []

    def drain() -> None:  # read as it comes, so a slow run never fills the terminal's buffer
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child side is closed
                return
            if not data:
                return
            chunks.append(data)

    proc = subprocess.Popen(command() + ["--sync", "aws", "--dry-run"], env=env, stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    assert proc.returncode == 0
    assert b"observing aws" in b"".join(chunks)
    assert b"observing" not in out  # stdout carries only the result


def test_an_interrupted_operation_is_reported_at_the_next_run_then_cleared(project, schema):
    import subprocess
    import sys

    home, env, aws = project
    _deploy(env)
    # A process that journals a cloud change and dies before finishing it (as a kill -9 would).
    code = ("from functions_tui.registry.journal import Journal; import sys; "
            "Journal.in_dir(sys.argv[1]).begin('alpha', 'aws', 'update', run='crashed'); import os; os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(home)], check=True, env=env)

    dry = _sync(env, "--dry-run", "--json")
    doc = json.loads(dry.stdout)
    jsonschema.validate(doc, schema)
    assert len(doc["interrupted"]) == 1 and "update of alpha on aws" in doc["interrupted"][0]
    assert "warning: update of alpha on aws" in dry.stderr

    assert _sync(env).returncode == 0  # a real sync re-observes aws: the warning has served
    assert "interrupted" not in _sync(env).stderr


def test_an_unavailable_component_is_checked_again_when_asked_for(project):
    home, env, aws = project
    # The cache says aws is unavailable (it was down when detected); it answers now.
    cache = json.loads((home / "components.json").read_text())
    cache["components"]["aws"].update(available=False, reason="was down", fix="start it")
    (home / "components.json").write_text(json.dumps(cache))
    result = _sync(env)
    assert result.returncode == 0, result.stderr
    assert json.loads((home / "components.json").read_text())["components"]["aws"]["available"] is True


def test_unreadable_registry_is_one_line_error(project):
    home, env, aws = project
    registry = home / "registry.json"
    registry.unlink()
    registry.mkdir()  # as root, permissions cannot make a file unreadable; a directory can't be read as one
    for args in (("--sync", "aws"), ("status",), ("history",)):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert str(registry) in line and "is a directory" in line
    assert registry.is_dir() and not any(registry.iterdir())


def test_sync_without_components_takes_every_available_one(project, schema):
    home, env, aws = project
    result = run_cli("--sync", "--json", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, schema)
    assert doc["components"]["aws"] == {"status": "ok", "reason": ""}
    assert doc["components"]["docker"]["status"] == "skipped" and "fix" in doc["components"]["docker"]["reason"]
    assert doc["components"]["gcp"]["status"] == "skipped"


def test_an_empty_listing_is_never_read_as_everything_deleted_unless_allowed(project, schema):
    home, env, aws = project
    _deploy(env)
    lam = aws.client("lambda")
    for name in ("alpha", "beta"):
        lam.delete_function(FunctionName=name)
    before = registry_bytes(home)

    refused = _sync(env, "--json")
    assert refused.returncode == 1
    doc = json.loads(refused.stdout)
    jsonschema.validate(doc, schema)
    assert doc["components"]["aws"]["status"] == "unknown" and "allow" in doc["components"]["aws"]["reason"]
    assert doc["actions"] == [] and registry_bytes(home) == before
    assert "aws" in one_line_error(refused.stderr)

    allowed = _sync(env, "--allow-empty", "--json")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    kinds = sorted((a["function"], a["kind"], a["outcome"]) for a in json.loads(allowed.stdout)["actions"])
    assert kinds == [("alpha", "prune", "applied"), ("beta", "prune", "applied")]


def test_a_named_sync_from_config_runs_with_its_own_policy(project, schema):
    home, env, aws = project
    _deploy(env)
    write_yaml(home / "config.yaml", {
        "aws": {"role": aws.role_arn}, "policies": {"aws": "ask"},
        "syncs": [{"name": "clouds", "components": ["aws"], "direction": "pull", "policy": "component-wins"}]})
    aws.client("lambda").update_function_configuration(FunctionName="alpha", MemorySize=512)
    asked = _sync(env, "--dry-run")
    assert asked.returncode == 2 and "Decisions left for you (1)" in asked.stdout
    for args in (("--sync", "clouds", "--dry-run", "--json"), ("sync", "clouds", "--dry-run", "--json")):
        result = run_cli(*args, env=env)
        doc = json.loads(result.stdout)
        jsonschema.validate(doc, schema)
        assert [(a["function"], a["kind"]) for a in doc["actions"]] == [("alpha", "pull")] and not doc["decisions"]
    assert run_cli("sync", "clouds", env=env).returncode == 0
    assert run_cli("sync", "clouds", env=env).returncode == 0
    bad = run_cli("--sync", "clouds", "aws", env=env)
    assert bad.returncode == 1 and "one named sync" in one_line_error(bad.stderr)


def test_one_runtime_name_is_sent_in_lambdas_spelling_and_read_back_in_sync(tmp_path, project):
    """Declared ``nodejs20`` (Cloud Functions' spelling): Lambda is sent ``nodejs20.x``, as the
    AWS CLI then reads it, and the next sync finds nothing to do."""
    from tests.provider_clis import aws as aws_cli

    home, env, aws = project
    folder = tmp_path / "node"
    folder.mkdir()
    (folder / "index.js").write_text("exports.main = async () => ({statusCode: 200});\n")
    write_yaml(folder / "function.yaml", {"name": "node-fn", "runtime": "nodejs20", "entry_point": "index.main",
                                         "memory": 128, "targets": {"aws": {}}})
    assert run_cli("add", str(folder), env=env).returncode == 0
    _deploy(env)
    config = aws_cli(aws, "lambda", "get-function-configuration", "--function-name", "node-fn")
    assert config["Runtime"] == "nodejs20.x"
    dry = _sync(env, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stdout + dry.stderr
