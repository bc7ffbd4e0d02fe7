"""GCP faults end to end: emulator fault → GcpComponent.observe() → registry.plan.build_plan.

Whatever goes wrong on the GCP side (a failed page, unreachable locations, a deploy that never
finishes, functions somebody else owns), the plan built from what we saw deletes and prunes
nothing: that is the product's safety rule, checked here on the real adapter's output.
"""

from __future__ import annotations

import pytest

from functions_tui.registry.component import ApplyError
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import DESTRUCTIVE, ActionKind

REGIONS = ("us-central1", "europe-west1")

REGISTRY_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"  # the registry identity the adapter writes


def deploy_and_record(backend, gcp, count: int) -> dict[str, FunctionRecord]:
    """Deploy ``count`` functions and return registry records whose base is what was deployed."""
    records = {}
    for i in range(count):
        spec = FunctionSpec(name=f"fn-{i}", runtime="python312", entry_point="main", env={"N": str(i)},
                            targets={"gcp": {"project": backend.project, "region": REGIONS[i % 2]}})
        observed = gcp.create(spec)
        records[spec.name] = FunctionRecord(spec, {"gcp": ComponentRecord(
            "gcp", base=observed.fingerprint(), resource_id=observed.resource_id)})
    return records


def risky_actions(plan):
    return [a for a in plan.actions if a.kind in DESTRUCTIVE or a.kind is ActionKind.CREATE]


@pytest.mark.parametrize("policy", ["component-wins", "registry-wins"])
def test_page_3_of_5_failing_plans_no_deletion(fresh_gcp, policy):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, page_size=2)
    records = deploy_and_record(fresh_gcp, gcp, 10)
    fresh_gcp.state.fail_list_page(3)

    observation = gcp.observe()
    plan = build_plan(records, {"gcp": observation}, policies={"gcp": policy})

    assert not observation.complete and len(observation.items) == 4
    assert "gcp" in plan.unknown
    assert risky_actions(plan) == []


def test_unreachable_location_plans_no_deletion(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    records = deploy_and_record(fresh_gcp, gcp, 6)
    fresh_gcp.state.set_unreachable(["europe-west1"])

    observation = gcp.observe()
    plan = build_plan(records, {"gcp": observation}, policies={"gcp": "component-wins"})

    assert len(observation.items) == 3  # the europe-west1 half is unseen, not gone
    assert "gcp" in plan.unknown and risky_actions(plan) == []


def test_a_stalled_deploy_plans_no_deletion(fresh_gcp):
    gcp = fresh_gcp.component(registry_id=REGISTRY_ID, operation_timeout_s=0.3)
    records = deploy_and_record(fresh_gcp, gcp, 2)
    fresh_gcp.state.stall_operations()
    spec = FunctionSpec(name="stuck", runtime="python312",
                        targets={"gcp": {"project": fresh_gcp.project, "region": "us-central1"}})
    with pytest.raises(ApplyError, match="did not finish"):
        gcp.create(spec)
    records["stuck"] = FunctionRecord(spec, {"gcp": ComponentRecord("gcp")})

    plan = build_plan(records, {"gcp": gcp.observe()}, policies={"gcp": "registry-wins"})

    assert [a for a in plan.actions if a.kind in DESTRUCTIVE] == []


def test_unmarked_functions_are_never_planned_for_deletion(fresh_gcp):
    from google.cloud import functions_v2

    gcp = fresh_gcp.component(registry_id=REGISTRY_ID)
    records = deploy_and_record(fresh_gcp, gcp, 2)
    fresh_gcp.client().create_function(
        parent=fresh_gcp.parent(), function_id="theirs",
        function=functions_v2.Function(build_config=functions_v2.BuildConfig(runtime="go122"))).result(timeout=10)

    observation = gcp.observe()
    plan = build_plan(records, {"gcp": observation}, policies={"gcp": "registry-wins"})

    assert observation.complete and observation.unmarked == ["theirs"]
    assert all(a.function != "theirs" for a in plan.actions)
    assert [a for a in plan.actions if a.kind in DESTRUCTIVE] == []
