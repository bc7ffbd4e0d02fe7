"""GcpComponent against the project's emulator, over a real socket, with the real client.

Out-of-band changes are made the way a user would make them: with google-cloud-functions
itself (update_function with an update mask), not by poking the emulator's memory.
"""

from __future__ import annotations

import pytest
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2

from functions_tui.registry.kinds import kind_of

from functions_tui.components.gcp import (GcpComponent, decode_digest, encode_digest, function_id, label_value,
                            memory_mb)
from functions_tui.registry.component import ApplyError, Component
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec, digest_source

MARK = kind_of("gcp").mark_key

REGISTRY_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"  # the registry identity the adapter writes


def make_spec(backend, name="hello", region="us-central1", source="", **overrides) -> FunctionSpec:
    fields = dict(name=name, runtime="python312", entry_point="handler", memory=256, timeout=60,
                  env={"GREETING": "hi"}, labels={"team": "core"}, source=source,
                  targets={"gcp": {"project": backend.project, "region": region, "trigger": "http"}})
    fields.update(overrides)
    return FunctionSpec(**fields)


def seed_unmarked(backend, fid="legacy", region="us-central1"):
    """A function somebody else deployed (no ownership mark), via the real client."""
    fn = functions_v2.Function(build_config=functions_v2.BuildConfig(runtime="nodejs20", entry_point="main"),
                               labels={"owner": "someone-else"})
    backend.client().create_function(parent=backend.parent(region), function=fn, function_id=fid).result(timeout=10)


def test_is_a_component(fresh_gcp):
    assert isinstance(fresh_gcp.component(registry_id=REGISTRY_ID), Component)


def test_create_then_observe_matches_the_spec(fresh_gcp, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("def handler(request):\n    return 'hi'\n")
    spec = make_spec(fresh_gcp, source=str(src))
    spec.code_digest = digest_source(src)
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)

    created = gcp.create(spec)
    assert created.resource_id == f"{fresh_gcp.parent()}/functions/hello"

    observation = gcp.observe()
    assert observation.complete and observation.errors == []
    item = observation.items["hello"]
    assert item.values == {"runtime": "python312", "entry_point": "handler", "memory": 256, "timeout": 60,
                           "env": {"GREETING": "hi"}, "labels": {"team": "core"},
                           "code_digest": spec.code_digest, "state": "active"}
    assert item.fingerprint() == spec_fingerprint(spec, "gcp")
    # The source went through generate_upload_url + PUT and the function deploys from it.
    fn = fresh_gcp.client().get_function(name=created.resource_id)
    uploaded = fresh_gcp.state.uploads[fn.build_config.source.storage_source.object_]
    assert uploaded["received"] and uploaded["size"] > 0
    assert fn.labels[MARK] == "hello"


