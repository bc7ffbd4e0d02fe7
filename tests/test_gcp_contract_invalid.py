"""What Google refuses, the emulator refuses; what Google takes, the emulator takes.

INVALID is a table of requests Google would reject. Each is sent over HTTP to the emulator,
which must answer 400 INVALID_ARGUMENT in Google's error shape with a message naming the
field, and store nothing. The same request is checked by the discovery document's checker
(tests/gcp_discovery.py), which must find it invalid too, unless the document is silent on
that rule (``doc_silent`` says where the rule comes from instead).

VALID is a table of requests that look odd but Google takes (proto3 JSON's leniency, unit
spellings, output-only fields it ignores): the emulator must take them, the document's checker
must find nothing, and what the emulator then serves must be in the document's form.

Last, the listing trap: a value Google refuses, once stored, made every later listing fail to
parse in the real client (and ``--sync gcp`` report the endpoint "not answering").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from functions_tui.components.gcp_emulator.errors import EmulatorError
from tests import gcp_discovery as doc

BASE = {"buildConfig": {"runtime": "python312", "entryPoint": "main"},
        "serviceConfig": {"availableMemory": "256M", "timeoutSeconds": 60}}
EXISTING = "existing"   # a function each case may read or patch (us-central1)


def with_(path: str, value: Any, body: dict | None = None) -> dict:
    """BASE (or ``body``) with ``value`` set at the dotted ``path``."""
    result = json.loads(json.dumps(BASE if body is None else body))
    node = result
    keys = path.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return result


@dataclass
class Case:
    id: str
    verb: str
    # Relative to /v2/projects/P/locations/: "us-central1/functions", "us-central1/functions/existing", …
    target: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    names: str = ""            # the error message must name this (the field)
    doc_silent: str = ""       # why the document cannot see this one (then: where the rule comes from)


def create(id, body=None, names="", function_id="fresh-fn", location="us-central1", doc_silent="", **query):
    return Case(id, "POST", f"{location}/functions", {"functionId": function_id, **query} if function_id is not None
                else dict(query), BASE if body is None else body, names, doc_silent)


def patch(id, body, mask, names="", doc_silent=""):
    return Case(id, "PATCH", f"us-central1/functions/{EXISTING}", {"updateMask": mask} if mask else {}, body,
                names, doc_silent)


NO_REGIONS = "the document lists no regions (projects.locations.list serves them); cloud.google.com/functions/docs/locations"
ID_RULE = "gcloud and Cloud Run: a function id starts with a letter and ends with a letter or digit"

INVALID = [
    # Unknown fields, at every depth.
    create("unknown-top-level-field", with_("bogus", 1), "bogus"),
    create("unknown-field-in-service-config", with_("serviceConfig.bogusField", "x"), "bogusField"),
    create("unknown-field-in-storage-source", with_("buildConfig.source.storageSource.foo", "x"), "foo"),
    create("unknown-field-in-event-filter",
           with_("eventTrigger", {"eventType": "t", "eventFilters": [{"attribute": "a", "value": "v", "bogus": 1}]}),
           "bogus"),
    create("unknown-field-in-secret-version",
           with_("serviceConfig.secretVolumes", [{"mountPath": "/s", "secret": "s", "versions": [{"bogus": 1}]}]),
           "bogus"),
    # Enum values.
    create("bad-enum-ingress", with_("serviceConfig.ingressSettings", "BANANA"), "ingress_settings"),
    create("bad-enum-environment", with_("environment", "GEN_3"), "environment"),
    create("bad-enum-lowercase", with_("serviceConfig.vpcConnectorEgressSettings", "all_traffic"),
           "vpc_connector_egress_settings"),
    create("bad-enum-number", with_("eventTrigger", {"eventType": "t", "retryPolicy": 7}), "retry_policy"),
    create("bad-enum-empty", with_("serviceConfig.securityLevel", ""), "security_level"),
    create("bad-enum-docker-registry", with_("buildConfig.dockerRegistry", "DOCKER_HUB"), "docker_registry"),
    # Types.
    create("timeout-as-words", with_("serviceConfig.timeoutSeconds", "sixty"), "timeout_seconds"),
    create("timeout-as-bool", with_("serviceConfig.timeoutSeconds", True), "timeout_seconds"),
    create("int32-out-of-range", with_("serviceConfig.timeoutSeconds", 2**31), "timeout_seconds"),
    create("int32-fraction", with_("serviceConfig.maxInstanceCount", 1.5), "max_instance_count"),
    create("int32-padded-string", with_("serviceConfig.minInstanceCount", " 1"), "min_instance_count"),
    create("int64-as-words", with_("buildConfig.source.storageSource.generation", "abc"), "generation"),
    create("bool-as-string", with_("serviceConfig.allTrafficOnLatestRevision", "yes"),
           "all_traffic_on_latest_revision"),
    create("string-as-number", with_("description", 42), "description"),
    create("message-as-string", with_("buildConfig", "python312"), "build_config"),
    create("map-value-not-a-string", with_("labels", {"team": 1}), "labels"),
    create("map-as-list", with_("labels", ["team"]), "labels"),
    create("env-as-list", with_("serviceConfig.environmentVariables", ["A=1"]), "environment_variables"),
    create("repeated-as-object", with_("serviceConfig.secretEnvironmentVariables", {"key": "K"}),
           "secret_environment_variables"),
    create("repeated-of-wrong-items", with_("serviceConfig.directVpcNetworkInterface", [{"tags": [1]}]), "tags"),
    create("output-only-of-wrong-type", with_("stateMessages", "broken"), "state_messages"),
    create("output-only-bad-timestamp", with_("updateTime", "yesterday"), "update_time"),
    create("body-is-an-array", [BASE], "function"),
    create("body-is-not-json", "{", "JSON"),
    # Memory quantities ("Supported units are k, M, G, Mi, Gi").
    create("memory-banana", with_("serviceConfig.availableMemory", "banana"), "available_memory"),
    create("memory-with-B", with_("serviceConfig.availableMemory", "256MB"), "available_memory"),
    create("memory-in-Ti", with_("serviceConfig.availableMemory", "1Ti"), "available_memory"),
    create("memory-negative", with_("serviceConfig.availableMemory", "-256M"), "available_memory"),
    # Function ids.
    create("id-with-underscore", function_id="has_underscore", names="has_underscore"),
    create("id-with-capitals", function_id="Upper", names="Upper"),
    create("id-too-long", function_id="a" * 64, names="a" * 64),
    create("id-missing", function_id=None, names="functionId"),
    create("id-starting-with-a-digit", function_id="9lives", names="9lives", doc_silent=ID_RULE),
    create("id-ending-with-a-hyphen", function_id="dangling-", names="dangling-", doc_silent=ID_RULE),
    # Locations.
    create("create-on-mars", location="mars-central1", names="mars-central1", doc_silent=NO_REGIONS),
    Case("list-on-mars", "GET", "mars-central1/functions", names="mars-central1", doc_silent=NO_REGIONS),
    Case("get-on-mars", "GET", "mars-central1/functions/existing", names="mars-central1", doc_silent=NO_REGIONS),
    Case("upload-url-on-mars", "POST", "mars-central1/functions:generateUploadUrl", body={},
         names="mars-central1", doc_silent=NO_REGIONS),
    create("create-in-all-locations", location="-", names="'-'",
           doc_silent="the document offers '-' to list across locations, and only there"),
    # Runtimes: Google's ids, not Lambda's spelling of them (the document types it as a string).
    create("runtime-in-lambdas-spelling", with_("buildConfig.runtime", "python3.11"), "runtime",
           doc_silent="the document types runtime as a string; cloud.google.com/functions/docs/runtime-support"),
    create("runtime-unknown", with_("buildConfig.runtime", "cobol85"), "runtime",
           doc_silent="the document types runtime as a string; cloud.google.com/functions/docs/runtime-support"),
    patch("patch-runtime-in-lambdas-spelling", {"buildConfig": {"runtime": "nodejs20.x"}}, "buildConfig.runtime",
          "runtime", doc_silent="the document types runtime as a string; "
                                "cloud.google.com/functions/docs/runtime-support"),
    # What a create requires.
    create("create-without-runtime", with_("buildConfig", {"entryPoint": "main"}), "runtime"),
    create("trigger-without-event-type", with_("eventTrigger", {"retryPolicy": "RETRY_POLICY_RETRY"}), "event_type"),
    create("filter-without-value", with_("eventTrigger", {"eventType": "t", "eventFilters": [{"attribute": "a"}]}),
           "value"),
    # Update masks and patch bodies.
    patch("mask-unknown-field", {"serviceConfig": {"availableMemory": "512M"}}, "serviceConfig.bogusField",
          "bogusField"),
    patch("mask-output-only-field", {}, "updateTime", "updateTime"),
    patch("mask-output-only-nested", {}, "buildConfig.sourceProvenance", "sourceProvenance"),
    patch("mask-into-a-scalar", {}, "buildConfig.runtime.version", "buildConfig.runtime.version"),
    patch("mask-two-keys-into-a-map", {}, "labels.team.lead", "labels.team.lead"),
    patch("patch-timeout-as-words", {"serviceConfig": {"timeoutSeconds": "sixty"}}, "serviceConfig.timeoutSeconds",
          "timeout_seconds"),
    patch("patch-unknown-field", {"serviceConfig": {"cpus": 2}}, "serviceConfig", "cpus"),
    patch("patch-bad-memory", {"serviceConfig": {"availableMemory": "lots"}}, "serviceConfig.availableMemory",
          "available_memory"),
    # Query parameters.
    Case("list-page-size-as-words", "GET", "us-central1/functions", {"pageSize": "ten"}, names="pageSize"),
    Case("list-page-size-out-of-range", "GET", "us-central1/functions", {"pageSize": str(2**31)}, names="pageSize"),
    Case("list-unknown-parameter", "GET", "us-central1/functions", {"colour": "red"}, names="colour"),
    create("create-unknown-parameter", validateOnly="true", names="validateOnly"),
    Case("delete-unknown-parameter", "DELETE", "us-central1/functions/existing", {"etag": "1"}, names="etag"),
    # generateUploadUrl's body.
    Case("upload-url-bad-environment", "POST", "us-central1/functions:generateUploadUrl", body={"environment": "GEN_9"},
         names="environment"),
    Case("upload-url-unknown-field", "POST", "us-central1/functions:generateUploadUrl", body={"bucket": "mine"},
         names="bucket"),
]

VALID = [
    create("timeout-as-a-decimal-string", with_("serviceConfig.timeoutSeconds", "60")),
    create("proto-field-names", {"build_config": {"runtime": "python312", "entry_point": "main"},
                                 "service_config": {"available_memory": "512Mi", "timeout_seconds": 30}}),
    create("enum-by-number", with_("serviceConfig.ingressSettings", 2)),
    create("memory-in-Gi", with_("serviceConfig.availableMemory", "1Gi")),
    create("memory-in-G-with-a-fraction", with_("serviceConfig.availableMemory", "0.5G")),
    create("memory-in-bytes", with_("serviceConfig.availableMemory", "268435456")),
    create("memory-in-k", with_("serviceConfig.availableMemory", "262144k")),
    create("id-with-digits", function_id="function-1"),
    create("id-of-one-letter", function_id="a"),
    create("id-of-63-characters", function_id="a" * 63),
    create("output-only-fields-are-ignored", {**BASE, "state": "FAILED", "url": "https://example.com",
                                              "updateTime": "2020-01-01T00:00:00Z"}),
    create("null-is-unset", {**BASE, "description": None, "eventTrigger": None}),
    create("int64-as-a-number", with_("buildConfig.source.storageSource", {"bucket": "b", "object": "o.zip",
                                                                           "generation": 12345})),
    create("an-event-trigger", with_("eventTrigger", {"eventType": "google.cloud.pubsub.topic.v1.messagePublished",
                                                      "retryPolicy": "RETRY_POLICY_RETRY",
                                                      "eventFilters": [{"attribute": "type", "value": "x"}]})),
    create("system-parameters", **{"$alt": "json;enum-encoding=int", "prettyPrint": "false"}),
    patch("mask-one-label", {"labels": {"team": "edge", "ignored": "x"}}, "labels.team"),
    patch("mask-in-proto-names", {"serviceConfig": {"availableMemory": "1G"}}, "service_config.available_memory"),
    patch("no-mask", {"description": "changed"}, ""),
    Case("list-page-size-as-text", "GET", "us-central1/functions", {"pageSize": "5", "$fields": "functions.name"}),
    Case("list-everywhere", "GET", "-/functions", {"orderBy": "name", "filter": "state=ACTIVE"}),
    Case("upload-url-for-gen2", "POST", "us-central1/functions:generateUploadUrl", body={"environment": "GEN_2"}),
]


def send(backend, case: Case) -> requests.Response:
    url = f"{backend.endpoint}/v2/projects/{backend.project}/locations/{case.target}"
    data = case.body if isinstance(case.body, str) else (None if case.body is None else json.dumps(case.body))
    return requests.request(case.verb, url, params=case.query, data=data,
                            headers={"content-type": "application/json"}, timeout=10)


def doc_problems(backend, case: Case) -> list[str]:
    method = doc.method_for(case.verb, f"/v2/projects/{backend.project}/locations/{case.target}")
    assert method is not None, case.id
    if isinstance(case.body, str):
        try:
            json.loads(case.body)
        except ValueError:
            return ["the body is not JSON"]
    problems = doc.query_problems(method, case.query) + doc.body_problems(method, case.body)
    return problems + doc.documented_rule_problems(method, case.query, case.body)


@pytest.fixture
def emulator(fresh_gcp):
    """The session emulator with one function, EXISTING, to read and patch."""
    assert send(fresh_gcp, create("seed", function_id=EXISTING, body=with_("labels", {"team": "core"}))).ok
    return fresh_gcp


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_the_emulator_refuses_what_google_refuses(emulator, case):
    before = emulator.state.to_dict()
    response = send(emulator, case)
    body = response.json()
    assert response.status_code == 400, body
    assert doc.error_problems(400, body) == []
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert case.names in body["error"]["message"], body
    after = emulator.state.to_dict()
    assert after["functions"] == before["functions"] and after["operations"] == before["operations"]
    assert len(after["uploads"]) == len(before["uploads"])


@pytest.mark.parametrize("case", [c for c in INVALID if not c.doc_silent],
                         ids=[c.id for c in INVALID if not c.doc_silent])
def test_the_document_refuses_them_too(gcp_backend, case):
    assert doc_problems(gcp_backend, case)


def test_where_the_document_is_silent_the_rule_has_a_source(gcp_backend):
    silent = [c for c in INVALID if c.doc_silent]
    assert all(doc_problems(gcp_backend, c) == [] for c in silent)   # truly silent: not a checker gap
    assert len(silent) <= 10   # regions, id edge rules, runtime ids


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_the_emulator_takes_what_google_takes(emulator, case):
    assert doc_problems(emulator, case) == []
    response = send(emulator, case)
    assert response.status_code == 200, response.text
    method = doc.method_for(case.verb, f"/v2/projects/{emulator.project}/locations/{case.target}")
    assert doc.response_problems(method, 200, response.json()) == []
    # What is stored is served back in the document's (printed) form.
    for entry in emulator.state.request_log.entries():
        served = doc.method_for(entry["method"], entry["path"])
        if served is not None:
            assert doc.response_problems(served, entry["status"], entry["response"]) == [], entry["path"]
    for name in emulator.state.functions:
        got = requests.get(f"{emulator.endpoint}/v2/{name}", timeout=10)
        assert doc.check(got.json(), {"$ref": "Function"}, name, request=False) == []


def test_canonical_forms_are_stored(emulator):
    assert send(emulator, create("c", with_("serviceConfig.timeoutSeconds", "90"), function_id="canon")).ok
    stored = emulator.state.functions[f"{emulator.parent()}/functions/canon"]
    assert stored["serviceConfig"]["timeoutSeconds"] == 90
    assert send(emulator, create("e", with_("serviceConfig.ingressSettings", 3), function_id="enum-num")).ok
    assert emulator.state.functions[f"{emulator.parent()}/functions/enum-num"]["serviceConfig"][
        "ingressSettings"] == "ALLOW_INTERNAL_AND_GCLB"
    assert send(emulator, patch("m", {"labels": {"team": "edge", "ignored": "x"}}, "labels.team")).ok
    assert emulator.state.functions[f"{emulator.parent()}/functions/{EXISTING}"]["labels"] == {"team": "edge"}


def test_seeding_and_loading_are_held_to_the_definition_too(fresh_gcp, tmp_path):
    name = f"{fresh_gcp.parent()}/functions/seeded"
    with pytest.raises(EmulatorError, match="timeout_seconds"):
        fresh_gcp.state.put_function(name, with_("serviceConfig.timeoutSeconds", "sixty"))
    with pytest.raises(EmulatorError, match="mars-central1"):
        fresh_gcp.state.put_function(name.replace("us-central1", "mars-central1"), BASE)
    with pytest.raises(EmulatorError, match="ingress_settings"):
        fresh_gcp.state.load({"functions": {name: with_("serviceConfig.ingressSettings", "BANANA")}})
    loaded = requests.put(f"{fresh_gcp.endpoint}/_emulator/state",
                          json={"functions": {name: with_("serviceConfig.bogusField", 1)}}, timeout=10)
    assert loaded.status_code == 400 and "bogusField" in loaded.json()["error"]["message"]
    assert fresh_gcp.state.functions == {}


def test_a_refused_value_never_breaks_a_later_listing(fresh_gcp):
    """The trap: ``timeoutSeconds: "sixty"`` used to be stored and served back, and from then on
    the real client could not parse any listing (functions-tui said the endpoint "is not
    answering"). Refused at the door, the listing stays readable."""
    gcp = fresh_gcp.component(registry_id="6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c")
    assert send(fresh_gcp, create("fine", function_id="fine")).ok
    sixty = send(fresh_gcp, create("sixty", with_("serviceConfig.timeoutSeconds", "sixty"), function_id="sixty"))
    assert sixty.status_code == 400 and "timeout_seconds" in sixty.json()["error"]["message"]
    patched = send(fresh_gcp, Case("patch-sixty", "PATCH", "us-central1/functions/fine",
                                   {"updateMask": "serviceConfig.timeoutSeconds"},
                                   {"serviceConfig": {"timeoutSeconds": "sixty"}}))
    assert patched.status_code == 400

    listed = list(fresh_gcp.client().list_functions(parent=fresh_gcp.parent("-")))
    assert [f.name.rsplit("/", 1)[1] for f in listed] == ["fine"]
    assert listed[0].service_config.timeout_seconds == 60
    detection = gcp.detect()
    assert detection.available, detection.reason
    observation = gcp.observe()
    assert observation.complete and observation.errors == [] and observation.unmarked == ["fine"]
