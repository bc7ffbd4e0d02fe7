"""Source changed out of band on Cloud Functions v2 shows in the listing, at no extra call.

After each deploy of source the adapter records a hash of the function's
``buildConfig.sourceProvenance`` (the source object and its resolved generation); the listing
carries the current provenance. The out-of-band change is made with google-cloud-functions'
own client: a new upload (generateUploadUrl + PUT) and a patch of ``build_config.source``.
"""

from __future__ import annotations

import io
import zipfile

import pytest
import requests
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2
from google.protobuf.json_format import MessageToDict

from functions_tui.components.gcp import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, code_hash, encode_digest
from functions_tui.registry.fingerprint import spec_fingerprint
from tests.test_ownership_gcp import OURS, client_create, make_spec


@pytest.fixture
def gcp(fresh_gcp):
    return fresh_gcp.component(registry_id=OURS)


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("def handler(request):\n    return 'hi'\n")
    return src


def upload(backend, text: str) -> tuple[functions_v2.StorageSource, requests.Response]:
    """A new source archive uploaded the way gcloud does it: generateUploadUrl, then a PUT."""
    client = backend.client()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", text)
    response = client.generate_upload_url(request={"parent": backend.parent()})
    put = requests.put(response.upload_url, data=buffer.getvalue(), headers={"content-type": "application/zip"},
                       timeout=10)
    put.raise_for_status()
    return response.storage_source, put


def hot_patch(backend, name: str, text: str = "def handler(request):\n    return 'patched'\n") -> None:
    """Deploy other source under the function, with the real client and an update mask."""
    storage, _ = upload(backend, text)
    change = functions_v2.Function(name=name, build_config=functions_v2.BuildConfig(
        source=functions_v2.Source(storage_source=functions_v2.StorageSource(bucket=storage.bucket,
                                                                             object_=storage.object_))))
    backend.client().update_function(function=change, update_mask=field_mask_pb2.FieldMask(
        paths=["build_config.source"])).result(timeout=10)


def test_the_emulator_resolves_the_source_provenance_like_the_api(fresh_gcp):
    storage, put = upload(fresh_gcp, "v = 1\n")
    generation = int(put.headers["x-goog-generation"])  # as Cloud Storage answers a PUT
    fn = functions_v2.Function(build_config=functions_v2.BuildConfig(
        runtime="python312", entry_point="handler", source=functions_v2.Source(storage_source=storage),
        # Output only: whatever a request says here is ignored.
        source_provenance=functions_v2.SourceProvenance(git_uri="https://example.com/fake.git")))
    created = fresh_gcp.client().create_function(parent=fresh_gcp.parent(), function=fn,
                                                 function_id="prov").result(timeout=10)
    resolved = created.build_config.source_provenance.resolved_storage_source
    assert (resolved.bucket, resolved.object_, resolved.generation) == (storage.bucket, storage.object_, generation)
    assert created.build_config.source_provenance.git_uri == ""

    # A deploy that keeps the source (a runtime change, a label change) keeps the provenance.
    client = fresh_gcp.client()
    for change, path in ((functions_v2.Function(name=created.name, build_config=functions_v2.BuildConfig(
            runtime="python311")), "build_config.runtime"),
            (functions_v2.Function(name=created.name, labels={"x": "y"}), "labels")):
        kept = client.update_function(function=change, update_mask=field_mask_pb2.FieldMask(paths=[path])).result(
            timeout=10)
        assert kept.build_config.source_provenance == created.build_config.source_provenance

    # New source: a new object and generation.
    hot_patch(fresh_gcp, created.name)
    moved = client.get_function(name=created.name).build_config.source_provenance.resolved_storage_source
    assert moved.object_ != storage.object_ and moved.generation > generation


def test_create_records_the_provenance_hash_without_another_call(gcp, fresh_gcp, source):
    spec = make_spec(fresh_gcp, source=str(source))
    created = gcp.create(spec)

    fn = fresh_gcp.client().get_function(name=created.resource_id)
    assert fn.labels[DEPLOYED_CODE_KEY] == code_hash(MessageToDict(type(fn.build_config).pb(fn.build_config)))
    assert created.values["code_digest"] == spec.code_digest
    assert len(fresh_gcp.state.operations) == 1  # the create; no follow-up label patch


def test_a_source_hot_patch_out_of_band_shows_as_code_drift(gcp, fresh_gcp, source):
    spec, steady = make_spec(fresh_gcp, source=str(source)), make_spec(fresh_gcp, "steady", source=str(source))
    created = gcp.create(spec)
    gcp.create(steady)
    before = gcp.observe().items["hello"]
    assert before.values["code_digest"] == spec.code_digest

    hot_patch(fresh_gcp, created.resource_id)

    fresh_gcp.state.requests = 0
    observation = gcp.observe()
    assert fresh_gcp.state.requests == 1  # still one listing page
    seen = observation.items["hello"]
    assert seen.values["code_digest"].startswith("gcp:") and seen.values["code_digest"] != spec.code_digest
    changed = {k for k, v in seen.fingerprint().items() if before.fingerprint().get(k) != v}
    assert changed == {"code_digest"}
    assert observation.items["steady"].values["code_digest"] == steady.code_digest
    assert observation.items["steady"].fingerprint() == spec_fingerprint(steady, "gcp")


