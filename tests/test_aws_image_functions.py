"""Container-image Lambda functions (``PackageType: Image``) against moto's server over HTTP.

A function declared with ``targets.aws.image`` is created with ``PackageType=Image`` and
``Code={ImageUri}``; its code is that reference (``code_digest`` ``image:<reference>``), it has
no Runtime or Handler (the image's), and observing it costs nothing beyond the two listings
while its code is the one we deployed. Out-of-band changes are made with the ``aws`` command
line against the same server.

What moto cannot show, and how these tests handle it:

* moto accepts Runtime/Handler in UpdateFunctionConfiguration, and ZipFile in
  UpdateFunctionCode, for an image function (Lambda refuses both): the tests record what the
  adapter sends (botocore's ``provide-client-params`` event on the real client) and assert
  those are never sent, instead of relying on moto to refuse them.
* By default moto does not look images up (its CodeSha256 of an image is the SHA-256 of the
  reference text). The test of a tag moved to another image turns moto's ECR lookup on
  (``MOTO_LAMBDA_STUB_ECR=false``; the server runs in this process) and pushes real
  manifests with ``aws ecr put-image``, so the digest Lambda reports is the image's.
* moto does not apply ImageConfig changes made with UpdateFunctionConfiguration, so an
  ImageConfig override is not exercised here (the adapter neither compares nor sends it).
* A GetFunction that fails for a function the listing just showed cannot be forced on moto:
  that one test (``..._stubbed``) answers the adapter's real clients with botocore's Stubber.
"""

from __future__ import annotations

import json

import pytest

from functions_tui.components import aws as aws_module
from functions_tui.components.aws import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, AwsComponent
from functions_tui.registry.apply import apply_plan
from functions_tui.registry.component import ApplyError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import IMAGE_PREFIX, ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Policy, State
from tests.engine_helpers import seed
from tests.provider_clis import aws
from tests.test_ownership_aws import OURS, cli_tags

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
IMAGE = f"{REGISTRY}/thumbnails:1.4"
NEWER = f"{REGISTRY}/thumbnails:1.5"


def image_spec(name: str = "thumbs", image: str = IMAGE, **overrides) -> FunctionSpec:
    """As app.declarations reads a function.yaml with targets.aws.image and no runtime."""
    values = dict(name=name, runtime="", memory=512, timeout=30, env={"BUCKET": "media"},
                  labels={"team": "media"}, code_digest="sha256:" + "a" * 64,
                  targets={"aws": {"image": image}})
    values.update(overrides)
    return FunctionSpec(**values)


@pytest.fixture
def aws_ours(aws_clean):
    return AwsComponent(role_arn=aws_clean.role_arn, registry_id=OURS)


def sent(component: AwsComponent) -> list[tuple[str, dict]]:
    """(operation, parameters) of every Lambda call the adapter makes from now on."""
    calls: list[tuple[str, dict]] = []
    component.lambda_client.meta.events.register(
        "provide-client-params.lambda.*", lambda params, model, **_: calls.append((model.name, dict(params))))
    return calls


def cli_image_function(backend, name: str, image: str, tags: dict[str, str] | None = None) -> dict:
    args = ["lambda", "create-function", "--function-name", name, "--package-type", "Image",
            "--code", f"ImageUri={image}", "--role", backend.role_arn]
    if tags:
        args += ["--tags", json.dumps(tags)]
    return aws(backend, *args)


def record_of(spec: FunctionSpec, made) -> FunctionRecord:
    return FunctionRecord(spec, {"aws": ComponentRecord("aws", base=made.fingerprint(), resource_id=made.resource_id)})


# -- create and observe ---------------------------------------------------------------------

def test_create_sends_the_image_and_no_runtime_or_handler(aws_ours, aws_clean):
    spec = image_spec()
    calls = sent(aws_ours)
    created = aws_ours.create(spec)

    [(op, params)] = [c for c in calls if c[0] == "CreateFunction"]
    assert params["PackageType"] == "Image" and params["Code"] == {"ImageUri": IMAGE}
    assert "Runtime" not in params and "Handler" not in params
    function = aws(aws_clean, "lambda", "get-function", "--function-name", "thumbs")
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Code"]["ImageUri"] == IMAGE
    tags = cli_tags(aws_clean, created.resource_id)
    assert tags[DIGEST_KEY] == IMAGE_PREFIX + IMAGE
    assert tags[DEPLOYED_CODE_KEY] == function["Configuration"]["CodeSha256"]
    assert created.fingerprint() == spec_fingerprint(spec, "aws")


