"""``functions-tui import aws [NAME...]`` against moto's server: a Lambda function created out
of band (the real ``aws`` command line, no mark) is written to a function.yaml, marked with this
registry's identity (tags only: its configuration and code stay as they were) and registered
with its base, so the next ``--sync --dry-run aws`` reads it as in sync.

The code: moto's GetFunction gives every zip function a ``Code.Location`` on
``awslambda-REGION-tasks.s3.REGION.amazonaws.com/<S3Key>``. Behind a custom endpoint import asks
the S3 API on that endpoint for the same bucket and key (components/aws_package.py). moto keeps a
package uploaded inline (``--zip-file``) in memory only, under a key in no bucket: no API serves
it, and import says so and writes the function.yaml alone. A function deployed from S3 keeps its
bucket's key; ``deployed_from_s3`` puts its package in a bucket named as moto's Location names
Lambda's own (a test arrangement to match moto's hard-coded name, not a fake: moto's Lambda reads
the package from that object, and GetObject returns those very bytes), so the download path,
CodeSha256 check included, runs for real.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from importlib import resources

import jsonschema
import yaml

from functions_tui.components.aws import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY
from tests.cli_helpers import cli_env, command, registry_bytes, registry_id, run_cli, write_yaml
from tests.provider_clis import aws, zip_file

import pytest


@pytest.fixture
def home(tmp_path, aws_clean):
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    assert run_cli("status", env=env).returncode in (0, 2)   # the registry and its identity exist
    return home, env, aws_clean


def out_of_band(backend, tmp_path, name: str, **extra: str) -> dict:
    package = zip_file(tmp_path, name, {"main.py": "def main(event, context):\n    return 'hand made'\n"})
    args = ["lambda", "create-function", "--function-name", name, "--runtime", "python3.11",
            "--handler", "main.main", "--role", backend.role_arn, "--zip-file", f"fileb://{package}",
            "--memory-size", "256", "--timeout", "30",
            "--environment", json.dumps({"Variables": {"API_TOKEN": "s3cr3t-value", "MODE": "pr${od}"}}), "--tags", "team=data"]
    return aws(backend, *args)


def deployed_from_s3(backend, tmp_path, name: str, files: dict[str, str]) -> dict:
    """A function deployed the other way awscli offers: its package uploaded to S3 first, in the
    bucket moto's GetFunction names in Code.Location (see the module docstring)."""
    bucket = f"awslambda-{backend.region}-tasks"
    package = zip_file(tmp_path, name, files)
    buckets = [b["Name"] for b in (aws(backend, "s3api", "list-buckets") or {}).get("Buckets", [])]
    if bucket not in buckets:
        aws(backend, "s3api", "create-bucket", "--bucket", bucket)
    aws(backend, "s3api", "put-object", "--bucket", bucket, "--key", f"{name}.zip", "--body", str(package))
    return aws(backend, "lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
               "--handler", "main.main", "--role", backend.role_arn, "--code", f"S3Bucket={bucket},S3Key={name}.zip",
               "--memory-size", "128")


def config_of(backend, name: str) -> dict:
    return aws(backend, "lambda", "get-function-configuration", "--function-name", name)


def tags_of(backend, arn: str) -> dict:
    return aws(backend, "lambda", "list-tags", "--resource", arn)["Tags"]


def comparable(config: dict) -> dict:
    return {k: config.get(k) for k in ("Runtime", "Handler", "MemorySize", "Timeout", "Environment", "CodeSha256",
                                       "CodeSize", "Role", "PackageType")}


