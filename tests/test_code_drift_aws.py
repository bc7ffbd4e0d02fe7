"""Code changed out of band on Lambda shows in the listing, at no extra API call.

After each deploy of code the adapter records Lambda's CodeSha256 in the deployed-code tag;
ListFunctions carries the current CodeSha256, so ``aws lambda update-function-code`` (run
here with the real ``aws`` command line) reads as a code_digest no registry has.
"""

from __future__ import annotations

import pytest

from functions_tui.components.aws import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, AwsComponent
from functions_tui.registry.fingerprint import spec_fingerprint
from tests.provider_clis import aws, zip_file
from tests.test_ownership_aws import OURS, cli_config, cli_create, cli_tags, make_spec


@pytest.fixture
def aws_ours(aws_clean):
    return AwsComponent(role_arn=aws_clean.role_arn, registry_id=OURS)


def hot_patch(backend, tmp_path, name: str, text: str = "patched") -> str:
    """``aws lambda update-function-code --zip-file``: the new CodeSha256."""
    package = zip_file(tmp_path, f"{name}-{text}", {"main.py": f"def main(event, context):\n    return {text!r}\n"})
    return aws(backend, "lambda", "update-function-code", "--function-name", name,
               "--zip-file", f"fileb://{package}")["CodeSha256"]


def test_create_records_lambdas_code_hash_in_the_same_call(aws_ours, aws_clean):
    calls: list[str] = []
    aws_ours.lambda_client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    created = aws_ours.create(make_spec("hello"))

    assert calls == ["CreateFunction"]  # the hash of our own package is known before the call
    config = cli_config(aws_clean, "hello")
    assert cli_tags(aws_clean, created.resource_id)[DEPLOYED_CODE_KEY] == config["CodeSha256"]
    assert created.values["code_digest"] == "sha256:" + "a" * 64


def test_a_code_hot_patch_out_of_band_shows_as_code_drift(aws_ours, aws_clean, tmp_path):
    spec, other = make_spec("hello"), make_spec("steady")
    aws_ours.create(spec)
    aws_ours.create(other)
    before = aws_ours.observe().items["hello"]
    assert before.values["code_digest"] == spec.code_digest

    new_sha = hot_patch(aws_clean, tmp_path, "hello")

    observation = aws_ours.observe()
    seen = observation.items["hello"]
    assert seen.values["code_digest"] == "aws:" + new_sha != spec.code_digest
    # Only the code differs: every other field reads as it did.
    changed = {k for k, v in seen.fingerprint().items() if before.fingerprint().get(k) != v}
    assert changed == {"code_digest"}
    # The function nobody touched keeps our digest.
    assert observation.items["steady"].values["code_digest"] == other.code_digest
    assert observation.items["steady"].fingerprint() == spec_fingerprint(other, "aws")


def test_a_config_update_keeps_the_drift_visible_and_a_code_update_settles_it(aws_ours, aws_clean, tmp_path):
    spec = make_spec("hello")
    created = aws_ours.create(spec)
    recorded = cli_tags(aws_clean, created.resource_id)[DEPLOYED_CODE_KEY]
    new_sha = hot_patch(aws_clean, tmp_path, "hello")

    # Deploying the memory alone must not adopt the foreign code as "ours".
    spec.memory = 512
    updated = aws_ours.update(spec, ["memory"])
    assert updated.values["code_digest"] == "aws:" + new_sha
    assert cli_tags(aws_clean, created.resource_id)[DEPLOYED_CODE_KEY] == recorded

    # Deploying the code puts ours back and records the new hash.
    redeployed = aws_ours.update(spec, ["code_digest"])
    assert redeployed.values["code_digest"] == spec.code_digest
    config = cli_config(aws_clean, "hello")
    assert config["CodeSha256"] != new_sha
    assert cli_tags(aws_clean, created.resource_id)[DEPLOYED_CODE_KEY] == config["CodeSha256"]
    seen = aws_ours.observe().items["hello"]
    assert seen.values["code_digest"] == spec.code_digest
    assert seen.fingerprint() == spec_fingerprint(spec, "aws")


def test_a_function_without_the_deployed_code_tag_reads_as_before(aws_ours, aws_clean, tmp_path):
    # Deployed by an older functions-tui: the name mark and the digest, no code hash.
    cli_create(aws_clean, tmp_path, "old", {MARK_KEY: "old", DIGEST_KEY: "sha256:" + "d" * 64})
    hot_patch(aws_clean, tmp_path, "old")
    seen = aws_ours.observe().items["old"]
    assert seen.values["code_digest"] == "sha256:" + "d" * 64
    assert seen.owner is None


def test_claim_keeps_the_code_digest_and_the_recorded_hash(aws_ours, aws_clean, tmp_path):
    created = aws_ours.create(make_spec("hello"))
    hot_patch(aws_clean, tmp_path, "hello")
    drifted = aws_ours.observe().items["hello"]
    # Another registry takes it over by name: the drift stays visible to it too.
    other = AwsComponent(role_arn=aws_clean.role_arn, registry_id="5c4b3a29-1807-4f6e-9d5c-4b3a2918f7e6")
    claimed = other.claim("hello", created.resource_id)
    assert claimed.values["code_digest"] == drifted.values["code_digest"]
    assert claimed.fingerprint() == drifted.fingerprint()
    assert cli_tags(aws_clean, created.resource_id)[OWNER_KEY] == other.registry_id
