"""Classification of one (function, component) pair: every state of DESIGN.md's table,
the per-field diffs with secrets masked, ignore rules, and provider churn that is not drift."""

from __future__ import annotations

import copy

import pytest

from functions_tui.registry.classify import (GHOST, MARKED, NO_BASE, NOT_DEPLOYED, STALE_BASE, UNMARKED, classify,
                               fast_normalize, registry_fingerprints)
from functions_tui.registry.component import ObservedFunction
from functions_tui.registry.fingerprint import normalize, spec_fingerprint
from functions_tui.registry.ignore import IgnoreRuleError, apply_ignore, validate_rules
from functions_tui.registry.models import FunctionRecord
from functions_tui.registry.plan_types import State
from tests.engine_helpers import deployed, make_spec
from tests.memory_component import MemoryComponent


def _observed(component: MemoryComponent, name: str) -> ObservedFunction:
    return component.observe().items.get(name)


@pytest.fixture
def gcp() -> MemoryComponent:
    return MemoryComponent("gcp")


def test_in_sync_when_registry_and_component_agree(gcp):
    record = deployed(make_spec("hello"), gcp)
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert (status.state, status.detail, status.diffs) == (State.IN_SYNC, "", [])


def test_provider_churn_is_not_drift(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.change("hello", revision=41, update_time="2030-01-01T00:00:00Z", version="$LATEST",
               last_modified="yesterday", etag="W/abc")
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.IN_SYNC


def test_our_mark_and_digest_labels_are_not_drift(gcp):
    spec = make_spec("hello", code_digest="sha256:aa")
    record = deployed(spec, gcp)
    assert "functions-tui_digest" in gcp.resources["hello"].values["labels"]
    assert classify(record, _observed(gcp, "hello"), "gcp").state is State.IN_SYNC


def test_drifted_when_only_the_component_changed(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.change("hello", memory=1024)
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.DRIFTED
    [diff] = status.diffs
    assert (diff.field, diff.base, diff.registry, diff.component, diff.secret) == ("memory", 256, 256, 1024, False)


def test_pending_when_only_the_registry_changed(gcp):
    record = deployed(make_spec("hello"), gcp)
    record.spec.timeout = 300
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.PENDING
    assert [(d.field, d.registry, d.component) for d in status.diffs] == [("timeout", 300, 60)]


def test_conflict_when_both_changed_differently(gcp):
    record = deployed(make_spec("hello"), gcp)
    record.spec.memory = 512
    gcp.change("hello", memory=1024)
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.CONFLICT
    assert [(d.field, d.base, d.registry, d.component) for d in status.diffs] == [("memory", 256, 512, 1024)]


def test_both_changed_the_same_way_is_in_sync_with_a_stale_base(gcp):
    record = deployed(make_spec("hello"), gcp)
    record.spec.memory = 512
    gcp.change("hello", memory=512)
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert (status.state, status.detail) == (State.IN_SYNC, STALE_BASE)


def test_present_on_both_sides_but_never_synced_is_a_conflict(gcp):
    gcp.put("hello", {"runtime": "nodejs20"})
    record = FunctionRecord(spec=make_spec("hello"))
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert (status.state, status.detail) == (State.CONFLICT, NO_BASE)
    assert ("runtime", None, "python3.12", "nodejs20") in [(d.field, d.base, d.registry, d.component)
                                                          for d in status.diffs]


def test_missing_ghost_when_the_base_says_it_was_there(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.remove("hello")
    status = classify(record, None, "gcp")
    assert (status.state, status.detail) == (State.MISSING, GHOST)


def test_missing_not_deployed_when_never_seen_there():
    status = classify(FunctionRecord(spec=make_spec("hello")), None, "gcp")
    assert (status.state, status.detail) == (State.MISSING, NOT_DEPLOYED)


def test_unmanaged_marked_resource_absent_from_the_registry(gcp):
    gcp.put("stray", {"memory": 128})
    status = classify(None, _observed(gcp, "stray"), "gcp")
    assert (status.state, status.detail, status.function) == (State.UNMANAGED, MARKED, "stray")


def test_unmanaged_when_the_function_exists_but_does_not_target_this_component(gcp):
    record = FunctionRecord(spec=make_spec("hello", components=("aws",)))
    gcp.put("hello")
    assert classify(record, _observed(gcp, "hello"), "gcp").state is State.UNMANAGED


def test_unmarked_resource_is_told_apart():
    item = ObservedFunction("theirs", "gcp", {"runtime": "go122"}, marked=False)
    status = classify(None, item, "gcp")
    assert (status.state, status.detail) == (State.UNMANAGED, UNMARKED)


def test_an_unmarked_resource_with_a_registry_name_is_not_ours(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.resources["hello"].marked = False
    item = copy.deepcopy(gcp.resources["hello"])
    status = classify(record, item, "gcp")
    assert (status.state, status.detail) == (State.UNMANAGED, UNMARKED)


def test_unknown_when_the_component_is_unavailable(gcp):
    record = deployed(make_spec("hello"), gcp)
    status = classify(record, _observed(gcp, "hello"), "gcp", available=False, reason="no credentials")
    assert (status.state, status.detail) == (State.UNKNOWN, "no credentials")


def test_absent_from_an_incomplete_listing_is_unknown_not_missing(gcp):
    record = deployed(make_spec("hello"), gcp)
    status = classify(record, None, "gcp", observation_complete=False)
    assert status.state is State.UNKNOWN
    assert "incomplete" in status.detail


def test_present_in_an_incomplete_listing_is_still_classified(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.change("hello", memory=2048)
    assert classify(record, _observed(gcp, "hello"), "gcp", observation_complete=False).state is State.DRIFTED


def test_env_diffs_are_masked_key_by_key(gcp):
    record = deployed(make_spec("hello", env={"API_KEY": "old-pw-7f3a", "GONE": "gone-pw-1"}), gcp)
    gcp.change("hello", env={"API_KEY": "new-pw-9c1b", "ADDED": "added-pw-2"})
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.DRIFTED
    shown = {d.field: (d.base, d.registry, d.component, d.secret) for d in status.diffs}
    assert shown == {
        "env.ADDED": ("unset", "unset", "•••• (changed)", True),
        "env.API_KEY": ("set", "set", "•••• (changed)", True),
        "env.GONE": ("set", "set", "unset", True),
    }
    assert "-pw-" not in repr(status) and "h:" not in repr(status)  # no value nor hash, not even in a repr


def test_label_diffs_show_values_key_by_key(gcp):
    record = deployed(make_spec("hello", labels={"team": "core"}), gcp)
    gcp.change("hello", labels={"team": "edge", "functions-tui_function": "hello"})
    [diff] = classify(record, _observed(gcp, "hello"), "gcp").diffs
    assert (diff.field, diff.registry, diff.component) == ("labels.team", "core", "edge")


def test_run_state_counts(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.change("hello", state="stopped")
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert status.state is State.DRIFTED and [d.field for d in status.diffs] == ["state"]


@pytest.mark.parametrize("rule, change", [
    ("memory", {"memory": 4096}),
    ("env.API_KEY", {"env": {"LOG_LEVEL": "info", "API_KEY": "rotated"}}),
    ("env.API_*", {"env": {"LOG_LEVEL": "info", "API_KEY": "rotated"}}),
    ("labels.team", {"labels": {"team": "other"}}),
    ("labels", {"labels": {"team": "other", "cost": "x"}}),
])
def test_ignore_rules_on_the_spec_hide_differences(gcp, rule, change):
    spec = make_spec("hello", ignore=[rule])
    record = deployed(spec, gcp)
    gcp.change("hello", **change)
    assert classify(record, _observed(gcp, "hello"), "gcp").state is State.IN_SYNC
    record.spec.ignore = []
    assert classify(record, _observed(gcp, "hello"), "gcp").state is State.DRIFTED


def test_ignore_rule_only_hides_what_it_names(gcp):
    record = deployed(make_spec("hello", ignore=["env.API_KEY"]), gcp)
    gcp.change("hello", env={"LOG_LEVEL": "debug", "API_KEY": "rotated"})
    status = classify(record, _observed(gcp, "hello"), "gcp")
    assert [d.field for d in status.diffs] == ["env.LOG_LEVEL"]


def test_global_ignore_list(gcp):
    record = deployed(make_spec("hello"), gcp)
    gcp.change("hello", timeout=900)
    assert classify(record, _observed(gcp, "hello"), "gcp", global_ignore=["timeout"]).state is State.IN_SYNC


def test_bad_ignore_rules_are_reported():
    assert validate_rules(["memory", "env.X", "labels.*"]) == []
    problems = validate_rules(["memroy", "timeout.x"])
    assert len(problems) == 2 and "memroy" in problems[0]
    with pytest.raises(IgnoreRuleError):
        apply_ignore({"memory": 1}, ("nope",))


def test_classification_does_not_mutate_its_inputs(gcp):
    record = deployed(make_spec("hello", ignore=["env.API_KEY"]), gcp)
    gcp.change("hello", memory=1)
    observed = _observed(gcp, "hello")
    before = (copy.deepcopy(record.to_dict()), copy.deepcopy(observed.values))
    classify(record, observed, "gcp")
    assert (record.to_dict(), observed.values) == before


def test_fast_fingerprints_equal_the_contract_ones():
    spec = make_spec("hello", components=("docker", "gcp", "aws"), labels={"functions-tui.function": "x", "a": "b"})
    spec.targets["aws"]["state"] = "inactive"
    assert registry_fingerprints(spec, ("docker", "gcp", "aws")) == {
        c: spec_fingerprint(spec, c) for c in ("docker", "gcp", "aws")}
    values = {"memory": "512", "timeout": "", "env": {"A": 1}, "labels": {"functions-tui.digest": "d", "b": 4}}
    assert fast_normalize(values) == normalize(values)
    hashed = ObservedFunction("x", "docker", {"env": {"A": "h:1234"}}, env_hashed=True)
    assert fast_normalize(hashed.values, env_hashed=True) == hashed.fingerprint()