def test_listing_names_the_unmarked_functions_only(home, tmp_path):
    _, env, backend = home
    out_of_band(backend, tmp_path, "legacy")
    make = write_yaml(tmp_path / "src" / "ours" / "function.yaml", {
        "name": "ours", "runtime": "python3.11", "entry_point": "main.main", "targets": {"aws": {}}})
    (make.parent / "main.py").write_text("def main(e, c):\n    return 1\n")
    assert run_cli("add", str(make.parent), env=env).returncode == 0
    assert run_cli("--sync", "aws", env=env).returncode == 0

    listed = run_cli("import", "aws", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["legacy"]
    assert "python3.11" in lines[0] and "256" in lines[0]


def test_import_writes_marks_and_registers_it_in_sync(home, tmp_path):
    home, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    before = config_of(backend, "legacy")
    dest = tmp_path / "imported"

    done = run_cli("import", "aws", "legacy", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "s3cr3t-value" not in done.stdout + done.stderr   # env values are never printed
    assert "API_TOKEN, MODE written in clear" in done.stdout and "${VAR}" in done.stdout
    assert "no code written" in done.stdout   # moto's code location is not reachable here
    # (a provider's value with a $ is written as $$, so it reads back as itself, not as ${od})

    path = dest / "legacy" / "function.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    declared = yaml.safe_load(path.read_text())
    assert declared == {"name": "legacy", "runtime": "python3.11", "entry_point": "main.main", "memory": 256,
                        "timeout": 30, "env": {"API_TOKEN": "s3cr3t-value", "MODE": "pr$${od}"},
                        "labels": {"team": "data"}, "targets": {"aws": {"region": backend.region}}}
    assert not [p for p in dest.iterdir() if p.name.startswith(".import-")]   # no scratch folder left

    # Marked: name, our identity, the written source's digest, Lambda's own code hash; nothing else.
    after = config_of(backend, "legacy")
    assert comparable(after) == comparable(before)
    tags = tags_of(backend, created["FunctionArn"])
    assert tags[MARK_KEY] == "legacy" and tags[OWNER_KEY] == registry_id(home)
    assert tags[DEPLOYED_CODE_KEY] == before["CodeSha256"] and tags[DIGEST_KEY].startswith("sha256:")
    assert tags["team"] == "data"

    dry = run_cli("--sync", "--dry-run", "aws", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    info = run_cli("info", "legacy", env=env)
    assert info.returncode == 0 and "legacy" in info.stdout
    assert "interrupted" not in run_cli("status", env=env).stderr   # the journaled mark was cleared


def test_dry_run_writes_and_marks_nothing(home, tmp_path):
    home_dir, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    registry = registry_bytes(home_dir)
    dest = tmp_path / "imported"
    dry = run_cli("import", "aws", "legacy", "--to", str(dest), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would write" in dry.stdout and "would mark" in dry.stdout and "s3cr3t-value" not in dry.stdout
    assert not dest.exists()
    assert MARK_KEY not in tags_of(backend, created["FunctionArn"])
    assert registry_bytes(home_dir) == registry


def test_without_a_terminal_and_without_yes_it_refuses(home, tmp_path):
    home_dir, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    dest = tmp_path / "imported"
    refused = run_cli("import", "aws", "legacy", "--to", str(dest), env=env)
    assert refused.returncode == 1
    assert "not a terminal" in refused.stderr and "--yes" in refused.stderr
    assert not dest.exists() and MARK_KEY not in tags_of(backend, created["FunctionArn"])


def test_a_marked_or_missing_name_is_refused_and_the_others_imported(home, tmp_path):
    home_dir, env, backend = home
    out_of_band(backend, tmp_path, "legacy")
    out_of_band(backend, tmp_path, "other")
    dest = tmp_path / "imported"
    first = run_cli("import", "aws", "legacy", "--to", str(dest), "--yes", env=env)
    assert first.returncode == 0, first.stderr

    theirs = out_of_band(backend, tmp_path, "theirs")
    aws(backend, "lambda", "tag-resource", "--resource", theirs["FunctionArn"],
        "--tags", f"{MARK_KEY}=theirs,{OWNER_KEY}=another-registry")

    again = run_cli("import", "aws", "legacy", "nothere", "theirs", "other", "--to", str(tmp_path / "second"),
                    "--yes", env=env)
    assert again.returncode == 1
    errors = again.stderr.strip().splitlines()
    assert len(errors) == 3, errors
    assert any("legacy" in line and "this registry's mark" in line and "--sync aws" in line for line in errors), errors
    assert any("theirs" in line and "another registry" in line and "adopt theirs --from aws" in line
               for line in errors), errors
    assert any("nothere" in line and "not found" in line for line in errors), errors
    assert sorted(p.name for p in (tmp_path / "second").iterdir()) == ["other"]   # nothing half-done
    assert "legacy" in first.stdout


def test_a_container_image_function_is_declared_by_its_image(home, tmp_path):
    home_dir, env, backend = home
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/legacy:v1"
    created = aws(backend, "lambda", "create-function", "--function-name", "boxed", "--package-type", "Image",
                  "--code", f"ImageUri={image}", "--role", backend.role_arn, "--memory-size", "512")
    before = config_of(backend, "boxed")
    dest = tmp_path / "imported"
    done = run_cli("import", "aws", "boxed", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "container image" in done.stdout   # why no code was written
    declared = yaml.safe_load((dest / "boxed" / "function.yaml").read_text())
    assert declared["targets"] == {"aws": {"image": image}} and "runtime" not in declared
    assert declared["memory"] == 512
    assert comparable(config_of(backend, "boxed")) == comparable(before)
    tags = tags_of(backend, created["FunctionArn"])
    assert tags[MARK_KEY] == "boxed" and tags[DIGEST_KEY] == "image:" + image
    dry = run_cli("--sync", "--dry-run", "aws", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr


def on_a_terminal(args: list[str], env: dict, answer: str) -> subprocess.CompletedProcess:
    """The CLI with its stdin on a pseudo-terminal (so it asks), answering ``answer``."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer.encode() + b"\n")
        return subprocess.run(command() + args, stdin=terminal, env=env, capture_output=True, text=True, timeout=180)
    finally:
        os.close(controller)
        os.close(terminal)


def test_on_a_terminal_it_asks_and_no_leaves_everything_as_it_was(home, tmp_path):
    home_dir, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    dest = tmp_path / "imported"
    declined = on_a_terminal(["import", "aws", "legacy", "--to", str(dest)], env, "n")
    assert declined.returncode == 0, declined.stderr
    assert "not imported" in declined.stdout
    assert not dest.exists()
    assert MARK_KEY not in tags_of(backend, created["FunctionArn"])

    accepted = on_a_terminal(["import", "aws", "legacy", "--to", str(dest)], env, "y")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert (dest / "legacy" / "function.yaml").exists()
    assert tags_of(backend, created["FunctionArn"])[MARK_KEY] == "legacy"


def test_read_only_refuses_before_writing_anything(home, tmp_path):
    home_dir, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    dest = tmp_path / "imported"
    refused = run_cli("--read-only", "import", "aws", "legacy", "--to", str(dest), "--yes", env=env)
    assert refused.returncode == 1 and "read-only" in refused.stderr.lower(), refused.stderr
    assert not dest.exists() and MARK_KEY not in tags_of(backend, created["FunctionArn"])


def test_the_code_is_downloaded_through_the_endpoint_and_checked(home, tmp_path):
    home_dir, env, backend = home
    files = {"main.py": "def main(event, context):\n    return 'from s3'\n", "lib/util.py": "X = 1\n"}
    created = deployed_from_s3(backend, tmp_path, "froms3", files)
    location = aws(backend, "lambda", "get-function", "--function-name", "froms3")["Code"]["Location"]
    assert location.startswith(f"https://awslambda-{backend.region}-tasks.s3.")   # AWS's host, not moto's
    dest = tmp_path / "imported"

    done = run_cli("import", "aws", "froms3", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no code written" not in done.stdout
    assert "CodeSha256 checked" in done.stdout and "S3 GetObject" in done.stdout
    folder = dest / "froms3"
    assert (folder / "main.py").read_text() == files["main.py"]
    assert (folder / "lib" / "util.py").read_text() == files["lib/util.py"]
    # The digest import records is the written source's; Lambda's own code hash is untouched.
    assert config_of(backend, "froms3")["CodeSha256"] == created["CodeSha256"]
    assert tags_of(backend, created["FunctionArn"])[MARK_KEY] == "froms3"
    dry = run_cli("--sync", "--dry-run", "aws", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr


def test_a_package_that_is_not_the_one_lambda_runs_is_not_written(home, tmp_path):
    home_dir, env, backend = home
    deployed_from_s3(backend, tmp_path, "swapped", {"main.py": "def main(e, c):\n    return 1\n"})
    # Someone overwrites the object after the deploy: Lambda still runs the old package.
    other = zip_file(tmp_path, "other", {"main.py": "print('not what runs')\n"})
    aws(backend, "s3api", "put-object", "--bucket", f"awslambda-{backend.region}-tasks", "--key", "swapped.zip",
        "--body", str(other))
    dest = tmp_path / "imported"
    done = run_cli("import", "aws", "swapped", "--to", str(dest), "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "no code written" in done.stdout and "CodeSha256" in done.stdout
    assert "main.py" not in done.stdout.split("no code written")[0]   # no code listed as would-be written


def import_schema() -> dict:
    """app/result_schema.json's import document (its $defs hold it beside the sync result)."""
    schema = json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/import_result"}


def test_json_lists_imports_and_refuses_name_by_name(home, tmp_path):
    home_dir, env, backend = home
    out_of_band(backend, tmp_path, "legacy")
    theirs = out_of_band(backend, tmp_path, "theirs")
    aws(backend, "lambda", "tag-resource", "--resource", theirs["FunctionArn"],
        "--tags", f"{MARK_KEY}=theirs,{OWNER_KEY}=another-registry")
    dest = tmp_path / "imported"

    listed = run_cli("import", "aws", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    jsonschema.validate(document, import_schema())
    assert document["mode"] == "list" and document["component"] == "aws" and document["functions"] == []
    assert [c["name"] for c in document["candidates"]] == ["legacy"]
    assert document["candidates"][0]["resource_id"].endswith(":function:legacy")

    unconfirmed = run_cli("import", "aws", "legacy", "--json", "--to", str(dest), env=env)
    assert unconfirmed.returncode == 1
    document = json.loads(unconfirmed.stdout)
    jsonschema.validate(document, import_schema())
    assert document["functions"] == [] and "--yes" in document["errors"][0] and not dest.exists()

    planned = run_cli("import", "aws", "legacy", "--json", "--dry-run", "--to", str(dest), env=env)
    assert planned.returncode == 0, planned.stderr
    document = json.loads(planned.stdout)
    jsonschema.validate(document, import_schema())
    [entry] = document["functions"]
    assert (document["mode"], entry["outcome"], entry["folder"], entry["marked"]) == (
        "dry-run", "planned", str(dest / "legacy"), False)
    assert not dest.exists() and MARK_KEY not in tags_of(backend, theirs["FunctionArn"].replace("theirs", "legacy"))

    done = run_cli("import", "aws", "legacy", "theirs", "nothere", "--json", "--yes", "--to", str(dest), env=env)
    assert done.returncode == 1
    assert "s3cr3t-value" not in done.stdout + done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, import_schema())
    entries = {e["name"]: e for e in document["functions"]}
    assert [e["name"] for e in document["functions"]] == ["legacy", "theirs", "nothere"]
    assert entries["legacy"]["outcome"] == "imported" and entries["legacy"]["marked"]
    assert entries["legacy"]["folder"] == str(dest / "legacy") and "function.yaml" in entries["legacy"]["files"]
    assert entries["legacy"]["env_in_clear"] == ["API_TOKEN", "MODE"]
    assert entries["legacy"]["declaration"]["env"] == {"API_TOKEN": "***", "MODE": "***"}
    assert entries["theirs"]["outcome"] == "refused" and "another registry" in entries["theirs"]["reason"]
    assert entries["nothere"]["outcome"] == "refused" and entries["nothere"]["folder"] is None
    assert len(document["errors"]) == 2 and len(done.stderr.strip().splitlines()) == 2

    down = run_cli("import", "gcp", "--json", env=env)   # no project here: the run stops before any name
    assert down.returncode == 1
    document = json.loads(down.stdout)
    jsonschema.validate(document, import_schema())
    assert document["mode"] == "error" and document["errors"] and document["component"] == "gcp"


def test_a_runtime_the_function_does_not_run_is_refused(home, tmp_path):
    home_dir, env, backend = home
    created = out_of_band(backend, tmp_path, "legacy")
    dest = tmp_path / "imported"
    refused = run_cli("import", "aws", "legacy", "--runtime", "python3.12", "--to", str(dest), "--yes", env=env)
    assert refused.returncode == 1
    assert "--runtime python3.12" in refused.stderr and "python3.11" in refused.stderr, refused.stderr
    assert not dest.exists() and MARK_KEY not in tags_of(backend, created["FunctionArn"])
