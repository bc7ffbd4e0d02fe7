"""Faults moto cannot produce: throttling, pagination, failed pages, unreachable endpoints.

moto neither throttles nor paginates ``list_functions`` (it returns every function in one
page), so those paths are driven by botocore's own test hooks on the adapter's real clients:

* ``botocore.stub.Stubber`` answers at ``before-call``, *outside* botocore's retry loop: what
  it returns is what the adapter sees after retries (used for pages and exhausted retries).
* Throttling-then-success must go through the retry loop itself (the thing under test is
  our explicit standard-mode retry config), so it injects 429 answers at ``before-send``,
  the hook botocore fires for every HTTP attempt, and lets later attempts reach moto.

Every fault must leave the observation incomplete, and the engine must then plan no
prune and no delete.
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from functions_tui.components.aws import MARK_KEY, MAX_TAG_CHECKS, AwsComponent
from functions_tui.registry.component import Observation
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.plan import build_plan

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"


def config(name: str, last_modified: str = "2024-01-02T03:04:05.000+0000") -> dict:
    return {"FunctionName": name, "FunctionArn": ARN.format(name), "Runtime": "python3.12",
            "Handler": "main.main", "MemorySize": 256, "Timeout": 30, "LastModified": last_modified}


def tag_page(names: list[str], token: str = "") -> dict:
    page = {"ResourceTagMappingList": [{"ResourceARN": ARN.format(n), "Tags": [{"Key": MARK_KEY, "Value": n}]}
                                       for n in names]}
    if token:
        page["PaginationToken"] = token
    return page


def stubbed_component(**kwargs) -> tuple[AwsComponent, Stubber, Stubber]:
    component = AwsComponent(region="us-east-1", endpoint_url="http://127.0.0.1:9", **kwargs)
    lam, tagging = Stubber(component.lambda_client), Stubber(component.tagging_client)
    lam.activate()
    tagging.activate()
    return component, lam, tagging


@pytest.fixture
def fake_credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


def five_pages(names: list[str]) -> list[list[str]]:
    return [names[i:i + 2] for i in range(0, 10, 2)]


def registry_with_bases(names: list[str]) -> dict[str, FunctionRecord]:
    """Registry records whose base says each function was on aws at the last sync."""
    records = {}
    for name in names:
        spec = FunctionSpec(name=name, runtime="python3.12", entry_point="main.main", memory=256, timeout=30,
                            targets={"aws": {}})
        records[name] = FunctionRecord(spec, {"aws": ComponentRecord("aws", base=spec_fingerprint(spec, "aws"))})
    return records


def assert_nothing_destructive(observation: Observation, names: list[str]) -> None:
    plan = build_plan(registry_with_bases(names), {"aws": observation}, policies={"aws": "component-wins"},
                      components=["aws"])
    assert "aws" in plan.unknown
    assert not [a for a in plan.actions if a.destructive]


# -- pagination ---------------------------------------------------------------------------

def test_all_five_pages_are_read_and_joined_with_tags(fake_credentials):
    component, lam, tagging = stubbed_component()
    names = [f"fn{i}" for i in range(10)]
    pages = five_pages(names)
    for number, page in enumerate(pages):
        expected = {"MaxItems": 50, **({"Marker": f"m{number}"} if number else {})}
        response = {"Functions": [config(n) for n in page], **({"NextMarker": f"m{number + 1}"} if number < 4 else {})}
        lam.add_response("list_functions", response, expected)
    # Tags come in pages too; fn9 is not ours.
    tagging.add_response("get_resources", tag_page(names[:5], token="t1"))
    tagging.add_response("get_resources", tag_page(names[5:9]))

    observation = component.observe()
    assert observation.complete, observation.errors
    assert sorted(observation.items) == names[:9]
    assert observation.unmarked == ["fn9"]
    lam.assert_no_pending_responses()
    tagging.assert_no_pending_responses()


def test_page_three_of_five_failing_makes_the_observation_incomplete(fake_credentials):
    component, lam, tagging = stubbed_component()
    names = [f"fn{i}" for i in range(10)]
    pages = five_pages(names)
    lam.add_response("list_functions", {"Functions": [config(n) for n in pages[0]], "NextMarker": "m1"})
    lam.add_response("list_functions", {"Functions": [config(n) for n in pages[1]], "NextMarker": "m2"})
    lam.add_client_error("list_functions", "ServiceException", "internal failure", http_status_code=500)
    tagging.add_response("get_resources", tag_page(names))

    observation = component.observe()
    assert observation.complete is False
    assert any("ListFunctions page 3" in e and "ServiceException" in e for e in observation.errors)
    # What was read is still reported; nothing after the failed page is invented or dropped silently.
    assert sorted(observation.items) == names[:4]
    assert_nothing_destructive(observation, names)


def test_failed_tag_page_makes_it_incomplete_and_claims_nothing_unmarked(fake_credentials):
    component, lam, tagging = stubbed_component()
    lam.add_response("list_functions", {"Functions": [config("a"), config("b"), config("c")]})
    tagging.add_response("get_resources", tag_page(["a"], token="t1"))
    tagging.add_client_error("get_resources", "ThrottledException", "slow down", http_status_code=400)

    observation = component.observe()
    assert observation.complete is False
    assert any("tag:GetResources page 2" in e for e in observation.errors)
    assert sorted(observation.items) == ["a"]
    assert observation.unmarked == []  # b and c may be ours: we cannot tell, so we do not say
    assert_nothing_destructive(observation, ["a", "b", "c"])


def test_throttling_that_outlasts_the_retries_is_incomplete_not_empty(fake_credentials):
    # Stubber sits after the retry loop: this error is what remains once retries gave up.
    component, lam, tagging = stubbed_component()
    lam.add_client_error("list_functions", "TooManyRequestsException", "Rate exceeded", http_status_code=429)
    tagging.add_response("get_resources", tag_page([]))

    observation = component.observe()
    assert observation.complete is False
    assert observation.items == {}
    assert any("TooManyRequestsException" in e and "throttled" in e for e in observation.errors)
    assert_nothing_destructive(observation, ["x", "y"])


def test_recent_functions_missing_from_the_tag_index_are_asked_directly(fake_credentials):
    # AWS's tag index lags a fresh create: a just-created function must not read as "not ours".
    component, lam, tagging = stubbed_component()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    lam.add_response("list_functions", {"Functions": [config("old"), config("fresh", now), config("theirs", now)]})
    tagging.add_response("get_resources", tag_page(["old"]))
    lam.add_response("list_tags", {"Tags": {MARK_KEY: "fresh"}}, {"Resource": ARN.format("fresh")})
    lam.add_response("list_tags", {"Tags": {"owner": "else"}}, {"Resource": ARN.format("theirs")})

    observation = component.observe()
    assert observation.complete, observation.errors
    assert sorted(observation.items) == ["fresh", "old"]
    assert observation.unmarked == ["theirs"]
    lam.assert_no_pending_responses()


def test_too_many_recent_untagged_functions_is_incomplete(fake_credentials):
    component, lam, tagging = stubbed_component()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    lam.add_response("list_functions", {"Functions": [config(f"n{i}", now) for i in range(MAX_TAG_CHECKS + 1)]})
    tagging.add_response("get_resources", tag_page([]))

    observation = component.observe()
    assert observation.complete is False
    assert any("not in the tag index yet" in e for e in observation.errors)
    assert observation.unmarked == []


# -- the real retry loop ------------------------------------------------------------------

class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def throttle_first(component: AwsComponent, times: int) -> list[int]:
    """Answer the first ``times`` ListFunctions HTTP attempts with 429; later ones go through."""
    attempts: list[int] = []

    def before_send(request, **_):
        attempts.append(1)
        if len(attempts) <= times:
            body = b'{"message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}'
            return AWSResponse(request.url, 429, {"x-amzn-ErrorType": "TooManyRequestsException"}, _Body(body))
        return None

    component.lambda_client.meta.events.register("before-send.lambda.ListFunctions", before_send)
    return attempts


def test_throttled_then_success_is_retried_by_standard_mode(aws_clean):
    owner = AwsComponent(role_arn=aws_clean.role_arn, registry_id="6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c")
    owner.create(FunctionSpec(name="survivor", runtime="python3.12", entry_point="main.main"))

    component = AwsComponent(max_attempts=3)
    attempts = throttle_first(component, times=1)
    observation = component.observe()
    assert observation.complete, observation.errors
    assert set(observation.items) == {"survivor"}
    assert len(attempts) == 2  # one throttled attempt, one retry that reached moto


def test_retries_exhausted_leaves_the_observation_incomplete(aws_clean):
    AwsComponent(role_arn=aws_clean.role_arn, registry_id="6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c").create(
        FunctionSpec(name="hidden", runtime="python3.12", entry_point="main.main"))

    component = AwsComponent(max_attempts=2)
    attempts = throttle_first(component, times=100)
    observation = component.observe()
    # botocore's retries "max_attempts" counts retries after the first try: 1 + 2 sends.
    assert len(attempts) == 3
    assert observation.complete is False
    assert any("TooManyRequestsException" in e and "2 retries" in e for e in observation.errors)
    assert_nothing_destructive(observation, ["hidden"])


# -- unreachable, missing credentials, versions -----------------------------------------

@pytest.fixture
def closed_port() -> str:
    """An endpoint nothing listens on: bind a port, then close it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_endpoint_is_unavailable_with_a_reason(fake_credentials, closed_port):
    component = AwsComponent(region="us-east-1", endpoint_url=closed_port, max_attempts=2)
    detection = component.detect()
    assert detection.available is False
    assert "cannot reach the endpoint" in detection.reason and closed_port in detection.reason
    assert "AWS_ENDPOINT_URL" in detection.fix

    observation = component.observe()
    assert observation.complete is False
    assert any("cannot reach the endpoint" in e for e in observation.errors)
    assert_nothing_destructive(observation, ["a"])


