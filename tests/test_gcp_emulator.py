"""The Cloud Functions v2 emulator, driven by the real google-cloud-functions client (REST).

Checks the API surface the adapter relies on (paths, camelCase fields, pageToken,
long-running operations, upload URLs, error bodies) and the standalone entry point
(``functions-tui emulator gcp`` → components.gcp_emulator.__main__.main).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2

REPO = Path(__file__).resolve().parents[1]


def new_function(runtime="python312", memory="256M", labels=None, env=None):
    return functions_v2.Function(
        build_config=functions_v2.BuildConfig(runtime=runtime, entry_point="main"),
        service_config=functions_v2.ServiceConfig(available_memory=memory, timeout_seconds=30,
                                                  environment_variables=env or {}),
        labels=labels or {})


def create(backend, fid, region="us-central1", **kwargs):
    return backend.client().create_function(parent=backend.parent(region), function=new_function(**kwargs),
                                            function_id=fid).result(timeout=10)


def test_create_get_list_delete_round_trip(fresh_gcp):
    client = fresh_gcp.client()
    created = create(fresh_gcp, "alpha", env={"A": "1"}, labels={"k": "v"})
    assert created.name == f"{fresh_gcp.parent()}/functions/alpha"
    assert created.state == functions_v2.Function.State.ACTIVE
    assert created.update_time and created.url

    fetched = client.get_function(name=created.name)
    assert fetched.build_config.runtime == "python312"
    assert fetched.service_config.available_memory == "256M"
    assert dict(fetched.service_config.environment_variables) == {"A": "1"}
    assert dict(fetched.labels) == {"k": "v"}
    assert [f.name for f in client.list_functions(parent=fresh_gcp.parent())] == [created.name]

    client.delete_function(name=created.name).result(timeout=10)
    with pytest.raises(exceptions.NotFound):
        client.get_function(name=created.name)


def test_errors_use_the_google_error_body(gcp_backend):
    url = f"{gcp_backend.endpoint}/v2/{gcp_backend.parent()}/functions/does-not-exist"
    response = requests.get(url, timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "status": "NOT_FOUND",
                                         "message": f"Resource '{gcp_backend.parent()}/functions/does-not-exist'"
                                                    " was not found"}}


def test_create_twice_is_already_exists(fresh_gcp):
    create(fresh_gcp, "alpha")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        create(fresh_gcp, "alpha")


def test_invalid_requests_are_rejected(fresh_gcp):
    client = fresh_gcp.client()
    with pytest.raises(exceptions.BadRequest, match="invalid function id"):
        client.create_function(parent=fresh_gcp.parent(), function=new_function(), function_id="Bad Name")
    with pytest.raises(exceptions.BadRequest, match="one location"):
        client.create_function(parent=fresh_gcp.parent("-"), function=new_function(), function_id="x")
    with pytest.raises(exceptions.BadRequest, match="page token"):
        client.list_functions(request={"parent": fresh_gcp.parent(), "page_token": "garbage!"})


def test_list_pages_with_page_tokens_across_all_locations(fresh_gcp):
    for i in range(5):
        create(fresh_gcp, f"fn-{i}", region=("us-central1", "europe-west1")[i % 2])
    pager = fresh_gcp.client().list_functions(request={"parent": fresh_gcp.parent("-"), "page_size": 2})
    pages = list(pager.pages)
    assert [len(p.functions) for p in pages] == [2, 2, 1]
    assert pages[0].next_page_token and not pages[-1].next_page_token
    names = [f.name.rsplit("/", 1)[1] for p in pages for f in p.functions]
    assert sorted(names) == [f"fn-{i}" for i in range(5)]
    one_region = fresh_gcp.client().list_functions(parent=fresh_gcp.parent("europe-west1"))
    assert sorted(f.name.rsplit("/", 1)[1] for f in one_region) == ["fn-1", "fn-3"]


def test_unreachable_locations_are_reported_and_left_out(fresh_gcp):
    create(fresh_gcp, "a", region="us-central1")
    create(fresh_gcp, "b", region="asia-east1")
    fresh_gcp.state.set_unreachable(["asia-east1"])
    page = next(iter(fresh_gcp.client().list_functions(parent=fresh_gcp.parent("-")).pages))
    assert list(page.unreachable) == ["asia-east1"]
    assert [f.name.rsplit("/", 1)[1] for f in page.functions] == ["a"]
    with pytest.raises(exceptions.ServiceUnavailable):
        fresh_gcp.client().list_functions(request={"parent": fresh_gcp.parent("asia-east1")}, retry=None)


def test_an_injected_page_failure_hits_that_page_only(fresh_gcp):
    for i in range(6):
        create(fresh_gcp, f"fn-{i}")
    fresh_gcp.state.fail_list_page(2, http=500)
    pager = fresh_gcp.client().list_functions(request={"parent": fresh_gcp.parent(), "page_size": 2}, retry=None)
    pages = iter(pager.pages)
    assert len(next(pages).functions) == 2
    with pytest.raises(exceptions.InternalServerError, match="page 2"):
        next(pages)


def test_patch_with_an_update_mask_changes_only_the_masked_fields(fresh_gcp):
    created = create(fresh_gcp, "alpha", env={"A": "1"}, labels={"k": "v"})
    change = functions_v2.Function(name=created.name, labels={"other": "x"},
                                   service_config=functions_v2.ServiceConfig(available_memory="512M"))
    updated = fresh_gcp.client().update_function(
        function=change, update_mask=field_mask_pb2.FieldMask(paths=["service_config.available_memory"])
    ).result(timeout=10)
    assert updated.service_config.available_memory == "512M"
    assert dict(updated.labels) == {"k": "v"}  # not in the mask
    assert dict(updated.service_config.environment_variables) == {"A": "1"}
    assert updated.update_time.timestamp() >= created.update_time.timestamp()


def test_an_update_mask_naming_an_output_only_field_is_rejected(fresh_gcp):
    created = create(fresh_gcp, "alpha")
    with pytest.raises(exceptions.BadRequest, match="invalid update mask"):
        fresh_gcp.client().update_function(function=functions_v2.Function(name=created.name),
                                           update_mask=field_mask_pb2.FieldMask(paths=["update_time"]))


def test_operations_finish_after_the_configured_delay(fresh_gcp):
    fresh_gcp.state.operation_delay_s = 0.2
    client = fresh_gcp.client()
    operation = client.create_function(parent=fresh_gcp.parent(), function=new_function(), function_id="slow")
    assert not operation.done()
    assert client.get_function(name=f"{fresh_gcp.parent()}/functions/slow").state == \
        functions_v2.Function.State.DEPLOYING
    from google.api_core.future.polling import DEFAULT_POLLING
    result = operation.result(polling=DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.1).with_timeout(10))
    assert result.state == functions_v2.Function.State.ACTIVE
    metadata = functions_v2.OperationMetadata.pb(operation.metadata)
    assert metadata.verb == "create" and metadata.target == result.name


def test_a_stalled_operation_stays_pending_and_blocks_other_changes(fresh_gcp):
    created = create(fresh_gcp, "alpha")
    fresh_gcp.state.stall_operations()
    client = fresh_gcp.client()
    operation = client.delete_function(name=created.name)
    assert not operation.done()
    assert client.get_function(name=created.name).state == functions_v2.Function.State.DELETING
    with pytest.raises(exceptions.Conflict, match="in progress"):
        client.delete_function(name=created.name)
    raw = requests.get(f"{fresh_gcp.endpoint}/v2/{operation.operation.name}", timeout=5).json()
    assert raw["done"] is False


def test_generate_upload_url_accepts_a_zip_put_and_is_referenced_by_create(fresh_gcp):
    client = fresh_gcp.client()
    upload = client.generate_upload_url(request={"parent": fresh_gcp.parent()})
    assert upload.upload_url.startswith(fresh_gcp.endpoint)
    function = new_function()
    function.build_config.source.storage_source = upload.storage_source
    # Deploying from an upload URL that never received the zip is refused.
    with pytest.raises(exceptions.BadRequest, match="never uploaded"):
        client.create_function(parent=fresh_gcp.parent(), function=function, function_id="alpha")
    assert requests.put(upload.upload_url, data=b"PK\x05\x06" + b"\0" * 18,
                        headers={"content-type": "application/zip"}, timeout=5).status_code == 200
    created = client.create_function(parent=fresh_gcp.parent(), function=function,
                                     function_id="alpha").result(timeout=10)
    assert created.build_config.source.storage_source.object_ == upload.storage_source.object_


def test_faults_and_reset_over_http(fresh_gcp):
    create(fresh_gcp, "alpha")
    post = lambda path, body=None: requests.post(f"{fresh_gcp.endpoint}/_emulator/{path}", json=body or {}, timeout=5)
    assert post("faults", {"unreachable": ["us-east1"], "failing_pages": {"4": {"http": 503}}}).json() == {
        "unreachable": ["us-east1"], "failing_pages": {"4": {"http": 503, "times": None}},
        "stall_operations": False, "fail_operations": ""}
    assert fresh_gcp.state.faults.unreachable == ["us-east1"]
    post("reset")
    assert fresh_gcp.state.functions == {} and fresh_gcp.state.faults.unreachable == []


def _start_cli(tmp_path, *args):
    """Run the standalone emulator as a user would (python -m components.gcp_emulator)."""
    proc = subprocess.Popen([sys.executable, "-m", "functions_tui.components.gcp_emulator", "--port", "0", *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.readline()
    assert "listening on http://" in line, proc.stderr.read()
    return proc, line.rsplit(" ", 1)[1].strip()


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_standalone_emulator_persists_state_to_a_file(tmp_path):
    from functions_tui.components.gcp import GcpComponent
    from functions_tui.registry.models import FunctionSpec

    state_file = tmp_path / "gcp-state.json"
    proc, endpoint = _start_cli(tmp_path, "--state", str(state_file))
    try:
        gcp = GcpComponent(project="demo", endpoint=endpoint, timeout_s=5, operation_timeout_s=5,
                           registry_id="6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c")
        gcp.create(FunctionSpec(name="kept", runtime="python312", targets={"gcp": {"region": "us-central1"}}))
    finally:
        assert _stop(proc) == 0
    assert "projects/demo/locations/us-central1/functions/kept" in json.loads(state_file.read_text())["functions"]

    proc, endpoint = _start_cli(tmp_path, "--state", str(state_file))
    try:
        observation = GcpComponent(project="demo", endpoint=endpoint, timeout_s=5).observe()
        assert observation.complete and set(observation.items) == {"kept"}
        with urllib.request.urlopen(f"{endpoint}/_emulator/health", timeout=5) as response:
            assert json.load(response)["functions"] == 1
    finally:
        _stop(proc)


def test_main_reports_a_port_in_use(gcp_backend, capsys):
    from functions_tui.components.gcp_emulator.__main__ import main

    port = gcp_backend.endpoint.rsplit(":", 1)[1]
    assert main(["--port", port]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_page_size_defaults_to_and_is_capped_at_1000(fresh_gcp):
    fresh_gcp.state.put_functions({f"{fresh_gcp.parent()}/functions/fn-{i:04d}": {} for i in range(1001)})
    client = fresh_gcp.client()
    for size in (0, 5000):
        first = next(iter(client.list_functions(request={"parent": fresh_gcp.parent("-"),
                                                         "page_size": size}).pages))
        assert len(first.functions) == 1000 and first.next_page_token


def test_a_small_subset_of_list_filters_is_understood(fresh_gcp):
    create(fresh_gcp, "mine", labels={"functions-tui_function": "mine"})
    create(fresh_gcp, "theirs", runtime="go122")
    client = fresh_gcp.client()

    def names(filter_text):
        found = client.list_functions(request={"parent": fresh_gcp.parent("-"), "filter": filter_text})
        return [f.name.rsplit("/", 1)[1] for f in found]

    assert names("labels.functions-tui_function:*") == ["mine"]
    assert names('buildConfig.runtime="go122"') == ["theirs"]
    assert names("state=ACTIVE AND buildConfig.runtime!=go122") == ["mine"]
    with pytest.raises(exceptions.BadRequest, match="not supported by the emulator"):
        names("serviceConfig.uri:foo OR x")


def test_an_in_process_handle_exports_what_functions_tui_reads(tmp_path):
    from functions_tui.components.gcp_emulator import start_gcp_emulator

    with start_gcp_emulator(project="demo", state_file=str(tmp_path / "s.json")) as emulator:
        assert emulator.env() == {"FUNCTIONS_TUI_GCP_ENDPOINT": emulator.endpoint, "GOOGLE_CLOUD_PROJECT": "demo"}
        create(emulator, "alpha")
        assert set(emulator.component().observe().unmarked) == {"alpha"}
    assert "projects/demo/locations/us-central1/functions/alpha" in json.loads((tmp_path / "s.json").read_text())[
        "functions"]


def test_a_field_mask_header_gives_a_partial_response(fresh_gcp):
    """Google's ``X-Goog-FieldMask`` system parameter, as the adapter's listing sends it
    (components.gcp.LISTED_FIELDS) through the real client's metadata."""
    from functions_tui.components.gcp import LISTED_FIELDS

    create(fresh_gcp, "alpha", env={"A": "1"}, labels={"k": "v"})
    listed = list(fresh_gcp.client().list_functions(request={"parent": fresh_gcp.parent()},
                                                    metadata=[("x-goog-fieldmask", LISTED_FIELDS)]))
    assert [f.name for f in listed] == [f"{fresh_gcp.parent()}/functions/alpha"]
    fn = listed[0]
    assert (fn.build_config.runtime, dict(fn.service_config.environment_variables), dict(fn.labels)) == (
        "python312", {"A": "1"}, {"k": "v"})
    assert not fn.url and not fn.update_time and not fn.service_config.uri   # not asked for: not sent

    url = f"{fresh_gcp.endpoint}/v2/{fresh_gcp.parent()}/functions"
    masked = requests.get(url, headers={"X-Goog-FieldMask": "functions.name"}, timeout=10).json()
    assert masked == {"functions": [{"name": f"{fresh_gcp.parent()}/functions/alpha"}]}
    whole = requests.get(url, headers={"X-Goog-FieldMask": "functions.serviceConfig,functions.serviceConfig.uri"},
                         timeout=10).json()
    assert whole["functions"][0]["serviceConfig"]["availableMemory"] == "256M"   # a message named: all of it
    error = requests.get(f"{url}/missing", headers={"X-Goog-FieldMask": "name"}, timeout=10)
    assert error.status_code == 404 and error.json()["error"]["status"] == "NOT_FOUND"   # errors are never masked


