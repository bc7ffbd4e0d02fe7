"""Ownership by registry identity on AWS Lambda (moto over HTTP).

Resources somebody else made (a legacy name-only mark, another registry's mark, no mark) are
made with the ``aws`` command line (awscli, a test extra), not with our code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions_tui.registry.kinds import kind_of

from functions_tui.components.aws import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, AwsComponent
from functions_tui.registry.component import ApplyError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec
from tests.provider_clis import aws, zip_file

OURS = "0b7e3c1a-5d2f-4e6a-8b9c-1d2e3f4a5b6c"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"


def cli_create(backend: Any, tmp_path: Path, name: str, tags: dict[str, str]) -> dict[str, Any]:
    """A function deployed by hand with ``aws lambda create-function``."""
    package = zip_file(tmp_path, name, {"main.py": "def main(event, context):\n    return 'by hand'\n"})
    args = ["lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
            "--role", backend.role_arn, "--handler", "main.main", "--zip-file", f"fileb://{package}"]
    if tags:
        args += ["--tags", json.dumps(tags)]
    return aws(backend, *args)


def cli_tags(backend: Any, arn: str) -> dict[str, str]:
    return aws(backend, "lambda", "list-tags", "--resource", arn)["Tags"]


def cli_config(backend: Any, name: str) -> dict[str, Any]:
    return aws(backend, "lambda", "get-function-configuration", "--function-name", name)


def make_spec(name: str, **overrides: Any) -> FunctionSpec:
    values: dict[str, Any] = dict(name=name, runtime="python3.12", entry_point="main.main", memory=256, timeout=30,
                                  env={"GREETING": "hello"}, labels={"team": "core"},
                                  code_digest="sha256:" + "a" * 64)
    values.update(overrides)
    return FunctionSpec(**values)


@pytest.fixture
def aws_ours(aws_clean):
    return AwsComponent(role_arn=aws_clean.role_arn, registry_id=OURS)


# -- tests --------------------------------------------------------------------------------

def test_the_keys_are_the_registry_models_spelling():
    assert OWNER_KEY == kind_of("aws").owner_key == "functions-tui.registry"
    assert DEPLOYED_CODE_KEY == kind_of("aws").deployed_code_key == "functions-tui.deployed-code"


def test_create_writes_the_name_mark_and_the_registry_identity(aws_ours, aws_clean):
    created = aws_ours.create(make_spec("mine"))
    assert created.owner == OURS

    tags = cli_tags(aws_clean, created.resource_id)
    assert tags[MARK_KEY] == "mine"
    assert tags[OWNER_KEY] == OURS
    assert tags[DIGEST_KEY] == "sha256:" + "a" * 64
    assert tags["team"] == "core"


def test_observe_reports_each_marked_function_with_its_owner(aws_ours, aws_clean, tmp_path):
    aws_ours.create(make_spec("mine"))
    cli_create(aws_clean, tmp_path, "legacy", {MARK_KEY: "legacy"})
    cli_create(aws_clean, tmp_path, "theirs", {MARK_KEY: "theirs", OWNER_KEY: OTHER})
    cli_create(aws_clean, tmp_path, "stranger", {"owner": "someone"})

    observation = aws_ours.observe()
    assert observation.complete, observation.errors
    # Foreign and legacy resources are reported, not filtered: the engine decides.
    assert {n: (o.marked, o.owner) for n, o in observation.items.items()} == {
        "mine": (True, OURS), "legacy": (True, None), "theirs": (True, OTHER)}
    assert observation.unmarked == ["stranger"]
    assert all(OWNER_KEY not in o.values["labels"] for o in observation.items.values())


def test_claim_migrates_a_legacy_mark_and_changes_nothing_else(aws_ours, aws_clean, tmp_path):
    made = cli_create(aws_clean, tmp_path, "legacy", {MARK_KEY: "legacy", DIGEST_KEY: "sha256:" + "c" * 64,
                                                      "team": "core"})
    before = aws_ours.observe().items["legacy"]
    tags_before = cli_tags(aws_clean, made["FunctionArn"])
    config_before = cli_config(aws_clean, "legacy")
    assert before.owner is None

    claimed = aws_ours.claim("legacy", before.resource_id)

    assert claimed.owner == OURS and claimed.marked
    assert claimed.fingerprint() == before.fingerprint()
    after = aws_ours.observe().items["legacy"]
    assert after.owner == OURS
    assert after.fingerprint() == before.fingerprint()
    assert after.resource_id == before.resource_id
    # Exactly one tag more; the configuration (code, settings, revision) as it was.
    assert cli_tags(aws_clean, made["FunctionArn"]) == {**tags_before, OWNER_KEY: OURS}
    assert cli_config(aws_clean, "legacy") == config_before


def test_claim_takes_over_a_function_the_user_named(aws_ours, aws_clean, tmp_path):
    cli_create(aws_clean, tmp_path, "theirs", {MARK_KEY: "theirs", OWNER_KEY: OTHER})
    assert aws_ours.claim("theirs").owner == OURS  # by name: the resource id is optional
    assert aws_ours.observe().items["theirs"].owner == OURS


def test_claim_refuses_an_unmarked_function(aws_ours, aws_clean, tmp_path):
    made = cli_create(aws_clean, tmp_path, "stranger", {"owner": "someone"})
    with pytest.raises(ApplyError, match="refusing to claim"):
        aws_ours.claim("stranger", made["FunctionArn"])
    assert cli_tags(aws_clean, made["FunctionArn"]) == {"owner": "someone"}


def test_no_identity_refuses_create_update_and_claim(aws_clean, tmp_path):
    anonymous = AwsComponent(role_arn=aws_clean.role_arn)
    assert anonymous.registry_id == ""
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.create(make_spec("unowned"))
    assert aws(aws_clean, "lambda", "list-functions")["Functions"] == []  # nothing was deployed

    cli_create(aws_clean, tmp_path, "legacy", {MARK_KEY: "legacy"})
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.update(make_spec("legacy"), ["memory"])
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.claim("legacy")
    assert cli_config(aws_clean, "legacy")["MemorySize"] == 128
    assert OWNER_KEY not in cli_tags(aws_clean, cli_config(aws_clean, "legacy")["FunctionArn"])


def test_update_writes_the_identity_onto_a_legacy_mark(aws_ours, aws_clean, tmp_path):
    made = cli_create(aws_clean, tmp_path, "legacy", {MARK_KEY: "legacy", "team": "core"})
    spec = make_spec("legacy", memory=512, code_digest="")
    updated = aws_ours.update(spec, ["memory"])
    assert updated.owner == OURS and updated.values["memory"] == 512
    assert cli_tags(aws_clean, made["FunctionArn"]) == {MARK_KEY: "legacy", OWNER_KEY: OURS, "team": "core"}


def test_observe_stays_two_listing_calls_with_owners_and_drift(aws_ours, aws_clean, tmp_path):
    for name in ("one", "two"):
        aws_ours.create(make_spec(name))
    cli_create(aws_clean, tmp_path, "legacy", {MARK_KEY: "legacy"})
    cli_create(aws_clean, tmp_path, "theirs", {MARK_KEY: "theirs", OWNER_KEY: OTHER})
    package = zip_file(tmp_path, "patch", {"main.py": "def main(event, context):\n    return 'patched'\n"})
    aws(aws_clean, "lambda", "update-function-code", "--function-name", "two", "--zip-file", f"fileb://{package}")

    calls: list[str] = []

    def count(model, **_):
        calls.append(model.name)

    for service in ("lambda", "resourcegroupstaggingapi"):
        aws_ours.client(service).meta.events.register("before-call", count)
    observation = aws_ours.observe()

    assert observation.complete, observation.errors
    assert sorted(calls) == ["GetResources", "ListFunctions"]  # one page each, no per-function call
    assert {n: o.owner for n, o in observation.items.items()} == {"one": OURS, "two": OURS, "legacy": None,
                                                                  "theirs": OTHER}
    assert observation.items["two"].values["code_digest"].startswith("aws:")
    assert observation.items["one"].fingerprint() == spec_fingerprint(make_spec("one"), "aws")