def test_an_image_function_observes_as_its_declaration_with_no_call_per_function(aws_ours, aws_clean, tmp_path):
    specs = [image_spec(f"img-{i}", f"{REGISTRY}/img-{i}:v{i}") for i in range(3)]
    for spec in specs:
        aws_ours.create(spec)
    zipped = FunctionSpec(name="zipped", runtime="python3.12", entry_point="main.main", code_digest="sha256:" + "b" * 64)
    aws_ours.create(zipped)

    calls = sent(aws_ours)
    observation = aws_ours.observe()
    assert observation.complete, observation.errors
    assert [op for op, _ in calls] == ["ListFunctions"]   # no GetFunction: the tags say which image
    for spec in specs:
        seen = observation.items[spec.name]
        assert (seen.values["runtime"], seen.values["entry_point"]) == ("", "")
        assert seen.values["code_digest"] == IMAGE_PREFIX + spec.targets["aws"]["image"]
        assert seen.values["target"] == {"image": spec.targets["aws"]["image"]}
        assert seen.fingerprint() == spec_fingerprint(spec, "aws")
        assert "image" in seen.summary
    assert observation.items["zipped"].fingerprint() == spec_fingerprint(zipped, "aws")
    assert "target" not in observation.items["zipped"].values


def test_no_runtime_or_handler_is_no_drift_and_an_update_never_sends_them(aws_ours, aws_clean):
    spec = image_spec(runtime="python3.12", entry_point="app.handler")  # a declaration may still name them
    created = aws_ours.create(spec)
    records = {"thumbs": record_of(spec, created)}
    plan = build_plan(records, {"aws": aws_ours.observe()}, policies={"aws": Policy.COMPONENT_WINS})
    assert [(s.state, s.diffs) for s in plan.statuses] == [(State.IN_SYNC, [])] and plan.actions == []

    calls = sent(aws_ours)
    spec.memory = 1024
    # Even asked to (fields a caller may pass), the image's runtime and handler are never sent.
    updated = aws_ours.update(spec, ["runtime", "entry_point", "memory"])
    [(_, params)] = [c for c in calls if c[0] == "UpdateFunctionConfiguration"]
    assert params == {"FunctionName": "thumbs", "MemorySize": 1024}
    assert updated.fingerprint() == spec_fingerprint(spec, "aws")
    config = aws(aws_clean, "lambda", "get-function-configuration", "--function-name", "thumbs")
    assert "Runtime" not in config and "Handler" not in config


# -- code changed out of band ------------------------------------------------------------------

def test_an_image_swapped_with_the_cli_reads_as_the_new_image_and_is_pulled(aws_ours, aws_clean, store, journal):
    spec = image_spec()
    other = image_spec("steady", f"{REGISTRY}/steady:1")
    created = aws_ours.create(spec)
    seed(store, record_of(spec, created), record_of(other, aws_ours.create(other)))
    aws(aws_clean, "lambda", "update-function-code", "--function-name", "thumbs", "--image-uri", NEWER)

    calls = sent(aws_ours)
    observation = aws_ours.observe()
    # One GetFunction, for the function whose code changed, none for the steady one.
    assert [(op, p.get("FunctionName")) for op, p in calls] == [("ListFunctions", None), ("GetFunction", "thumbs")]
    seen = observation.items["thumbs"]
    assert seen.values["code_digest"] == IMAGE_PREFIX + NEWER
    assert seen.values["target"] == {"image": NEWER}
    assert observation.items["steady"].fingerprint() == spec_fingerprint(other, "aws")

    snapshot = store.load()
    plan = build_plan(snapshot.functions, {"aws": observation}, policies={"aws": Policy.COMPONENT_WINS},
                      components=["aws"], registry_serial=snapshot.serial)
    [status] = [s for s in plan.statuses if s.function == "thumbs"]
    assert status.state is State.DRIFTED and [d.field for d in status.diffs] == ["code_digest"]
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["code_digest"])]
    result = apply_plan(plan, store, {"aws": aws_ours}, journal, ())
    assert result.failed == []
    pulled = store.load().functions["thumbs"].spec
    assert pulled.targets["aws"]["image"] == NEWER and pulled.runtime == "" and pulled.code_digest == spec.code_digest
    assert spec_fingerprint(pulled, "aws") == aws_ours.observe().items["thumbs"].fingerprint()


