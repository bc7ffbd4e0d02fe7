"""Pilot tests of the app's flows against the real backends (moto server, the GCP emulator,
a private dockerd), through the real SyncService and registry store.

Out-of-band changes are made the way a person would make them: boto3 / the google client /
the docker API, never by poking the app's state.
"""

from __future__ import annotations

import pytest

from functions_tui.components.aws import AwsComponent
from functions_tui.registry.models import FunctionSpec, digest_source
from functions_tui.registry.plan_types import State
from functions_tui.screens.conflict_screen import ConflictScreen
from functions_tui.screens.plan_screen import PlanScreen
from functions_tui.screens.read_only import MUTATING_ACTIONS
from tests.tui_helpers import (app_for, change_registry, deploy_all, register, row_state, run_async,
                               service_with, wait_for_sync, wait_until)

SIZE = (120, 40)


def aws_spec(name: str, **fields) -> FunctionSpec:
    values = dict(name=name, runtime="python3.12", entry_point="main.main", memory=256, timeout=30,
                  env={"GREETING": "hello", "API_KEY": "s3cr3t"}, labels={"team": "core"},
                  targets={"aws": {}})
    values.update(fields)
    return FunctionSpec(**values)


@pytest.fixture
def aws_service(home, aws_clean):
    """A registry with three functions deployed to moto's Lambda, all in sync."""
    service = service_with(home, aws=AwsComponent(role_arn=aws_clean.role_arn))
    register(service, aws_spec("orders-api"), aws_spec("payments"), aws_spec("thumbnailer"))
    deploy_all(service, "aws")
    return service


def lambda_config(aws_clean, name: str) -> dict:
    return aws_clean.client("lambda").get_function_configuration(FunctionName=name)


# --- drift made out of band shows up after a background sync, on every backend -----------------------
def _aws_case(request, home):
    backend = request.getfixturevalue("aws_clean")
    service = service_with(home, aws=AwsComponent(role_arn=backend.role_arn))
    register(service, aws_spec("orders-api"))

    def change() -> None:
        backend.client("lambda").update_function_configuration(FunctionName="orders-api", MemorySize=512)
    return service, change


def _gcp_case(request, home):
    from google.cloud import functions_v2
    from google.protobuf import field_mask_pb2

    backend = request.getfixturevalue("fresh_gcp")
    component = backend.component()
    service = service_with(home, gcp=component)
    register(service, FunctionSpec(name="orders-api", runtime="python312", entry_point="handler",
                                   env={"GREETING": "hi"}, labels={"team": "core"},
                                   targets={"gcp": {"project": backend.project, "region": "us-central1",
                                                    "trigger": "http"}}))

    def change() -> None:
        resource = component.observe().items["orders-api"].resource_id
        backend.client().update_function(
            function=functions_v2.Function(name=resource,
                                           service_config=functions_v2.ServiceConfig(available_memory="1Gi")),
            update_mask=field_mask_pb2.FieldMask(paths=["service_config.available_memory"])).result(timeout=10)
    return service, change


def _docker_case(request, home):
    from functions_tui.components.docker import DockerComponent, container_name

    backend = request.getfixturevalue("docker_clean")
    source = home.parent / "orders-api"
    source.mkdir()
    (source / "main.py").write_text("def main(request):\n    return 'hello'\n")
    adapter = DockerComponent(base_url=backend.host)
    request.addfinalizer(adapter.close)
    service = service_with(home, docker=adapter)
    register(service, FunctionSpec(name="orders-api", runtime="python312", entry_point="main",
                                   source=str(source), memory=128, timeout=30, env={"GREETING": "hi"},
                                   targets={"docker": {"port": 8080}}, code_digest=digest_source(source)))

    def change() -> None:  # someone stops the container by hand
        backend.client.containers.get(container_name("orders-api")).stop(timeout=0)
    return service, change


@pytest.mark.parametrize("component,case", [
    ("aws", _aws_case), ("gcp", _gcp_case), pytest.param("docker", _docker_case, marks=pytest.mark.docker)])