def test_the_command_logs_each_request_and_holds_operations_for_the_delay(tmp_path):
    """``functions-tui emulator gcp --request-log FILE --operation-delay SECONDS``, run as a user
    runs it: each request answered is a JSON line in FILE (written before the answer is sent, so
    it is there once the client has its answer), and an operation stays not done for the delay."""
    log = tmp_path / "requests.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "functions_tui.app", "emulator", "gcp", "--port", "0",
                             "--request-log", str(log), "--operation-delay", "3600"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "FUNCTIONS_TUI_HOME": str(tmp_path / "home")})
    try:
        line = proc.stdout.readline()
        assert "listening on http://" in line, proc.stderr.read()
        endpoint = line.rsplit(" ", 1)[1].strip()
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        client = functions_v2.FunctionServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                                    client_options=ClientOptions(api_endpoint=endpoint))
        parent = "projects/demo/locations/us-central1"
        operation = client.create_function(parent=parent, function=new_function(), function_id="slow")
        assert not operation.done()   # polled once: an hour is not over
        assert client.get_function(name=f"{parent}/functions/slow").state == functions_v2.Function.State.DEPLOYING
        with pytest.raises(exceptions.BadRequest, match="available_memory"):
            client.create_function(parent=parent, function=new_function(memory="banana"), function_id="refused")
        lines = [json.loads(text) for text in log.read_text().splitlines()]
    finally:
        assert _stop(proc) == 0
    assert all(set(entry) == {"time", "method", "path", "query", "status"} for entry in lines)
    assert [(e["method"], e["path"].split("/")[-1].split("-")[0], e["status"]) for e in lines] == [
        ("POST", "functions", 200), ("GET", "operation", 200), ("GET", "slow", 200), ("POST", "functions", 400)]
    assert lines[0]["query"]["functionId"] == "slow" and lines[-1]["query"]["functionId"] == "refused"