def test_registry_wins_deploys_the_declared_image_again(aws_ours, aws_clean):
    spec = image_spec()
    created = aws_ours.create(spec)
    aws(aws_clean, "lambda", "update-function-code", "--function-name", "thumbs", "--image-uri", NEWER)

    calls = sent(aws_ours)
    redeployed = aws_ours.update(spec, ["code_digest"])
    [(_, params)] = [c for c in calls if c[0] == "UpdateFunctionCode"]
    assert params == {"FunctionName": "thumbs", "ImageUri": IMAGE}
    assert redeployed.values["code_digest"] == IMAGE_PREFIX + IMAGE
    function = aws(aws_clean, "lambda", "get-function", "--function-name", "thumbs")
    assert function["Code"]["ImageUri"] == IMAGE
    assert cli_tags(aws_clean, created.resource_id)[DEPLOYED_CODE_KEY] == function["Configuration"]["CodeSha256"]
    assert aws_ours.observe().items["thumbs"].fingerprint() == spec_fingerprint(spec, "aws")


def test_a_registry_image_change_is_deployed_as_new_code(aws_ours, aws_clean):
    spec = image_spec()
    created = aws_ours.create(spec)
    spec.targets["aws"]["image"] = NEWER
    updated = aws_ours.update(spec, ["code_digest"])
    assert updated.fingerprint() == spec_fingerprint(spec, "aws")
    assert cli_tags(aws_clean, created.resource_id)[DIGEST_KEY] == IMAGE_PREFIX + NEWER
    assert aws(aws_clean, "lambda", "get-function", "--function-name", "thumbs")["Code"]["ImageUri"] == NEWER


def manifest(layer: str) -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                                  "digest": "sha256:" + "c" * 64},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32,
                                   "digest": "sha256:" + layer * 64}]})


def test_a_tag_moved_to_another_image_reads_as_the_image_lambda_resolved(aws_ours, aws_clean, monkeypatch):
    # moto looks the image up in its ECR (instead of hashing the reference text), as Lambda does.
    monkeypatch.setenv("MOTO_LAMBDA_STUB_ECR", "false")
    repository = aws(aws_clean, "ecr", "create-repository", "--repository-name", "web")["repository"]["repositoryUri"]
    aws(aws_clean, "ecr", "put-image", "--repository-name", "web", "--image-tag", "v1", "--image-manifest", manifest("1"))
    spec = image_spec("web", f"{repository}:v1")
    aws_ours.create(spec)
    assert aws_ours.observe().items["web"].fingerprint() == spec_fingerprint(spec, "aws")

    # Someone pushes another image under the same tag and updates the function with it.
    pushed = aws(aws_clean, "ecr", "put-image", "--repository-name", "web", "--image-tag", "v1",
                 "--image-manifest", manifest("2"))["image"]["imageId"]["imageDigest"]
    aws(aws_clean, "lambda", "update-function-code", "--function-name", "web", "--image-uri", f"{repository}:v1")

    seen = aws_ours.observe().items["web"]
    assert seen.values["code_digest"] == f"{IMAGE_PREFIX}{repository}@{pushed}"
    assert seen.fingerprint() != spec_fingerprint(spec, "aws")
    # Deploying the registry's reference again runs what v1 names now, and reads as in sync.
    aws_ours.update(spec, ["code_digest"])
    assert aws_ours.observe().items["web"].fingerprint() == spec_fingerprint(spec, "aws")


# -- refusals, ownership, limits ----------------------------------------------------------------

def test_a_zip_function_is_never_turned_into_an_image_function(aws_ours, aws_clean):
    zipped = FunctionSpec(name="thumbs", runtime="python3.12", entry_point="main.main", code_digest="sha256:" + "b" * 64)
    aws_ours.create(zipped)
    calls = sent(aws_ours)
    with pytest.raises(ApplyError, match=r"is a Zip function .* the image .*cannot change a function's package type"):
        aws_ours.update(image_spec(), ["code_digest"])
    assert [op for op, _ in calls] == ["GetFunction"]
    aws_ours.create(image_spec("imaged"))
    with pytest.raises(ApplyError, match=r"is an Image function .* a package of its source.*targets.aws.image"):
        aws_ours.update(FunctionSpec(name="imaged", runtime="python3.12", code_digest="sha256:" + "b" * 64),
                        ["code_digest"])


def test_an_unmarked_image_function_is_listed_apart_and_never_looked_up(aws_ours, aws_clean):
    cli_image_function(aws_clean, "theirs", IMAGE, {"team": "other"})
    calls = sent(aws_ours)
    observation = aws_ours.observe()
    assert observation.complete and observation.items == {} and observation.unmarked == ["theirs"]
    # (ListTags: it was created a moment ago, before AWS's tag index would show it.)
    assert "GetFunction" not in [op for op, _ in calls]