def test_no_credentials_is_unavailable_with_the_fix(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup here

    detection = AwsComponent(region="us-east-1").detect()
    assert detection.available is False
    assert detection.reason == "no AWS credentials"
    assert "aws configure" in detection.fix and "AWS_PROFILE" in detection.fix


def test_unknown_profile_is_unavailable(fake_credentials):
    detection = AwsComponent(region="us-east-1", profile="nope").detect()
    assert detection.available is False
    assert "'nope' not found" in detection.reason
    assert "aws configure --profile nope" in detection.fix


def test_botocore_version_is_compared_as_a_version(fake_credentials, closed_port, monkeypatch):
    import botocore

    monkeypatch.setattr(botocore, "__version__", "1.9.0")  # as a string "1.9.0" > "1.34.0"
    old = AwsComponent(region="us-east-1", endpoint_url=closed_port, max_attempts=1).detect()
    assert old.available is False and "older than 1.34.0" in old.reason

    monkeypatch.setattr(botocore, "__version__", "1.100.0")  # as a string "1.100.0" < "1.34.0"
    new = AwsComponent(region="us-east-1", endpoint_url=closed_port, max_attempts=1).detect()
    assert "older than" not in new.reason  # passes the version check, fails later on the closed port


def test_no_region_anywhere_is_an_incomplete_observation(fake_credentials, monkeypatch):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    component = AwsComponent(endpoint_url="http://127.0.0.1:9")
    observation = component.observe()
    assert observation.complete is False
    assert any("no AWS region" in e for e in observation.errors)
    detection = component.detect()
    assert detection.available is False and detection.reason == "no AWS region"
