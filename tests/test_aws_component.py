"""AwsComponent against moto's server over HTTP, reached by boto3 as a user's would be."""

from __future__ import annotations

import pytest

from functions_tui.components.aws import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, AwsComponent
from functions_tui.registry.component import ApplyError, Component
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec


REGISTRY_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"


def make_spec(name: str, tmp_path=None, **overrides) -> FunctionSpec:
    source = ""
    if tmp_path is not None:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "main.py").write_text("def main(event, context):\n    return 'hi'\n")
        source = str(folder)
    values = dict(name=name, runtime="python3.12", entry_point="main.main", source=source, memory=256,
                  timeout=30, env={"GREETING": "hello"}, labels={"team": "core"},
                  code_digest="sha256:" + "a" * 64)
    values.update(overrides)
    return FunctionSpec(**values)


@pytest.fixture
def aws(aws_clean):
    """The adapter configured only through the environment (AWS_ENDPOINT_URL etc.) plus a role."""
    return AwsComponent(role_arn=aws_clean.role_arn, registry_id=REGISTRY_ID)


def test_is_a_component():
    assert isinstance(AwsComponent(), Component)


def test_detect_available_against_moto(aws):
    detection = aws.detect()
    assert detection.available, detection.reason
    assert detection.details["region"] == "us-east-1"
    assert detection.details["endpoint"].startswith("http://127.0.0.1:")
    assert detection.details["credential_source"] == "env"
    assert "testing" not in str(detection.to_dict())  # never the keys themselves


def test_create_then_observe_matches_the_spec(aws, tmp_path):
    spec = make_spec("hello", tmp_path)
    created = aws.create(spec)
    assert created.marked and created.resource_id.endswith(":function:hello")
    assert created.fingerprint() == spec_fingerprint(spec, "aws")

    observation = aws.observe()
    assert observation.complete, observation.errors
    assert set(observation.items) == {"hello"}
    seen = observation.items["hello"]
    assert seen.values["env"] == {"GREETING": "hello"}
    assert seen.values["labels"] == {"team": "core"}
    assert seen.values["code_digest"] == spec.code_digest
    assert seen.values["state"] == "active"
    assert seen.fingerprint() == spec_fingerprint(spec, "aws")


def test_create_without_source_uses_a_placeholder_package(aws):
    created = aws.create(make_spec("nosource", source=""))
    assert created.values["entry_point"] == "main.main"
    assert "nosource" in aws.observe().items


def test_out_of_band_change_is_seen(aws, aws_clean, tmp_path):
    spec = make_spec("drifty", tmp_path)
    aws.create(spec)
    # Someone edits the function in the console (here: a plain boto3 client).
    aws_clean.client("lambda").update_function_configuration(
        FunctionName="drifty", MemorySize=1024, Environment={"Variables": {"GREETING": "bonjour", "NEW": "1"}})

    seen = aws.observe().items["drifty"]
    assert seen.values["memory"] == 1024
    assert seen.values["env"] == {"GREETING": "bonjour", "NEW": "1"}
    assert seen.fingerprint() != spec_fingerprint(spec, "aws")