@run_async
async def test_drift_made_out_of_band_appears_after_a_background_sync(request, home, component, case):
    service, change_out_of_band = case(request, home)
    deploy_all(service, component)
    app = app_for(service, component, interval=0.3)   # the background job, on a short interval
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        assert row_state(app, component, "orders-api") == "in_sync"

        change_out_of_band()
        seen = app.sync_count
        # no key pressed: the job's own timer runs the next sync
        await wait_for_sync(pilot, after=seen)
        assert await wait_until(pilot, lambda: row_state(app, component, "orders-api") == "drifted")
        assert row_state(app, "registry", "orders-api") == "drifted"
        assert "~1" in str(app.dashboard.component_panel(component).border_title)
        assert any(f"sync {component}: 1 drifted" in line for line in app.dashboard.activity.entries)


# --- conflicts resolved by keys -----------------------------------------------------------------------
def make_conflict(service, aws_clean, name="orders-api", registry=None, component=None) -> None:
    """The registry and the component both change the function since the last sync."""
    change_registry(service, name, **(registry or {"memory": 512}))
    aws_clean.client("lambda").update_function_configuration(FunctionName=name,
                                                             **(component or {"MemorySize": 1024}))


async def open_conflicts(pilot) -> ConflictScreen:
    app = pilot.app
    await wait_for_sync(pilot, after=0)
    assert row_state(app, "aws", "orders-api") == "conflict"
    await pilot.press("c")
    assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
    return app.screen


async def confirm_and_wait(pilot, screen: ConflictScreen) -> None:
    app = pilot.app
    seen = app.sync_count
    await pilot.press("a")
    await pilot.press("y")
    assert await wait_until(pilot, lambda: app.screen is not screen), "the conflict screen stayed open"
    await wait_for_sync(pilot, after=seen)   # the app re-syncs what it changed


@run_async
async def test_conflict_keep_registry_by_keys_pushes_and_both_sides_agree(home, aws_service, aws_clean):
    make_conflict(aws_service, aws_clean)
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conflicts(pilot)
        assert [(c.function, c.component) for c in screen.conflicts] == [("orders-api", "aws")]
        await pilot.press("r")
        assert screen.decisions[("orders-api", "aws")].choice == "registry"
        await confirm_and_wait(pilot, screen)
        assert row_state(app, "aws", "orders-api") == "in_sync"

    assert lambda_config(aws_clean, "orders-api")["MemorySize"] == 512
    assert aws_service.records()["orders-api"].spec.memory == 512
    assert {s.state for s in aws_service.status(["aws"])} == {State.IN_SYNC}


@run_async
async def test_edits_to_different_fields_merge_in_the_plan_without_a_question(home, aws_service, aws_clean):
    # registry raised memory, someone raised the timeout in the console: both kept, nobody asked
    make_conflict(aws_service, aws_clean, registry={"memory": 512}, component={"Timeout": 120})
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        assert row_state(app, "aws", "orders-api") == "diverged"
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        plan_screen = app.screen
        assert [(a.kind.value, a.fields) for a in plan_screen.plan.actions] == [
            ("pull", ["timeout"]), ("update", ["memory"])]
        seen = app.sync_count
        await pilot.press("a", "y")
        assert await wait_until(pilot, lambda: app.screen is not plan_screen)
        await wait_for_sync(pilot, after=seen)
        assert row_state(app, "aws", "orders-api") == "in_sync"

    config = lambda_config(aws_clean, "orders-api")
    spec = aws_service.records()["orders-api"].spec
    assert (config["MemorySize"], config["Timeout"]) == (512, 120)
    assert (spec.memory, spec.timeout) == (512, 120)


@run_async
async def test_conflict_merged_field_by_field(home, aws_service, aws_clean):
    # memory and timeout changed on both sides, differently: memory from the registry, timeout from aws
    make_conflict(aws_service, aws_clean, registry={"memory": 512, "timeout": 90},
                  component={"MemorySize": 1024, "Timeout": 120})
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conflicts(pilot)
        fields = [d.field for d in screen.current.diffs]
        assert set(fields) == {"memory", "timeout"}
        assert {d.side for d in screen.current.diffs} == {"conflict"}
        table = screen.query_one("#conflict-fields")
        table.move_cursor(row=fields.index("memory"))
        await pilot.press("1")                      # memory from the registry
        assert screen.ready_decisions() == []       # timeout still has no answer: not ready
        table.move_cursor(row=fields.index("timeout"))
        await pilot.press("2")                      # timeout from the component
        decision = screen.decisions[("orders-api", "aws")]
        assert decision.choice == "merge"
        assert decision.fields["memory"] == "registry" and decision.fields["timeout"] == "component"
        await confirm_and_wait(pilot, screen)
        assert row_state(app, "aws", "orders-api") == "in_sync"

    config = lambda_config(aws_clean, "orders-api")
    spec = aws_service.records()["orders-api"].spec
    assert (config["MemorySize"], config["Timeout"]) == (512, 120)
    assert (spec.memory, spec.timeout) == (512, 120)