def test_a_marked_image_function_without_our_record_is_looked_up(aws_ours, aws_clean):
    # Marked by hand (or by an older functions-tui): no digest or deployed-code tag to go by.
    cli_image_function(aws_clean, "legacy", IMAGE, {MARK_KEY: "legacy"})
    calls = sent(aws_ours)
    seen = aws_ours.observe().items["legacy"]
    assert [op for op, _ in calls] == ["ListFunctions", "GetFunction"]
    assert seen.values["code_digest"] == IMAGE_PREFIX + IMAGE and seen.owner is None


def test_a_reference_too_long_for_a_tag_is_looked_up_instead(aws_ours, aws_clean):
    long_image = f"{REGISTRY}/{'team/' * 45}thumbnails:1.4"
    assert len(IMAGE_PREFIX + long_image) > aws_module.MAX_TAG_VALUE
    spec = image_spec(image=long_image)
    created = aws_ours.create(spec)
    assert DIGEST_KEY not in cli_tags(aws_clean, created.resource_id)
    assert created.fingerprint() == spec_fingerprint(spec, "aws")
    calls = sent(aws_ours)
    assert aws_ours.observe().items["thumbs"].fingerprint() == spec_fingerprint(spec, "aws")
    assert [op for op, _ in calls] == ["ListFunctions", "GetFunction"]


def test_lookups_beyond_the_limit_show_the_change_without_the_reference(aws_ours, aws_clean, monkeypatch):
    monkeypatch.setattr(aws_module, "MAX_IMAGE_LOOKUPS", 1)
    for name in ("a-one", "b-two"):
        aws_ours.create(image_spec(name))
        aws(aws_clean, "lambda", "update-function-code", "--function-name", name, "--image-uri", NEWER)
    calls = sent(aws_ours)
    observation = aws_ours.observe()
    assert observation.complete
    assert [op for op, _ in calls] == ["ListFunctions", "GetFunction"]
    assert observation.items["a-one"].values["code_digest"] == IMAGE_PREFIX + NEWER
    sha = aws(aws_clean, "lambda", "get-function-configuration", "--function-name", "b-two")["CodeSha256"]
    later = observation.items["b-two"]
    assert later.values["code_digest"] == "aws:" + sha and "target" not in later.values
    assert "image not looked up" in later.summary


def test_claim_keeps_the_image(aws_ours, aws_clean):
    created = aws_ours.create(image_spec())
    other = AwsComponent(role_arn=aws_clean.role_arn, registry_id="5c4b3a29-1807-4f6e-9d5c-4b3a2918f7e6")
    claimed = other.claim("thumbs", created.resource_id)
    assert claimed.values["code_digest"] == IMAGE_PREFIX + IMAGE
    assert cli_tags(aws_clean, created.resource_id)[OWNER_KEY] == other.registry_id


def test_a_failed_image_lookup_shows_the_change_and_keeps_the_listing_whole_stubbed(monkeypatch):
    # A GetFunction that fails for a listed function cannot be forced on moto: botocore's
    # Stubber (a fake) answers the adapter's real clients here.
    from tests.test_aws_faults import ARN, stubbed_component, tag_page

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_CONFIG_FILE", "/nonexistent"), ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")):
        monkeypatch.setenv(key, value)
    component, lam, tagging = stubbed_component()
    listed = {"FunctionName": "thumbs", "FunctionArn": ARN.format("thumbs"), "PackageType": "Image",
              "MemorySize": 512, "Timeout": 30, "CodeSha256": "f" * 64, "LastModified": "2024-01-02T03:04:05.000+0000"}
    lam.add_response("list_functions", {"Functions": [listed]})
    page = tag_page(["thumbs"])
    page["ResourceTagMappingList"][0]["Tags"] += [{"Key": DIGEST_KEY, "Value": IMAGE_PREFIX + IMAGE},
                                                 {"Key": DEPLOYED_CODE_KEY, "Value": "0" * 64}]
    tagging.add_response("get_resources", page)
    lam.add_client_error("get_function", "ServiceException", "internal failure", http_status_code=500,
                         expected_params={"FunctionName": "thumbs"})

    observation = component.observe()
    assert observation.complete and observation.errors == []
    seen = observation.items["thumbs"]
    assert seen.values["code_digest"] == "aws:" + "f" * 64 and "target" not in seen.values
    assert "image unknown: GetFunction thumbs: ServiceException" in seen.summary
    lam.assert_no_pending_responses()
