"""A container-image Lambda function end to end: ``functions-tui add`` and ``--sync aws`` as
subprocesses against moto's server over HTTP, out-of-band changes with the ``aws`` command line.

The function.yaml names no runtime (the image has one); the first sync creates an Image
function, a swapped image is pulled into the registry and written back into function.yaml,
the next ``add`` keeps it, and an image edited in the file is deployed as new code.
"""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import cli_env, run_cli, write_yaml
from tests.provider_clis import aws

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
IMAGE = f"{REGISTRY}/thumbnails:1.4"
NEWER = f"{REGISTRY}/thumbnails:1.5"
EDITED = f"{REGISTRY}/thumbnails:2.0"

DECLARATION = f"""\
name: thumbnails
memory: 512
timeout: 30
env: {{BUCKET: media}}
labels: {{team: media}}
targets:
  aws:
    image: {IMAGE}   # pushed by CI
"""


@pytest.fixture
def project(tmp_path, aws_clean):
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    folder = tmp_path / "src" / "thumbnails"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM public.ecr.aws/lambda/python:3.12\n")
    declaration = folder / "function.yaml"
    declaration.write_text(DECLARATION)
    added = run_cli("add", str(folder), env=env)
    assert added.returncode == 0, added.stdout + added.stderr
    return env, aws_clean, declaration


def sync(env, *extra):
    return run_cli("--sync", "aws", *extra, env=env)


def in_sync(env) -> None:
    again = sync(env, "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["actions"] == []


def test_an_image_function_is_created_pulled_written_back_and_redeployed(project):
    env, backend, declaration = project
    first = sync(env)
    assert first.returncode == 0, first.stdout + first.stderr
    function = aws(backend, "lambda", "get-function", "--function-name", "thumbnails")
    assert function["Configuration"]["PackageType"] == "Image"
    assert "Runtime" not in function["Configuration"] and "Handler" not in function["Configuration"]
    assert function["Code"]["ImageUri"] == IMAGE
    in_sync(env)   # no runtime, no handler: nothing to report

    # A colleague ships 1.5 by hand.
    aws(backend, "lambda", "update-function-code", "--function-name", "thumbnails", "--image-uri", NEWER)
    dry = sync(env, "--dry-run", "--json")
    assert dry.returncode == 2, dry.stderr
    doc = json.loads(dry.stdout)
    [status] = [s for s in doc["statuses"] if s["function"] == "thumbnails"]
    assert status["state"] == "drifted"
    assert [(d["field"], d["registry"], d["component"]) for d in status["diffs"]] == [
        ("code_digest", f"image:{IMAGE}", f"image:{NEWER}")]
    assert [(a["function"], a["kind"]) for a in doc["actions"]] == [("thumbnails", "pull")]

    pulled = sync(env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert declaration.read_text() == DECLARATION.replace(IMAGE, NEWER)   # only the reference changed
    in_sync(env)
    # Adding the (written back) declaration again keeps what runs: still in sync.
    assert run_cli("add", str(declaration), env=env).returncode == 0
    in_sync(env)

    # The person moves to 2.0 in the file: deployed as new code.
    declaration.write_text(DECLARATION.replace(IMAGE, EDITED))
    assert run_cli("add", str(declaration), env=env).returncode == 0
    pushed = sync(env, "--json")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert [(a["kind"], a.get("fields")) for a in json.loads(pushed.stdout)["actions"]] == [
        ("update", ["code_digest"])]
    assert aws(backend, "lambda", "get-function", "--function-name", "thumbnails")["Code"]["ImageUri"] == EDITED
    in_sync(env)
