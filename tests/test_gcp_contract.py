"""The gcp adapter and the emulator, held to Google's definition of Cloud Functions v2.

The definition is Google's discovery document (tests/gcp_discovery.py reads it from
google-api-python-client). Everything here goes through a real socket: the adapter and the
real google-cloud-functions client talk to the emulator, the emulator records each request
(state.request_log), and each recorded request and response is checked against the document:

- the emulator's own hand-written definition (components/gcp_emulator/definition.py) is the
  document's, field for field, enum for enum;
- every request the adapter sends (create, update, claim, observe, get, delete, upload URL,
  operation polls, the upload PUT) calls a method the document defines, with its parameters
  and a body of its request schema, and nothing the document marks output only;
- every response the emulator gives (functions, pages, operations typed by their ``@type``,
  upload URLs, errors) is of the method's response schema or Google's error body.

The invalid requests the emulator must refuse are in test_gcp_contract_invalid.py.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from urllib.parse import urlsplit

import pytest
import requests
from google.api_core import exceptions
from google.cloud import functions_v2
from google.protobuf import field_mask_pb2

from functions_tui.components.gcp import LISTED_FIELDS
from functions_tui.components.gcp_emulator import definition
from functions_tui.components.gcp_emulator.errors import STATUS
from functions_tui.registry.models import FunctionSpec
from tests import gcp_discovery as doc

REGISTRY_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"

#: The emulator's route name → the discovery method it serves.
API_METHODS = {
    "list_functions": "cloudfunctions.projects.locations.functions.list",
    "create_function": "cloudfunctions.projects.locations.functions.create",
    "generate_upload_url": "cloudfunctions.projects.locations.functions.generateUploadUrl",
    "generate_download_url": "cloudfunctions.projects.locations.functions.generateDownloadUrl",
    "get_function": "cloudfunctions.projects.locations.functions.get",
    "patch_function": "cloudfunctions.projects.locations.functions.patch",
    "delete_function": "cloudfunctions.projects.locations.functions.delete",
    "get_operation": "cloudfunctions.projects.locations.operations.get",
    "list_operations": "cloudfunctions.projects.locations.operations.list",
}


def api_entries(backend) -> list[dict]:
    """The recorded requests to the Cloud Functions API (not the upload URL or the control surface)."""
    return [e for e in backend.state.request_log.entries() if e["api"] in API_METHODS]


def conformance_problems(entry: dict, *, as_request: bool = True) -> list[str]:
    """Everything in one recorded exchange that breaks the document."""
    method = doc.method_for(entry["method"], entry["path"])
    if method is None:
        return [f"{entry['method']} {entry['path']} is no method of the document"]
    problems = [] if method.id == API_METHODS[entry["api"]] else [
        f"{entry['method']} {entry['path']} is {method.id}, served as {entry['api']}"]
    if as_request:
        problems += doc.query_problems(method, entry["query"])
        problems += doc.body_problems(method, entry["body"], output_only_allowed=False)
        problems += doc.documented_rule_problems(method, entry["query"], entry["body"])
        if entry["field_mask"]:
            problems += doc.response_mask_problems(entry["field_mask"], method.response)
    problems += doc.response_problems(method, entry["status"], entry["response"])
    return [f"{entry['method']} {entry['path']}: {p}" for p in problems]


# ---------------------------------------------------------------------- the definition itself
def _doc_kind(prop: dict) -> tuple[str, bool]:
    """A discovery property as (kind, repeated) in definition.py's terms."""
    if prop.get("type") == "array":
        return _doc_kind(prop["items"])[0], True
    if "$ref" in prop:
        return prop["$ref"], False
    if prop.get("type") == "object":
        assert prop["additionalProperties"] == {"type": "string"}, prop
        return definition.MAP, False
    if prop.get("type") == "boolean":
        return definition.BOOL, False
    if prop.get("type") == "integer":
        return prop["format"], False
    fmt = prop.get("format")
    if fmt == "google-datetime":
        return definition.TIME, False
    if fmt == "int64":
        return definition.I64, False
    return ("enum" if "enum" in prop else definition.S), False


def test_the_emulators_definition_is_the_documents():
    """Every message the emulator checks has exactly the document's fields, with the same
    type, repetition, output-only flag and enum values; and every message those refer to is
    checked too."""
    doc_name = {ours: definition.DISCOVERY_NAMES.get(ours, ours) for ours in definition.MESSAGES}
    ours_by_doc = {v: k for k, v in doc_name.items()}
    for message, fields in definition.MESSAGES.items():
        schema = doc.schema(doc_name[message])
        properties = schema.get("properties", {})
        assert set(fields) == set(properties), message
        for name, field in fields.items():
            prop = properties[name]
            kind, many = _doc_kind(prop)
            where = f"{message}.{name}"
            assert many == field.many, where
            assert bool(prop.get("readOnly")) == field.out, where
            if kind == "enum" or "enum" in prop.get("items", {}):
                assert definition.ENUMS[field.kind] == tuple(prop["enum"]), where
            elif kind in ours_by_doc:
                assert field.kind == ours_by_doc[kind], where
            else:
                assert field.kind == kind, where