def test_a_runtime_change_out_of_band_is_not_code_drift(gcp, fresh_gcp, source):
    spec = make_spec(fresh_gcp, source=str(source))
    created = gcp.create(spec)
    fresh_gcp.client().update_function(
        function=functions_v2.Function(name=created.resource_id,
                                       build_config=functions_v2.BuildConfig(runtime="python311")),
        update_mask=field_mask_pb2.FieldMask(paths=["build_config.runtime"])).result(timeout=10)
    seen = gcp.observe().items["hello"]
    assert seen.values["runtime"] == "python311"
    assert seen.values["code_digest"] == spec.code_digest


def test_a_config_update_keeps_the_drift_visible_and_a_code_update_settles_it(gcp, fresh_gcp, source):
    spec = make_spec(fresh_gcp, source=str(source))
    created = gcp.create(spec)
    recorded = fresh_gcp.client().get_function(name=created.resource_id).labels[DEPLOYED_CODE_KEY]
    hot_patch(fresh_gcp, created.resource_id)
    drifted = gcp.observe().items["hello"].values["code_digest"]

    spec.memory = 512
    updated = gcp.update(spec, ["memory"])
    assert updated.values["memory"] == 512
    assert updated.values["code_digest"] == drifted  # not adopted by a deploy of the memory
    assert fresh_gcp.client().get_function(name=created.resource_id).labels[DEPLOYED_CODE_KEY] == recorded

    redeployed = gcp.update(spec, ["code_digest"])
    assert redeployed.values["code_digest"] == spec.code_digest
    seen = gcp.observe().items["hello"]
    assert seen.values["code_digest"] == spec.code_digest
    assert seen.fingerprint() == spec_fingerprint(spec, "gcp")
    assert fresh_gcp.client().get_function(name=created.resource_id).labels[DEPLOYED_CODE_KEY] != recorded


def test_a_function_without_the_deployed_code_label_reads_as_before(gcp, fresh_gcp):
    # Deployed by an older functions-tui: mark and digest labels, no code hash.
    digest = "sha256:" + "d" * 64
    made = client_create(fresh_gcp, "old", {MARK_KEY: "old", DIGEST_KEY: encode_digest(digest)})
    hot_patch(fresh_gcp, made.name)
    seen = gcp.observe().items["old"]
    assert seen.values["code_digest"] == digest
    assert seen.owner is None


def test_claim_keeps_the_code_digest(gcp, fresh_gcp, source):
    created = gcp.create(make_spec(fresh_gcp, source=str(source)))
    hot_patch(fresh_gcp, created.resource_id)
    drifted = gcp.observe().items["hello"]
    other = fresh_gcp.component(registry_id="5c4b3a29-1807-4f6e-9d5c-4b3a2918f7e6")
    claimed = other.claim("hello", created.resource_id)
    assert claimed.fingerprint() == drifted.fingerprint()
    assert claimed.owner == other.registry_id


def test_without_the_upload_generation_the_label_is_corrected_after_the_deploy(gcp, fresh_gcp, source, monkeypatch):
    # A storage front that does not answer x-goog-generation: the provenance is only known
    # once the deploy has resolved it, so the adapter patches the label once more.
    real_put = requests.put

    def put_without_generation(*args, **kwargs):
        response = real_put(*args, **kwargs)
        response.headers.pop("x-goog-generation", None)
        return response

    monkeypatch.setattr(requests, "put", put_without_generation)
    spec = make_spec(fresh_gcp, source=str(source))
    created = gcp.create(spec)

    fn = fresh_gcp.client().get_function(name=created.resource_id)
    assert fn.labels[DEPLOYED_CODE_KEY] == code_hash(MessageToDict(type(fn.build_config).pb(fn.build_config)))
    assert len(fresh_gcp.state.operations) == 2  # the create and the label correction
    assert created.values["code_digest"] == spec.code_digest
    assert gcp.observe().items["hello"].fingerprint() == spec_fingerprint(spec, "gcp")


def test_the_code_hash_is_spelled_as_before_the_listing_read_json():
    """The deployed-code labels on functions deployed by earlier versions were hashed from
    protobuf fields (an unset generation read 0). Read from the API's JSON (int64 as a string,
    defaults left out), the same source must give the same hash, or every such function would
    show code drift after an upgrade."""
    from functions_tui.components.gcp import source_hash

    provenance = {"sourceProvenance": {"resolvedStorageSource": {"bucket": "b", "object": "o.zip",
                                                                 "generation": "1712"}}}
    assert code_hash(provenance) == source_hash("gs://b/o.zip#1712")
    assert code_hash({"source": {"storageSource": {"bucket": "b", "object": "o.zip"}}}) == source_hash("gs://b/o.zip#0")
    repo = {"sourceProvenance": {"resolvedRepoSource": {"projectId": "p", "repoName": "r", "commitSha": "abc"}}}
    assert code_hash(repo) == source_hash("repo:p/r@abc/")
    assert code_hash({"source": {"gitUri": "https://g/x.git"}}) == source_hash("git:https://g/x.git")
    assert code_hash({}) == ""
    built = functions_v2.BuildConfig(source=functions_v2.Source(storage_source=functions_v2.StorageSource(
        bucket="b", object_="o.zip", generation=1712)))
    assert code_hash(MessageToDict(type(built).pb(built))) == source_hash("gs://b/o.zip#1712")