def test_update_brings_config_code_and_labels_back(aws, aws_clean, tmp_path):
    spec = make_spec("fixme", tmp_path)
    aws.create(spec)
    lam = aws_clean.client("lambda")
    lam.update_function_configuration(FunctionName="fixme", MemorySize=1024, Timeout=3)
    arn = lam.get_function(FunctionName="fixme")["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"stray": "x"})

    new_spec = make_spec("fixme", code_digest="sha256:" + "b" * 64, labels={"team": "edge"})
    result = aws.update(new_spec, ["memory", "timeout", "labels", "code_digest"])
    assert result.fingerprint() == spec_fingerprint(new_spec, "aws")

    tags = lam.list_tags(Resource=arn)["Tags"]
    code_sha = lam.get_function(FunctionName="fixme")["Configuration"]["CodeSha256"]
    assert tags == {MARK_KEY: "fixme", OWNER_KEY: REGISTRY_ID, DIGEST_KEY: "sha256:" + "b" * 64, "team": "edge",
                    DEPLOYED_CODE_KEY: code_sha}
    assert aws.observe().items["fixme"].fingerprint() == spec_fingerprint(new_spec, "aws")


def test_unmarked_functions_are_listed_apart_and_never_touched(aws, aws_clean):
    lam = aws_clean.client("lambda")
    lam.create_function(FunctionName="theirs", Runtime="python3.12", Role=aws_clean.role_arn,
                        Handler="main.main", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
                        Tags={"owner": "someone-else"})
    aws.create(make_spec("ours"))

    observation = aws.observe()
    assert observation.complete
    assert set(observation.items) == {"ours"}
    assert observation.unmarked == ["theirs"]

    with pytest.raises(ApplyError, match="without the functions-tui.function tag"):
        aws.delete("theirs")
    with pytest.raises(ApplyError, match="only changes functions it created"):
        aws.update(make_spec("theirs"), ["memory"])
    assert lam.get_function(FunctionName="theirs")["Configuration"]["MemorySize"] == 128


def test_delete_removes_a_marked_function(aws, tmp_path):
    created = aws.create(make_spec("doomed", tmp_path))
    aws.create(make_spec("keeper"))
    aws.delete("doomed", created.resource_id)

    observation = aws.observe()
    assert observation.complete
    assert set(observation.items) == {"keeper"}
    aws.delete("doomed", created.resource_id)  # already gone: idempotent, no error


def test_errors_become_apply_errors(aws):
    with pytest.raises(ApplyError, match="CreateFunction dup"):
        aws.create(make_spec("dup"))
        aws.create(make_spec("dup"))
    with pytest.raises(ApplyError, match="no IAM role"):
        AwsComponent(registry_id=REGISTRY_ID).create(make_spec("norole"))
    with pytest.raises(ApplyError, match="targets aws region eu-west-1"):
        aws.create(make_spec("elsewhere", targets={"aws": {"region": "eu-west-1"}}))


def test_empty_account_is_a_complete_empty_observation(aws):
    observation = aws.observe()
    assert observation.complete and observation.items == {} and observation.errors == []


def test_explicit_endpoint_wins_over_environment(aws_clean, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    component = AwsComponent(endpoint_url=aws_clean.endpoint, role_arn=aws_clean.role_arn, registry_id=REGISTRY_ID)
    component.create(make_spec("explicit"))
    assert "explicit" in component.observe().items


def test_fast_listing_parse_sees_exactly_what_botocore_parses(aws, aws_clean, tmp_path):
    aws.create(make_spec("one", tmp_path))
    aws.create(make_spec("two", env={"A": "1", "B": "2"}, labels={}, code_digest=""))
    aws_clean.client("lambda").create_function(
        FunctionName="three", Runtime="python3.12", Role=aws_clean.role_arn, Handler="main.main",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})

    fast = aws.observe()
    modeled = AwsComponent(fast_parse=False).observe()
    assert fast.complete and modeled.complete
    assert fast.unmarked == modeled.unmarked == ["three"]
    assert {n: (o.values, o.resource_id, o.marked) for n, o in fast.items.items()} == \
           {n: (o.values, o.resource_id, o.marked) for n, o in modeled.items.items()}


def test_importing_the_adapter_does_not_import_boto3():
    import subprocess
    import sys

    code = "import sys, functions_tui.components.aws; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_tag_pages_are_followed_over_http(aws, aws_clean):
    # moto pages GetResources (100 per page here), unlike ListFunctions: 130 marked functions
    # need two tag pages, joined with the one-page listing.
    lam = aws_clean.client("lambda")
    for i in range(130):
        name = f"many-{i:03d}"
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=aws_clean.role_arn, Handler="main.main",
                            Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18}, Tags={MARK_KEY: name, "i": str(i)})
    observation = aws.observe()
    assert observation.complete, observation.errors
    assert len(observation.items) == 130 and observation.unmarked == []
    assert observation.items["many-129"].values["labels"] == {"i": "129"}


def test_out_of_band_delete_and_unmarking_are_seen(aws, aws_clean):
    aws.create(make_spec("gone"))
    unmarked = aws.create(make_spec("disowned"))
    lam = aws_clean.client("lambda")
    lam.delete_function(FunctionName="gone")
    lam.untag_resource(Resource=unmarked.resource_id, TagKeys=[MARK_KEY])

    observation = aws.observe()
    assert observation.complete
    assert observation.items == {}
    assert observation.unmarked == ["disowned"]
    with pytest.raises(ApplyError, match="refusing to delete"):
        aws.delete("disowned", unmarked.resource_id)


def test_console_edit_reads_as_drift_and_plans_a_pull(aws, aws_clean, tmp_path):
    from functions_tui.registry.models import ComponentRecord, FunctionRecord
    from functions_tui.registry.plan import build_plan
    from functions_tui.registry.plan_types import ActionKind, State

    spec = make_spec("edited", tmp_path, targets={"aws": {}})
    created = aws.create(spec)
    records = {"edited": FunctionRecord(spec, {"aws": ComponentRecord(
        "aws", base=created.fingerprint(), resource_id=created.resource_id)})}
    assert build_plan(records, {"aws": aws.observe()}, policies={"aws": "component-wins"}).actions == []

    aws_clean.client("lambda").update_function_configuration(FunctionName="edited", MemorySize=2048)
    plan = build_plan(records, {"aws": aws.observe()}, policies={"aws": "component-wins"})
    [status] = [s for s in plan.statuses if s.function == "edited"]
    assert status.state is State.DRIFTED
    assert [d.field for d in status.diffs] == ["memory"]
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["memory"])]


def test_botocore_is_told_which_services_exist_instead_of_walking_its_model_folders(aws):
    """~25 ms of every command that reaches AWS went to botocore listing ~1,300 model folders
    to check that "lambda" is a service; the adapter's loader checks the ones it uses (s3 only
    to read a package import downloads behind a custom endpoint)."""
    import botocore.loaders

    session = aws._new_session()
    loader = session.get_component("data_loader")
    assert isinstance(loader, botocore.loaders.Loader)
    assert loader.list_available_services("service-2") == ["lambda", "resourcegroupstaggingapi", "s3"]
    assert loader.list_available_services("waiters-2") == ["lambda", "s3"]   # as botocore's own answer has it
    assert set(loader.list_available_services("service-2")) <= set(
        botocore.loaders.create_loader().list_available_services("service-2"))
    assert aws.lambda_client.list_functions()["Functions"] == []     # the clients still build and work