def test_out_of_band_change_is_observed(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    created = gcp.create(make_spec(fresh_gcp))

    # Someone changes memory and env in the console (here: the real client, with a mask).
    change = functions_v2.Function(name=created.resource_id, service_config=functions_v2.ServiceConfig(
        available_memory="1Gi", environment_variables={"GREETING": "hello", "DEBUG": "1"}))
    fresh_gcp.client().update_function(function=change, update_mask=field_mask_pb2.FieldMask(
        paths=["service_config.available_memory", "service_config.environment_variables"])).result(timeout=10)

    item = gcp.observe().items["hello"]
    assert item.values["memory"] == 1024
    assert item.values["env"] == {"GREETING": "hello", "DEBUG": "1"}
    assert item.values["runtime"] == "python312"  # untouched by the masked update


def test_update_sends_only_the_changed_fields(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    spec = make_spec(fresh_gcp)
    created = gcp.create(spec)
    # An out-of-band runtime change that our update must not overwrite (it is not in the mask).
    fresh_gcp.client().update_function(
        function=functions_v2.Function(name=created.resource_id,
                                       build_config=functions_v2.BuildConfig(runtime="python311")),
        update_mask=field_mask_pb2.FieldMask(paths=["build_config.runtime"])).result(timeout=10)

    spec.memory, spec.timeout, spec.labels = 512, 120, {"team": "edge"}
    updated = gcp.update(spec, ["memory", "timeout", "labels"])

    assert updated.values["memory"] == 512 and updated.values["timeout"] == 120
    assert updated.values["labels"] == {"team": "edge"}
    assert updated.values["runtime"] == "python311"
    fn = fresh_gcp.client().get_function(name=created.resource_id)
    assert fn.labels[MARK] == "hello"  # the mark survives a label update


def test_update_with_new_source_uploads_and_records_the_digest(fresh_gcp, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("v = 1\n")
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    spec = make_spec(fresh_gcp, source=str(src), code_digest=digest_source(src))
    gcp.create(spec)
    (src / "main.py").write_text("v = 2\n")
    spec.code_digest = digest_source(src)

    updated = gcp.update(spec, ["code_digest"])

    assert updated.values["code_digest"] == spec.code_digest
    assert gcp.observe().items["hello"].values["code_digest"] == spec.code_digest
    assert sum(1 for u in fresh_gcp.state.uploads.values() if u["received"]) == 2


def test_delete_removes_a_marked_function(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    created = gcp.create(make_spec(fresh_gcp))
    gcp.delete("hello", created.resource_id)
    assert "hello" not in gcp.observe().items
    assert list(fresh_gcp.client().list_functions(parent=fresh_gcp.parent())) == []


def test_delete_by_name_finds_the_function_through_the_listing(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    gcp.create(make_spec(fresh_gcp, region="europe-west1"))
    gcp.delete("hello")
    assert gcp.observe().items == {}


def test_unmarked_functions_are_listed_apart_and_never_deleted(fresh_gcp):
    seed_unmarked(fresh_gcp, "legacy")
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    gcp.create(make_spec(fresh_gcp))

    observation = gcp.observe()
    assert set(observation.items) == {"hello"}
    assert observation.unmarked == ["legacy"]

    with pytest.raises(ApplyError, match="does not carry our mark"):
        gcp.delete("legacy", f"{fresh_gcp.parent()}/functions/legacy")
    fn = fresh_gcp.client().get_function(name=f"{fresh_gcp.parent()}/functions/legacy")
    assert fn.state == functions_v2.Function.State.ACTIVE


def test_observe_walks_every_page_of_every_location(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, page_size=3)
    for i in range(7):
        gcp.create(make_spec(fresh_gcp, name=f"fn-{i}", region=("us-central1", "europe-west1")[i % 2]))
    seed_unmarked(fresh_gcp, "legacy", "asia-east1")
    fresh_gcp.state.requests = 0

    observation = gcp.observe()

    assert observation.complete
    assert sorted(observation.items) == [f"fn-{i}" for i in range(7)]
    assert observation.unmarked == ["legacy"]
    assert fresh_gcp.state.requests == 3  # 8 functions / 3 per page: one call per page, no per-function get


def test_a_failed_page_makes_the_observation_incomplete(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, page_size=2)
    for i in range(10):  # 5 pages
        gcp.create(make_spec(fresh_gcp, name=f"fn-{i}"))
    fresh_gcp.state.fail_list_page(3, http=500)

    observation = gcp.observe()

    assert observation.complete is False
    assert any("page 3" in e for e in observation.errors)
    assert len(observation.items) == 4  # what was seen is kept, but nothing may be pruned from it


def test_a_transient_page_failure_is_retried(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, page_size=2)
    for i in range(6):
        gcp.create(make_spec(fresh_gcp, name=f"fn-{i}"))
    fresh_gcp.state.fail_list_page(2, http=503, times=2)

    observation = gcp.observe()

    assert observation.complete and observation.errors == []
    assert len(observation.items) == 6


def test_retries_give_up_within_their_deadline(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, retry_deadline_s=0.5)
    gcp.create(make_spec(fresh_gcp))
    fresh_gcp.state.fail_list_page(1, http=503)

    observation = gcp.observe()

    assert observation.complete is False and observation.items == {}


def test_unreachable_locations_make_the_observation_incomplete(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    gcp.create(make_spec(fresh_gcp, region="us-central1"))
    gcp.create(make_spec(fresh_gcp, name="other", region="europe-west1"))
    fresh_gcp.state.set_unreachable(["europe-west1"])

    observation = gcp.observe()

    assert observation.complete is False
    assert set(observation.items) == {"hello"}  # "other" is not gone, only unseen
    assert any("europe-west1" in e for e in observation.errors)


def test_an_operation_that_never_finishes_is_an_apply_error(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, operation_timeout_s=0.5)
    fresh_gcp.state.stall_operations()

    with pytest.raises(ApplyError, match="did not finish within 0.5s"):
        gcp.create(make_spec(fresh_gcp))
    # The function is there, still deploying: observed, not mistaken for healthy or absent.
    assert gcp.observe().items["hello"].values["state"] == "deploying"


def test_a_failed_build_is_an_apply_error_and_observed_as_failed(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    fresh_gcp.state.fail_operations("Build failed: missing requirements.txt")

    with pytest.raises(ApplyError, match="missing requirements.txt"):
        gcp.create(make_spec(fresh_gcp))
    assert gcp.observe().items["hello"].values["state"] == "failed"


def test_operations_that_take_a_while_are_waited_for(fresh_gcp):
    fresh_gcp.state.operation_delay_s = 0.3
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    created = gcp.create(make_spec(fresh_gcp))
    assert created.values["state"] == "active"


def test_create_of_an_existing_function_is_an_apply_error(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    gcp.create(make_spec(fresh_gcp))
    with pytest.raises(ApplyError, match="already exists"):
        gcp.create(make_spec(fresh_gcp))


def test_an_unreachable_endpoint_is_a_failed_observation_not_an_empty_one():
    gcp = GcpComponent(project="p", endpoint="http://127.0.0.1:9", timeout_s=1.0, retry_deadline_s=0.3)
    observation = gcp.observe()
    assert observation.complete is False and observation.errors
    detection = gcp.detect()
    assert detection.available is False and "not answering" in detection.reason
    assert "emulator" in detection.fix


def test_detect_against_the_emulator(fresh_gcp):
    detection = fresh_gcp.component(registry_id=REGISTRY_ID).detect()
    assert detection.available, detection.reason
    assert detection.version and detection.details["project"] == fresh_gcp.project


def test_detect_without_credentials_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.delenv("FUNCTIONS_TUI_GCP_ENDPOINT", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file here
    # Do not probe a GCE metadata server (google-auth reads NO_GCE_CHECK once, at import).
    monkeypatch.setattr("google.auth.compute_engine._metadata._NO_GCE_CHECK", True)
    detection = GcpComponent(project="p").detect()
    assert detection.available is False
    assert "Application Default Credentials" in detection.reason
    assert "gcloud auth application-default login" in detection.fix


def test_project_and_endpoint_come_from_the_environment(monkeypatch, fresh_gcp):
    monkeypatch.setenv("FUNCTIONS_TUI_GCP_ENDPOINT", fresh_gcp.endpoint)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", fresh_gcp.project)
    gcp = GcpComponent()
    assert (gcp.endpoint, gcp.project) == (fresh_gcp.endpoint, fresh_gcp.project)
    assert gcp.observe().complete


def test_label_spellings_are_legal_and_digests_round_trip():
    digest = "sha256:" + "f" * 64
    encoded = encode_digest(digest)
    assert len(encoded) <= 63 and set(encoded) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_digest(encoded) == digest
    assert decode_digest(encode_digest("sha256:" + "0" * 64)) == "sha256:" + "0" * 64
    assert label_value("My.Func") == "my_func"
    assert function_id("My_Func") == "my-func" and function_id("9lives") == "f-9lives"
    assert [memory_mb(m) for m in ("256M", "1Gi", "512Mi", "2G", "268435456")] == [256, 1024, 512, 2048, 256]


def test_importing_the_adapter_does_not_import_google():
    import subprocess
    import sys

    code = "import sys, functions_tui.components.gcp; print(any(m.startswith('google') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_digest_key_is_a_managed_label():
    from functions_tui.registry.models import is_managed_label

    assert is_managed_label(kind_of("gcp").digest_key) and is_managed_label(MARK)