def test_every_message_the_function_holds_is_checked():
    reached, todo = set(), ["Function", "GenerateUploadUrlRequest", "GenerateDownloadUrlRequest"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for prop in doc.schema(name).get("properties", {}).values():
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
            if ref:
                todo.append(ref)
    assert reached == {definition.DISCOVERY_NAMES.get(m, m) for m in definition.MESSAGES}


def test_the_enum_numbers_are_the_clients():
    """A request may send an enum's number: the emulator reads it as the index into its list,
    which must be the proto's numbering (the client's descriptors; enums newer than the
    installed client are skipped)."""
    from google.cloud.functions_v2.types import functions as types

    known = {"Environment": types.Environment, "FunctionState": types.Function.State,
             "DockerRegistry": types.BuildConfig.DockerRegistry,
             "IngressSettings": types.ServiceConfig.IngressSettings,
             "SecurityLevel": types.ServiceConfig.SecurityLevel,
             "VpcConnectorEgressSettings": types.ServiceConfig.VpcConnectorEgressSettings,
             "RetryPolicy": types.EventTrigger.RetryPolicy, "Severity": types.StateMessage.Severity}
    for name, enum in known.items():
        for member in enum:
            assert definition.ENUMS[name][member.value] == member.name, name


def test_query_and_system_parameters_are_the_documents():
    for api, method_id in API_METHODS.items():
        method = next(m for m in doc.methods() if m.id == method_id)
        defined = {k for k, v in method.parameters.items() if v["location"] == "query"}
        assert definition.QUERY_PARAMETERS[api] == defined, api
        ints = {k for k in defined if method.parameters[k].get("type") == "integer"}
        assert ints <= definition.INT32_PARAMETERS, api
    assert definition.SYSTEM_PARAMETERS == set(doc.document()["parameters"])


def test_the_emulators_error_codes_are_googles():
    assert {name: http for name, (_, http) in STATUS.items()} == {k: v for k, v in doc.RPC_HTTP.items() if k != "OK"}
    assert {name: number for name, (number, _) in STATUS.items()} == {
        k: v for k, v in doc.RPC_NUMBER.items() if k != "OK"}


def test_the_listing_field_mask_names_fields_of_the_response():
    assert doc.response_mask_problems(LISTED_FIELDS, "ListFunctionsResponse") == []
    assert doc.response_mask_problems("functions.bogus", "ListFunctionsResponse")


# ---------------------------------------------------------------------- the adapter's requests
def test_every_request_the_adapter_sends_conforms(fresh_gcp, tmp_path):
    # Operations take a moment, so the adapter polls each one (the first answer is never done).
    fresh_gcp.state.operation_delay_s = 0.3
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("def handler(request):\n    return 'hi'\n")
    spec = FunctionSpec(name="hello", runtime="python312", entry_point="handler", memory=256, timeout=60,
                        env={"GREETING": "hi"}, labels={"team": "core"}, source=str(src),
                        targets={"gcp": {"project": fresh_gcp.project, "region": "europe-west1"}})
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    assert gcp.detect().available
    gcp.create(spec)
    (src / "main.py").write_text("def handler(request):\n    return 'ho'\n")
    changed = dataclasses.replace(spec, runtime="python311", entry_point="main", memory=512, timeout=120,
                                  env={"GREETING": "ho"}, labels={"team": "edge"})
    gcp.update(changed, ["runtime", "entry_point", "memory", "timeout", "env", "labels", "code_digest"])
    fresh_gcp.component(registry_id="another-registry").claim("hello")
    assert set(gcp.observe().items) == {"hello"}
    gcp.delete("hello")

    entries = fresh_gcp.state.request_log.entries()
    api = [e for e in entries if e["api"] in API_METHODS]
    # (generateDownloadUrl is import's, checked in tests/test_import_gcp.py)
    assert {e["api"] for e in api} == set(API_METHODS) - {"list_operations", "generate_download_url"}
    assert [p for e in api for p in conformance_problems(e)] == []

    # The upload: as generateUploadUrl documents it, a PUT of a zip to the URL it answered,
    # with content-type application/zip and no credentials.
    urls = [e["response"]["uploadUrl"] for e in api if e["api"] == "generate_upload_url"]
    puts = [e for e in entries if e["api"] == "put_upload"]
    assert len(urls) == len(puts) == 2
    description = next(m for m in doc.methods() if m.id.endswith("generateUploadUrl")).description
    assert "content-type: application/zip" in description and "Authorization: Bearer" in description
    for url, put in zip(urls, puts):
        assert (put["method"], put["path"], put["status"]) == ("PUT", urlsplit(url).path, 200)
        assert put["content_type"] == "application/zip" and put["authorization"] is False
        data = fresh_gcp.state.uploads[put["path"].rsplit("/", 1)[1]]["data"]
        assert zipfile.is_zipfile(io.BytesIO(data)) and len(data) == put["size"]


# ---------------------------------------------------------------------- the emulator's responses
def _function(runtime="python312", memory="256M"):
    return functions_v2.Function(
        build_config=functions_v2.BuildConfig(runtime=runtime, entry_point="main"),
        service_config=functions_v2.ServiceConfig(available_memory=memory, timeout_seconds=30,
                                                  environment_variables={"A": "1"}),
        labels={"team": "core"})


def test_every_response_the_emulator_gives_conforms(fresh_gcp):
    """Drive every path the emulator serves (successes, every error it gives, operations that
    are pending, done, failed) and check each answer against the document."""
    client = fresh_gcp.client()
    parent = fresh_gcp.parent()
    url = f"{fresh_gcp.endpoint}/v2/{parent}/functions"

    full = {"description": "everything", "environment": "GEN_2", "kmsKeyName": "",
            "labels": {"team": "core"},
            "buildConfig": {"runtime": "python312", "entryPoint": "main", "dockerRegistry": "ARTIFACT_REGISTRY",
                            "environmentVariables": {"B": "1"}, "automaticUpdatePolicy": {},
                            "source": {"storageSource": {"bucket": "b", "object": "o.zip", "generation": "7"}}},
            "serviceConfig": {"availableMemory": "1Gi", "timeoutSeconds": 60, "maxInstanceCount": 3,
                              "minInstanceCount": 0, "ingressSettings": "ALLOW_INTERNAL_ONLY",
                              "allTrafficOnLatestRevision": True, "securityLevel": "SECURE_ALWAYS",
                              "secretEnvironmentVariables": [{"key": "K", "secret": "s", "version": "latest"}],
                              "secretVolumes": [{"mountPath": "/etc/s", "secret": "s",
                                                 "versions": [{"version": "1", "path": "p"}]}],
                              "directVpcNetworkInterface": [{"network": "n", "tags": ["t"]}],
                              "directVpcEgress": "VPC_EGRESS_ALL_TRAFFIC"},
            "eventTrigger": {"eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                             "retryPolicy": "RETRY_POLICY_RETRY",
                             "eventFilters": [{"attribute": "type", "value": "x"}]}}
    assert requests.post(url, params={"functionId": "everything"}, json=full, timeout=10).status_code == 200
    for i in range(3):
        client.create_function(parent=parent, function=_function(), function_id=f"fn-{i}").result(timeout=10)
    client.create_function(parent=fresh_gcp.parent("asia-east1"), function=_function(),
                           function_id="far").result(timeout=10)
    # Pages, field masks (header and system parameter), unreachable locations, filters.
    list(client.list_functions(request={"parent": fresh_gcp.parent("-"), "page_size": 2}).pages)
    requests.get(url, headers={"X-Goog-FieldMask": LISTED_FIELDS}, timeout=10)
    requests.get(url, params={"fields": "functions.name,nextPageToken", "pageSize": "1"}, timeout=10)
    fresh_gcp.state.set_unreachable(["asia-east1"])
    list(client.list_functions(parent=fresh_gcp.parent("-")))
    requests.get(f"{fresh_gcp.endpoint}/v2/{fresh_gcp.parent('asia-east1')}/functions", timeout=10)  # 503
    fresh_gcp.state.set_unreachable([])
    requests.get(url, params={"filter": "labels.team=core"}, timeout=10)
    requests.get(url, params={"filter": "x OR y"}, timeout=10)                                      # 400
    # Reads, updates and the errors around them.
    client.get_function(name=f"{parent}/functions/fn-0")
    requests.get(f"{url}/missing", timeout=10)                                                     # 404
    requests.post(url, params={"functionId": "fn-0"}, json={"buildConfig": {"runtime": "go122"}}, timeout=10)  # 409
    client.update_function(function=functions_v2.Function(name=f"{parent}/functions/fn-0", labels={"x": "y"}),
                           update_mask=field_mask_pb2.FieldMask(paths=["labels"])).result(timeout=10)
    # A failed build, a pending operation, and a change refused while it is pending.
    fresh_gcp.state.fail_operations("Build failed: injected")
    with pytest.raises(exceptions.GoogleAPICallError):
        client.create_function(parent=parent, function=_function(), function_id="broken").result(timeout=10)
    fresh_gcp.state.fail_operations("")
    client.get_function(name=f"{parent}/functions/broken")                                          # FAILED
    fresh_gcp.state.stall_operations()
    pending = client.delete_function(name=f"{parent}/functions/fn-1")
    requests.get(f"{fresh_gcp.endpoint}/v2/{pending.operation.name}", timeout=10)
    requests.delete(f"{url}/fn-1", timeout=10)                                                     # 409 ABORTED
    fresh_gcp.state.stall_operations(False)
    client.delete_function(name=f"{parent}/functions/fn-2").result(timeout=10)
    requests.get(f"{fresh_gcp.endpoint}/v2/{parent}/operations", timeout=10)
    requests.get(f"{fresh_gcp.endpoint}/v2/{parent}/operations/operation-none", timeout=10)        # 404
    # Upload URLs, an injected page failure and a method that does not exist.
    client.generate_upload_url(request={"parent": parent})
    fresh_gcp.state.fail_list_page(1, http=500, times=1)
    requests.get(url, timeout=10)                                                                  # 500
    requests.post(f"{url}/fn-0:nonsense", timeout=10)                                              # 404

    entries = api_entries(fresh_gcp)
    statuses = {e["status"] for e in entries}
    assert {200, 400, 404, 409, 500, 503} <= statuses
    assert any(e["response"].get("error") for e in entries if e["api"] == "get_operation")   # the failed build
    assert any(e["response"].get("done") is False for e in entries if e["api"] == "get_operation")
    assert [p for e in entries for p in conformance_problems(e, as_request=False)] == []
    unrouted = [e for e in fresh_gcp.state.request_log.entries() if e["api"] is None]
    assert unrouted and all(doc.error_problems(e["status"], e["response"]) == [] for e in unrouted)


def test_the_upload_url_takes_only_what_google_documents(fresh_gcp):
    """A PUT with content-type application/zip and no credentials; anything else is refused
    as Cloud Storage refuses a request the signature does not cover."""
    upload = fresh_gcp.client().generate_upload_url(request={"parent": fresh_gcp.parent()})
    empty_zip = b"PK\x05\x06" + b"\0" * 18
    refused = requests.put(upload.upload_url, data=empty_zip, headers={"content-type": "application/octet-stream"},
                           timeout=10)
    assert refused.status_code == 403 and b"SignatureDoesNotMatch" in refused.content
    refused = requests.put(upload.upload_url, data=empty_zip,
                           headers={"content-type": "application/zip", "Authorization": "Bearer token"}, timeout=10)
    assert refused.status_code == 403 and b"AccessDenied" in refused.content
    assert not fresh_gcp.state.uploads[upload.storage_source.object_]["received"]
    accepted = requests.put(upload.upload_url, data=empty_zip, headers={"content-type": "application/zip"},
                            timeout=10)
    assert accepted.status_code == 200 and accepted.headers["x-goog-generation"].isdigit()


def test_the_checker_catches_what_google_refuses():
    """The checks above are only as good as the checker: it must see each kind of break."""
    create = doc.method_for("POST", "/v2/projects/p/locations/us-central1/functions")
    get = doc.method_for("GET", "/v2/projects/p/locations/us-central1/functions/f")
    assert doc.method_for("GET", "/v2/projects/p/locations/l/functions/f/extra") is None
    assert len(doc.body_problems(create, {"serviceConfig": {"timeoutSeconds": "sixty", "ingressSettings": "BANANA",
                                                            "bogus": 1}, "state": "ACTIVE"},
                                 output_only_allowed=False)) == 4
    assert len(doc.query_problems(create, {"functionId": "x", "colour": "red", "alt": "xml"})) == 2
    assert doc.response_problems(create, 200, {"name": "projects/p/locations/l/operations/o", "done": True})
    assert doc.response_problems(create, 200, {"name": "projects/p/locations/l/operations/o", "done": False,
                                               "metadata": {"@type": "type.googleapis.com/google.cloud.functions"
                                                                     ".v2.OperationMetadata", "verb": 3}})
    # Google prints int32 as numbers, int64 as strings, enums by name.
    assert len(doc.response_problems(get, 200, {"serviceConfig": {"timeoutSeconds": "60"}, "state": 1,
                                                "buildConfig": {"source": {"storageSource": {"generation": 5}}}})) == 3
    assert doc.response_problems(get, 404, {"error": {"code": 400, "status": "NOT_FOUND", "message": "m"}})
    assert len(doc.documented_rule_problems(create, {"functionId": "has_underscore"},
                                            {"serviceConfig": {"availableMemory": "banana"},
                                             "eventTrigger": {}})) == 4
