"""Published versions and aliases are parts of one function, never functions of their own.

Against moto's server over HTTP: the versions and aliases are made out of band with the
``aws`` command line (``publish-version``, ``create-alias``), as a colleague's release
script would. ListFunctions with ``FunctionVersion=ALL`` would list ``NAME:$LATEST``,
``NAME:1``, ``NAME:2``... as separate entries; the adapter must list $LATEST only, so each
function is observed once, as itself, and a version holding older settings is no drift.
"""

from __future__ import annotations

import pytest

from functions_tui.components.aws import AwsComponent, function_name_from_arn
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import ComponentRecord, FunctionRecord
from functions_tui.registry.plan import build_plan
from tests.provider_clis import aws
from tests.test_ownership_aws import OURS, cli_create, make_spec


@pytest.fixture
def aws_ours(aws_clean):
    return AwsComponent(role_arn=aws_clean.role_arn, registry_id=OURS)


def release(backend, name: str, memory: int) -> str:
    """What a release script does: change $LATEST, publish it as a version; the version number."""
    aws(backend, "lambda", "update-function-configuration", "--function-name", name, "--memory-size", str(memory))
    return aws(backend, "lambda", "publish-version", "--function-name", name)["Version"]


def listing_calls(component: AwsComponent) -> list[dict]:
    """The parameters of every ListFunctions call the adapter sends from now on."""
    calls: list[dict] = []
    component.lambda_client.meta.events.register(
        "provide-client-params.lambda.ListFunctions", lambda params, **_: calls.append(dict(params)))
    return calls


def test_a_function_with_versions_and_aliases_is_observed_once_and_in_sync(aws_ours, aws_clean):
    spec = make_spec("hello", targets={"aws": {}})
    created = aws_ours.create(spec)
    # Two releases with other memory sizes, then $LATEST back to the registry's value.
    first = release(aws_clean, "hello", 512)
    second = release(aws_clean, "hello", 1024)
    aws(aws_clean, "lambda", "update-function-configuration", "--function-name", "hello",
        "--memory-size", str(spec.memory))
    aws(aws_clean, "lambda", "create-alias", "--function-name", "hello", "--name", "live",
        "--function-version", first)
    aws(aws_clean, "lambda", "create-alias", "--function-name", "hello", "--name", "canary",
        "--function-version", second)
    # The account really holds them: the versions as extra entries of an ALL listing.
    every = aws(aws_clean, "lambda", "list-functions", "--function-version", "ALL")["Functions"]
    assert sorted(f["FunctionArn"].rsplit(":", 1)[1] for f in every) == sorted(["$LATEST", first, second])
    assert len(aws(aws_clean, "lambda", "list-aliases", "--function-name", "hello")["Aliases"]) == 2

    calls = listing_calls(aws_ours)
    observation = aws_ours.observe()
    assert observation.complete, observation.errors
    assert list(observation.items) == ["hello"] and observation.unmarked == []
    seen = observation.items["hello"]
    assert seen.resource_id == created.resource_id  # the function's ARN, not a version's or an alias's
    assert seen.values["memory"] == spec.memory     # $LATEST's, not a published version's
    assert seen.fingerprint() == spec_fingerprint(spec, "aws")
    assert calls and all("FunctionVersion" not in c for c in calls)

    records = {"hello": FunctionRecord(spec, {"aws": ComponentRecord(
        "aws", base=created.fingerprint(), resource_id=created.resource_id)})}
    plan = build_plan(records, {"aws": observation}, policies={"aws": "component-wins"}, components=["aws"])
    assert [(s.function, s.state.value) for s in plan.statuses] == [("hello", "in_sync")]
    assert plan.actions == []


def test_someone_elses_function_with_versions_is_one_unmarked_name(aws_ours, aws_clean, tmp_path):
    cli_create(aws_clean, tmp_path, "theirs", {"team": "other"})
    version = aws(aws_clean, "lambda", "publish-version", "--function-name", "theirs")["Version"]
    aws(aws_clean, "lambda", "create-alias", "--function-name", "theirs", "--name", "prod",
        "--function-version", version)
    aws_ours.create(make_spec("ours"))

    observation = aws_ours.observe()
    assert observation.complete, observation.errors
    assert list(observation.items) == ["ours"]
    assert observation.unmarked == ["theirs"]


def test_drift_on_latest_shows_while_versions_keep_their_old_settings(aws_ours, aws_clean):
    spec = make_spec("hello")
    aws_ours.create(spec)
    release(aws_clean, "hello", spec.memory)  # version 1 holds the registry's memory
    aws(aws_clean, "lambda", "update-function-configuration", "--function-name", "hello", "--memory-size", "2048")

    seen = aws_ours.observe().items["hello"]
    assert seen.values["memory"] == 2048  # what $LATEST (what a deploy changes) holds now


def test_update_and_delete_act_on_the_function_not_on_a_version(aws_ours, aws_clean):
    spec = make_spec("hello")
    created = aws_ours.create(spec)
    version = release(aws_clean, "hello", 512)
    aws(aws_clean, "lambda", "create-alias", "--function-name", "hello", "--name", "live",
        "--function-version", version)

    spec.memory = 768
    updated = aws_ours.update(spec, ["memory"])
    assert updated.resource_id == created.resource_id
    assert updated.fingerprint() == spec_fingerprint(spec, "aws")
    # The published version is left as it was released.
    assert aws(aws_clean, "lambda", "get-function-configuration", "--function-name", "hello",
               "--qualifier", version)["MemorySize"] == 512

    aws_ours.delete("hello", created.resource_id)
    observation = aws_ours.observe()
    assert observation.complete and observation.items == {} and observation.unmarked == []
    assert aws(aws_clean, "lambda", "list-functions", "--function-version", "ALL")["Functions"] == []


@pytest.mark.parametrize("arn", [
    "arn:aws:lambda:us-east-1:123456789012:function:hello",
    "arn:aws:lambda:us-east-1:123456789012:function:hello:live",
    "arn:aws:lambda:us-east-1:123456789012:function:hello:3",
    "arn:aws:lambda:us-east-1:123456789012:function:hello:$LATEST",
])
def test_a_qualified_arn_names_its_function(arn):
    # The tag index joins on names: a version's or an alias's ARN is the same function.
    assert function_name_from_arn(arn) == "hello"