@run_async
async def test_undo_stack_takes_back_decisions_in_order(home, aws_service, aws_clean):
    make_conflict(aws_service, aws_clean)
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conflicts(pilot)
        key = ("orders-api", "aws")
        await pilot.press("r")
        await pilot.press("c")
        assert screen.decisions[key].choice == "component"
        stack = str(screen.query_one("#undo-stack").render())
        assert "1. orders-api/aws: keep registry" in stack and "2. orders-api/aws: take component" in stack

        await pilot.press("u")
        assert screen.decisions[key].choice == "registry"
        await pilot.press("u")
        assert key not in screen.decisions
        assert "(empty)" in str(screen.query_one("#undo-stack").render())

        await pilot.press("a")                      # nothing decided: nothing to apply
        await pilot.pause()
        assert app.screen is screen

    # nothing was applied: both sides still as the conflict left them
    assert lambda_config(aws_clean, "orders-api")["MemorySize"] == 1024
    assert aws_service.records()["orders-api"].spec.memory == 512


# --- filter ----------------------------------------------------------------------------------------------
@run_async
async def test_filter_narrows_every_panel_and_escape_restores(home, aws_service):
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        registry = app.dashboard.registry_panel.function_list
        aws = app.dashboard.component_panel("aws").function_list
        assert [r.key for r in registry.rows] == ["orders-api", "payments", "thumbnailer"]

        await pilot.press("slash")
        await pilot.press(*"pay")
        assert [r.key for r in registry.rows] == ["payments"]
        assert [r.key for r in aws.rows] == ["payments"]
        assert "filter: 'pay'" in str(app.query_one("#sync-status").render())

        await pilot.press("enter")                  # keep the filter, back to the list
        assert app.focused is registry and [r.key for r in registry.rows] == ["payments"]

        await pilot.press("slash", "escape")        # clear it
        assert [r.key for r in registry.rows] == ["orders-api", "payments", "thumbnailer"]
        assert [r.key for r in aws.rows] == ["orders-api", "payments", "thumbnailer"]


@run_async
async def test_a_qualifier_filters_by_what_the_registry_holds(home, aws_service):
    change_registry(aws_service, "payments", memory=512, labels={"team": "billing"})
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        registry = app.dashboard.registry_panel.function_list
        aws = app.dashboard.component_panel("aws").function_list

        await pilot.press("slash", *"memory:>256")
        assert await wait_until(pilot, lambda: [r.key for r in registry.rows] == ["payments"])
        assert [r.key for r in aws.rows] == ["payments"]

        await pilot.press("space", *"label:team=")   # half typed: the last filter stays, and the line says why
        assert await wait_until(pilot, lambda: "give a label name, and a value" in str(
            app.query_one("#sync-status").render()))
        assert [r.key for r in registry.rows] == ["payments"]
        await pilot.press(*"core")              # memory > 256 and team core: none
        assert await wait_until(pilot, lambda: registry.rows == [] and aws.rows == [])

        await pilot.press(*["backspace"] * len("memory:>256 label:team=core"), *"label:team=core", "space", *"orders")
        assert await wait_until(pilot, lambda: [r.key for r in registry.rows] == ["orders-api"])
        assert "give a label name" not in str(app.query_one("#sync-status").render())


