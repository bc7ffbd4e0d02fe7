"""Ownership by registry identity on Cloud Functions v2 (the project's emulator over HTTP).

Functions somebody else made (a legacy name-only mark, another registry's mark, no mark) are
made with google-cloud-functions' own FunctionServiceClient (REST, anonymous credentials,
pointed at the emulator), not with our code.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.cloud import functions_v2

from functions_tui.registry.kinds import kind_of

from functions_tui.components.gcp import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, GcpComponent
from functions_tui.registry.component import ApplyError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec, digest_source

OURS = "0b7e3c1a-5d2f-4e6a-8b9c-1d2e3f4a5b6c"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"


def make_spec(backend, name: str = "hello", source: str = "", **overrides: Any) -> FunctionSpec:
    fields: dict[str, Any] = dict(name=name, runtime="python312", entry_point="handler", memory=256, timeout=60,
                                  env={"GREETING": "hi"}, labels={"team": "core"}, source=source,
                                  targets={"gcp": {"project": backend.project, "region": "us-central1"}})
    fields.update(overrides)
    if source and "code_digest" not in overrides:
        fields["code_digest"] = digest_source(source)
    return FunctionSpec(**fields)


def client_create(backend, fid: str, labels: dict[str, str]) -> functions_v2.Function:
    """A function deployed with the real client, as a person or another tool would."""
    fn = functions_v2.Function(
        build_config=functions_v2.BuildConfig(runtime="nodejs20", entry_point="main"),
        service_config=functions_v2.ServiceConfig(available_memory="512M", timeout_seconds=30,
                                                  environment_variables={"MODE": "prod"}),
        labels=labels)
    return backend.client().create_function(parent=backend.parent(), function=fn, function_id=fid).result(timeout=10)


def as_dict(fn: functions_v2.Function) -> dict[str, Any]:
    return functions_v2.Function.to_dict(fn)


@pytest.fixture
def gcp(fresh_gcp) -> GcpComponent:
    return fresh_gcp.component(registry_id=OURS)


def test_the_keys_are_the_registry_models_spelling():
    assert OWNER_KEY == kind_of("gcp").owner_key == "functions-tui_registry"
    assert DEPLOYED_CODE_KEY == kind_of("gcp").deployed_code_key == "functions-tui_deployed-code"


def test_create_writes_the_name_mark_and_the_registry_identity(gcp, fresh_gcp):
    created = gcp.create(make_spec(fresh_gcp))
    assert created.owner == OURS

    labels = fresh_gcp.client().get_function(name=created.resource_id).labels
    assert labels[MARK_KEY] == "hello"
    assert labels[OWNER_KEY] == OURS
    assert labels["team"] == "core"


def test_observe_reports_each_marked_function_with_its_owner(gcp, fresh_gcp):
    gcp.create(make_spec(fresh_gcp, "mine"))
    client_create(fresh_gcp, "legacy", {MARK_KEY: "legacy"})
    client_create(fresh_gcp, "theirs", {MARK_KEY: "theirs", OWNER_KEY: OTHER})
    client_create(fresh_gcp, "stranger", {"owner": "someone"})

    fresh_gcp.state.requests = 0
    observation = gcp.observe()
    assert fresh_gcp.state.requests == 1  # one page, no per-function call
    assert observation.complete, observation.errors
    assert {n: (o.marked, o.owner) for n, o in observation.items.items()} == {
        "mine": (True, OURS), "legacy": (True, None), "theirs": (True, OTHER)}
    assert observation.unmarked == ["stranger"]
    assert all(OWNER_KEY not in o.values["labels"] for o in observation.items.values())


def test_claim_migrates_a_legacy_mark_and_changes_nothing_else(gcp, fresh_gcp):
    made = client_create(fresh_gcp, "legacy", {MARK_KEY: "legacy", DIGEST_KEY: "s256-abc", "team": "core"})
    before = gcp.observe().items["legacy"]
    raw_before = as_dict(fresh_gcp.client().get_function(name=made.name))
    assert before.owner is None

    claimed = gcp.claim("legacy", before.resource_id)

    assert claimed.owner == OURS and claimed.marked
    assert claimed.fingerprint() == before.fingerprint()
    after = gcp.observe().items["legacy"]
    assert after.owner == OURS
    assert after.fingerprint() == before.fingerprint()
    raw_after = as_dict(fresh_gcp.client().get_function(name=made.name))
    # One label more; everything else as it was (but the update time a patch moves).
    assert raw_after.pop("labels") == {**raw_before.pop("labels"), OWNER_KEY: OURS}
    raw_after.pop("update_time"), raw_before.pop("update_time")
    assert raw_after == raw_before


def test_claim_by_name_takes_over_a_function_the_user_named(gcp, fresh_gcp):
    client_create(fresh_gcp, "theirs", {MARK_KEY: "theirs", OWNER_KEY: OTHER})
    assert gcp.claim("theirs").owner == OURS  # found through the listing when no id is given
    assert gcp.observe().items["theirs"].owner == OURS


def test_claim_refuses_an_unmarked_function(gcp, fresh_gcp):
    made = client_create(fresh_gcp, "stranger", {"owner": "someone"})
    with pytest.raises(ApplyError, match="refusing to claim"):
        gcp.claim("stranger", made.name)
    assert dict(fresh_gcp.client().get_function(name=made.name).labels) == {"owner": "someone"}
    with pytest.raises(ApplyError, match="does not exist"):
        gcp.claim("ghost", f"{fresh_gcp.parent()}/functions/ghost")


def test_no_identity_refuses_create_update_and_claim(fresh_gcp, tmp_path):
    anonymous = fresh_gcp.component()
    assert anonymous.registry_id == ""
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("def handler(request):\n    return 'hi'\n")
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.create(make_spec(fresh_gcp, source=str(src)))
    assert fresh_gcp.state.functions == {} and fresh_gcp.state.uploads == {}  # nothing deployed or uploaded

    made = client_create(fresh_gcp, "legacy", {MARK_KEY: "legacy"})
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.update(make_spec(fresh_gcp, "legacy", memory=1024), ["memory"])
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.claim("legacy", made.name)
    assert as_dict(fresh_gcp.client().get_function(name=made.name)) == as_dict(made)


def test_an_identity_that_is_no_label_value_is_refused(fresh_gcp):
    with pytest.raises(ApplyError, match="not a legal label value"):
        fresh_gcp.component(registry_id="Not A Label!").create(make_spec(fresh_gcp))
    assert fresh_gcp.state.functions == {}


def test_update_writes_the_identity_onto_a_legacy_mark_keeping_other_labels(gcp, fresh_gcp):
    made = client_create(fresh_gcp, "legacy", {MARK_KEY: "legacy", "team": "core", "cost": "low"})
    updated = gcp.update(make_spec(fresh_gcp, "legacy", memory=1024, labels={"team": "core"}), ["memory"])
    assert updated.owner == OURS and updated.values["memory"] == 1024
    # Labels were not asked to change: the out-of-band "cost" label stays.
    assert dict(fresh_gcp.client().get_function(name=made.name).labels) == {
        MARK_KEY: "legacy", OWNER_KEY: OURS, "team": "core", "cost": "low"}


def test_create_of_an_owned_function_matches_the_spec(gcp, fresh_gcp):
    spec = make_spec(fresh_gcp)
    gcp.create(spec)
    assert gcp.observe().items["hello"].fingerprint() == spec_fingerprint(spec, "gcp")
