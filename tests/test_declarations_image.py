"""Declaring a target that runs a prebuilt image (``targets.aws.image``): how function.yaml
reads, the errors for what cannot run, and how a pulled image stays in the declaration
(``add`` keeps it, write-back writes it). Real files in tmp_path, read by the real reader."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from functions_tui.app.declarations import load_declarations, merge_declared
from functions_tui.app.writeback import declaration_behind, updated_snapshot, write_back
from functions_tui.app.yaml_nodes import SchemaError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import IMAGE_PREFIX

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnails:1.4"
NEWER = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbnails@sha256:" + "e" * 64

IMAGE_ONLY = f"""\
name: thumbnails
memory: 1024
env: {{BUCKET: media}}
targets:
  aws:
    role: arn:aws:iam::123456789012:role/lambda
    image: {IMAGE}   # built by CI, pushed to ECR
"""


def declare(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "fn"
    folder.mkdir(exist_ok=True)
    (folder / "Dockerfile").write_text("FROM public.ecr.aws/lambda/python:3.12\n")
    path = folder / "function.yaml"
    path.write_text(text)
    return path


def read(path: Path):
    [spec] = load_declarations(path, {})
    return spec


def test_an_image_function_needs_no_runtime_and_its_code_is_the_image(tmp_path):
    spec = read(declare(tmp_path, IMAGE_ONLY))
    assert spec.runtime == "" and spec.targets["aws"]["image"] == IMAGE
    assert spec.declared["targets_image"] == {"aws": IMAGE}
    prints = spec_fingerprint(spec, "aws")
    assert prints["code_digest"] == IMAGE_PREFIX + IMAGE
    assert prints["runtime"] is None and prints["entry_point"] is None and prints["memory"] == 1024


def test_a_runtime_no_target_of_the_function_would_use_is_not_checked(tmp_path):
    # Lambda takes no Runtime with an image: a runtime it does not list is no error there.
    spec = read(declare(tmp_path, IMAGE_ONLY.replace("memory: 1024", "runtime: python2.7\nmemory: 1024")))
    assert spec.runtime == "python2.7"


@pytest.mark.parametrize("text, field, words", [
    (IMAGE_ONLY.replace(f"    image: {IMAGE}   # built by CI, pushed to ECR\n", ""),
     "runtime", "required field is missing (only a function whose every target runs an image"),
    (IMAGE_ONLY + "  docker: {port: 8080}\n", "runtime", "every target runs an image"),
    (IMAGE_ONLY.replace(IMAGE, "thumbnails:1.4"), "targets.aws.image",
     "is not an image reference aws (AWS Lambda) takes (allowed: an Amazon ECR image with a tag or a digest"),
    (IMAGE_ONLY.replace(IMAGE, IMAGE.split(":")[0]), "targets.aws.image", "with a tag or a digest"),
    ("name: web\nruntime: python3.12\ntargets:\n  docker: {port: 8080, image: 'web:1'}\n", "targets.docker.image",
     "docker (Docker) builds each function from its source and runs no prebuilt image"),
])
def test_what_cannot_run_is_one_error_naming_the_file_line_and_field(tmp_path, text, field, words):
    path = declare(tmp_path, text)
    with pytest.raises(SchemaError) as raised:
        read(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:") and f": {field}: " in message and words in message, message


# --- a pulled image stays ------------------------------------------------------------------------------

def test_add_keeps_an_image_pulled_since_the_file_was_read_and_takes_an_edited_one(tmp_path):
    path = declare(tmp_path, IMAGE_ONLY)
    registered = read(path)
    registered.targets["aws"]["image"] = NEWER          # a sync pulled what Lambda runs

    again = merge_declared(read(path), registered)        # file untouched: the registry's stands
    assert again.targets["aws"]["image"] == NEWER

    path.write_text(IMAGE_ONLY.replace(":1.4", ":2.0"))  # the person's edit wins
    edited = merge_declared(read(path), registered)
    assert edited.targets["aws"]["image"].endswith(":2.0")


def test_a_pulled_image_is_written_back_changing_only_its_text(tmp_path):
    path = declare(tmp_path, IMAGE_ONLY)
    spec = read(path)
    spec.targets["aws"]["image"] = NEWER
    report = write_back([(spec, [("aws", "pull", ["code_digest"])])], {})
    assert report.warnings == []
    assert path.read_text() == IMAGE_ONLY.replace(IMAGE, NEWER)
    outcome = report.functions["thumbnails"]
    assert outcome.written == [("targets", "aws", "image")]
    assert updated_snapshot(spec.declared, outcome)["targets_image"] == {"aws": NEWER}
    assert read(path).targets["aws"]["image"] == NEWER


def test_an_image_edited_in_the_file_is_not_overwritten_and_shows_as_behind(tmp_path):
    path = declare(tmp_path, IMAGE_ONLY)
    spec = read(path)
    edited = IMAGE_ONLY.replace(":1.4", ":3.0")
    path.write_text(edited)
    spec.targets["aws"]["image"] = NEWER
    report = write_back([(spec, [("aws", "pull", ["code_digest"])])], {})
    assert path.read_text() == edited
    assert len(report.warnings) == 1 and "targets.aws.image" in report.warnings[0]
    assert "was edited since it was last read" in report.warnings[0]
    [behind] = declaration_behind(spec, {})
    assert behind.startswith("targets.aws.image: ") and "was edited since it was last read" in behind


def test_source_code_pulled_for_a_source_target_is_still_never_written(tmp_path):
    text = IMAGE_ONLY.replace("memory: 1024", "runtime: python3.12\nmemory: 1024") + "  docker: {port: 8080}\n"
    path = declare(tmp_path, text)
    spec = read(path)
    changed = copy.deepcopy(spec)
    changed.code_digest = "sha256:" + "0" * 64
    report = write_back([(changed, [("docker", "pull", ["code_digest"])])], {})
    assert report.warnings == [] and path.read_text() == text