# --- read-only -------------------------------------------------------------------------------------------
@run_async
async def test_read_only_blocks_every_mutation(home, aws_service, aws_clean):
    make_conflict(aws_service, aws_clean)
    change_registry(aws_service, "payments", memory=384)          # a pending push in the plan
    registry_file = aws_service.store.path
    before = registry_file.read_bytes()
    read_only = service_with(home, read_only=True, aws=AwsComponent(role_arn=aws_clean.role_arn))
    app = app_for(read_only, "aws", read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        assert "READ-ONLY" in str(app.query_one("#sync-status").render())

        # plan: the apply key is shown dim (disabled) and does nothing
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        plan_screen = app.screen
        assert plan_screen.check_action("apply_plan", ()) is None
        assert app.screen.active_bindings["a"].enabled is False
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is plan_screen            # no confirmation asked, nothing applied
        await pilot.press("escape")

        # conflicts: every decision key and apply are disabled
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
        screen = app.screen
        for binding in screen.BINDINGS:
            action = binding.action.split("(")[0]
            if action in MUTATING_ACTIONS:
                assert screen.check_action(action, ()) is None, action
        for key in ("r", "c", "1", "2", "space", "x", "u", "enter", "a"):
            await pilot.press(key)
        await pilot.pause()
        assert screen.decisions == {} and screen.undo_stack == []
        assert app.screen is screen

    assert registry_file.read_bytes() == before
    assert lambda_config(aws_clean, "orders-api")["MemorySize"] == 1024
    assert lambda_config(aws_clean, "payments")["MemorySize"] == 256


# --- plan: computed, shown with reasons, applied on confirmation ---------------------------------------------
@run_async
async def test_plan_applies_on_confirmation_only(home, aws_service, aws_clean):
    change_registry(aws_service, "payments", memory=384)          # pending: push the registry's spec
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        assert row_state(app, "aws", "payments") == "pending"
        await pilot.press("p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        plan_screen = app.screen
        [action] = plan_screen.plan.actions
        assert (action.function, action.kind.value) == ("payments", "update") and action.reason

        await pilot.press("a", "n")                               # asked, and declined
        await pilot.pause()
        assert app.screen is plan_screen
        assert lambda_config(aws_clean, "payments")["MemorySize"] == 256

        seen = app.sync_count
        await pilot.press("a", "y")                               # asked, and confirmed
        assert await wait_until(pilot, lambda: app.screen is not plan_screen)
        await wait_for_sync(pilot, after=seen)
        assert row_state(app, "aws", "payments") == "in_sync"
    assert lambda_config(aws_clean, "payments")["MemorySize"] == 384


@run_async
async def test_conflict_view_masks_secrets(home, aws_service, aws_clean):
    # both sides change a secret env value: the diff is shown, the values never are
    make_conflict(aws_service, aws_clean,
                  registry={"env": {"GREETING": "hello", "API_KEY": "registry-secret-1"}},
                  component={"Environment": {"Variables": {"GREETING": "hello", "API_KEY": "console-secret-2"}}})
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conflicts(pilot)
        assert [d.field for d in screen.current.diffs] == ["env.API_KEY"]
        assert all(d.secret for d in screen.current.diffs)
        svg = app.export_screenshot()
        assert "API_KEY" in svg
        for secret in ("registry-secret-1", "console-secret-2", "s3cr3t"):
            assert secret not in svg


# --- functions carrying no mark of ours -----------------------------------------------------------
@run_async
async def test_a_panel_says_how_many_functions_carry_no_mark_and_how_to_import_them(home, aws_service, aws_clean,
                                                                                   tmp_path):
    from tests.provider_clis import aws, zip_file

    for name in ("legacy-cron", "legacy-api"):   # made by hand in the console (awscli here)
        package = zip_file(tmp_path, name, {"main.py": "def main(event, context):\n    return 'old'\n"})
        aws(aws_clean, "lambda", "create-function", "--function-name", name, "--runtime", "python3.11",
            "--handler", "main.main", "--role", aws_clean.role_arn, "--zip-file", f"fileb://{package}")
    app = app_for(aws_service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        panel = app.dashboard.component_panel("aws")
        status = panel.query_one(".panel-status")
        assert "\n2 unmarked · import aws" in str(status.render())
        assert "functions-tui import aws" in str(status.tooltip)
        # they are no rows: nothing here manages them
        assert {r.key for r in panel.function_list.rows} == {"orders-api", "payments", "thumbnailer"}
