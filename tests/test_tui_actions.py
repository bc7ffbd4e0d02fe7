"""Actions on one function from the dashboard (issue 11, point 3), against the real backends:
the actions menu (x), the direct keys (d D r e), the command palette, read-only refusals.

Each action goes through the plan screen and its confirmation like a sync; what it did is
checked with the providers' own command lines (tests/provider_clis.py), never the app's state.
"""

from __future__ import annotations

import json
import sys

import pytest

from functions_tui.components.aws import AwsComponent
from functions_tui.registry.models import FunctionSpec, digest_source
from functions_tui.screens.confirm import ConfirmScreen
from functions_tui.screens.function_actions import FunctionActionsScreen
from functions_tui.screens.plan_screen import PlanScreen
from tests.provider_clis import aws, docker
from tests.tui_helpers import app_for, deploy_all, register, run_async, service_with, wait_for_sync, wait_until

SIZE = (140, 44)


class Notes:
    """Every notification the app shows (title and message), for the tests to search."""

    def __init__(self, app) -> None:
        self.texts: list[str] = []
        notify = app.notify

        def recording(message, *args, **kwargs):
            self.texts.append(f"{kwargs.get('title', '')} {message}")
            return notify(message, *args, **kwargs)
        app.notify = recording

    def has(self, text: str) -> bool:
        return any(text in t for t in self.texts)


def cursor_on(app, panel: str, name: str) -> None:
    lst = app.dashboard.registry_panel.function_list if panel == "registry" \
        else app.dashboard.component_panel(panel).function_list
    lst.focus()
    assert lst.move_to(name), f"{name} is not in the {panel} panel: {[r.key for r in lst.rows]}"


async def open_actions(pilot, panel: str, name: str) -> FunctionActionsScreen:
    cursor_on(pilot.app, panel, name)
    await pilot.press("x")
    assert await wait_until(pilot, lambda: isinstance(pilot.app.screen, FunctionActionsScreen))
    return pilot.app.screen


async def choose(pilot, screen: FunctionActionsScreen, label: str) -> None:
    from textual.widgets import OptionList

    labels = [a.label for a in screen.actions]
    assert label in labels, labels
    screen.query_one(OptionList).highlighted = labels.index(label)
    await pilot.press("enter")


async def planned(pilot) -> PlanScreen:
    app = pilot.app
    assert await wait_until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None), \
        f"no plan shown (activity: {app.dashboard.activity.entries[-5:]})"
    return app.screen


async def apply_shown_plan(pilot) -> None:
    """a, then y on the confirmation (a delete asked for by name starts with its rows chosen);
    returns once the plan screen closed and the sync it starts (for what it touched) finished."""
    app = pilot.app
    screen = app.screen
    seen = app.sync_count
    await pilot.press("a")
    assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")
    assert await wait_until(pilot, lambda: not screen.is_attached), \
        f"the plan was not applied (activity: {app.dashboard.activity.entries[-5:]})"
    await wait_for_sync(pilot, after=seen)


def rows(plan) -> list[tuple[str, str, str]]:
    return [(a.function, a.component, a.kind.value) for a in plan.actions]


# --- AWS (moto server) ----------------------------------------------------------------------------
def aws_spec(name: str, **fields) -> FunctionSpec:
    values = dict(name=name, runtime="python3.12", entry_point="main.main", memory=256, timeout=30,
                  env={"GREETING": "hello"}, targets={"aws": {}})
    values.update(fields)
    return FunctionSpec(**values)


def lambda_names(backend) -> list[str]:
    return sorted(f["FunctionName"] for f in aws(backend, "lambda", "list-functions")["Functions"])


@pytest.fixture
def lambda_service(home, aws_clean):
    return service_with(home, aws=AwsComponent(role_arn=aws_clean.role_arn))


@run_async
async def test_deploy_from_the_registry_panel_to_a_component_it_does_not_target(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("hello", targets={}), aws_spec("other", targets={}))
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        screen = await open_actions(pilot, "registry", "hello")
        await choose(pilot, screen, "deploy to aws (not a target yet)")
        plan_screen = await planned(pilot)
        assert rows(plan_screen.plan) == [("hello", "aws", "create")]

        # looking at the plan changes nothing: esc leaves the registry and Lambda as they were
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: not plan_screen.is_attached)
        assert "aws" not in service.record("hello").spec.targets
        assert lambda_names(aws_clean) == []

        screen = await open_actions(pilot, "registry", "hello")
        await choose(pilot, screen, "deploy to aws (not a target yet)")
        await planned(pilot)
        await apply_shown_plan(pilot)
        assert lambda_names(aws_clean) == ["hello"]           # that one function only
        assert "aws" in service.record("hello").spec.targets  # a target now: later syncs watch it
        assert "aws" not in service.record("other").spec.targets


@run_async
async def test_sync_one_function_plans_only_that_function(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("hello"), aws_spec("other"))
    deploy_all(service, "aws")
    for name in ("hello", "other"):   # a colleague changes both on the console
        aws(aws_clean, "lambda", "update-function-configuration", "--function-name", name, "--memory-size", "512")
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        screen = await open_actions(pilot, "aws", "hello")
        await choose(pilot, screen, "sync hello on aws")
        plan_screen = await planned(pilot)
        assert [(f, c) for f, c, _ in rows(plan_screen.plan)] == [("hello", "aws")]
        assert {a.function for a in service.plan(["aws"]).actions} == {"hello", "other"}


@run_async
async def test_delete_from_a_component_removes_it_there_and_stops_targeting_it(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("hello"), aws_spec("other"))
    deploy_all(service, "aws")
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        cursor_on(app, "aws", "hello")
        await pilot.press("D")
        plan_screen = await planned(pilot)
        assert sorted(rows(plan_screen.plan)) == [("hello", "aws", "delete"), ("hello", "aws", "prune")]
        assert len(plan_screen.selected) == 2   # asked for by name: the destructive rows start chosen
        await apply_shown_plan(pilot)
        assert lambda_names(aws_clean) == ["other"]
        record = service.record("hello")     # the entry stays, no longer on or for aws
        assert "aws" not in record.spec.targets and "aws" not in record.components


@run_async
async def test_adopt_a_marked_function_the_registry_does_not_know(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("stray"))
    deploy_all(service, "aws")
    with service.store.transaction("user") as txn:   # the entry is lost; the Lambda keeps our mark
        txn.remove("stray", action="delete")
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        screen = await open_actions(pilot, "aws", "stray")
        labels = [a.label for a in screen.actions]
        assert "adopt from aws" in labels and "deploy to aws" not in labels
        await choose(pilot, screen, "adopt from aws")
        plan_screen = await planned(pilot)
        assert rows(plan_screen.plan) == [("stray", "aws", "adopt")]
        await apply_shown_plan(pilot)
        assert service.record("stray").spec.memory == 256
        assert "aws" in service.record("stray").spec.targets


@run_async
async def test_a_refused_action_says_why(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("hello"))
    deploy_all(service, "aws")
    aws(aws_clean, "lambda", "tag-resource", "--resource",
        aws(aws_clean, "lambda", "get-function", "--function-name", "hello")["Configuration"]["FunctionArn"],
        "--tags", "functions-tui.registry=someone-else")
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await wait_for_sync(pilot, after=0)
        app.run_function_action("delete", "hello", ("aws",))   # as the palette would
        assert await wait_until(pilot, lambda: notes.has("delete hello"))
        assert not isinstance(app.screen, PlanScreen)
        assert lambda_names(aws_clean) == ["hello"]


@run_async
async def test_palette_offers_actions_on_one_function(lambda_service, aws_clean):
    service = lambda_service
    register(service, aws_spec("hello", targets={}))
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        await pilot.press("ctrl+p")
        await pilot.press(*"deploy hello to aws")
        from textual.command import CommandList

        def offered() -> list[str]:
            try:
                options = app.screen.query_one(CommandList)
            except Exception:
                return []
            return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert await wait_until(pilot, lambda: any("Deploy hello to aws" in o for o in offered())), offered()
        options = app.screen.query_one(CommandList)
        options.highlighted = next(i for i, o in enumerate(offered()) if "Deploy hello to aws" in o)
        await pilot.press("enter")
        plan_screen = await planned(pilot)
        assert rows(plan_screen.plan) == [("hello", "aws", "create")]


@run_async
async def test_read_only_refuses_every_mutating_action_visibly(home, aws_clean):
    writer = service_with(home, aws=AwsComponent(role_arn=aws_clean.role_arn))
    register(writer, aws_spec("hello"))
    deploy_all(writer, "aws")
    service = service_with(home, read_only=True, aws=AwsComponent(role_arn=aws_clean.role_arn))
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await wait_for_sync(pilot, after=0)
        cursor_on(app, "aws", "hello")
        for key in ("d", "D", "r", "e"):
            await pilot.press(key)
            assert await wait_until(pilot, lambda: notes.has("read-only")), key
            notes.texts.clear()
        screen = await open_actions(pilot, "aws", "hello")
        await choose(pilot, screen, "delete from aws")
        assert await wait_until(pilot, lambda: notes.has("read-only: delete is disabled"))
        assert not isinstance(app.screen, PlanScreen)
    assert lambda_names(aws_clean) == ["hello"]


# --- editing the declaration ------------------------------------------------------------------
DECLARATION = """\
name: greeter
runtime: python3.12
entry_point: main.main
memory: 128
timeout: 30
targets:
  aws: {}
"""


def editor_script(tmp_path, body: str) -> str:
    """An $EDITOR that edits the file it is given without a terminal (the tests' person)."""
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\npath = sys.argv[1]\n{body}\n")
    return f"{sys.executable} {script}"


@run_async
async def test_edit_opens_the_declaration_and_registers_the_change(tmp_path, home, lambda_service, monkeypatch):
    folder = tmp_path / "src" / "greeter"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("def main(event, context):\n    return 'hi'\n")
    (folder / "function.yaml").write_text(DECLARATION)
    service = lambda_service
    service.add(folder)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor_script(
        tmp_path, "text = open(path).read()\nopen(path, 'w').write(text.replace('memory: 128', 'memory: 512'))"))
    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        notes = Notes(app)
        await wait_for_sync(pilot, after=0)
        cursor_on(app, "registry", "greeter")
        seen = app.sync_count
        await pilot.press("e")
        assert await wait_until(pilot, lambda: any("read again: greeter" in e for e in app.dashboard.activity.entries)), \
            (app.dashboard.activity.entries[-5:], notes.texts)
        assert service.record("greeter").spec.memory == 512
        await wait_for_sync(pilot, after=seen)   # and the dashboard syncs to show it (pending)

        monkeypatch.delenv("EDITOR")
        await pilot.press("e")
        assert await wait_until(pilot, lambda: notes.has("$VISUAL and $EDITOR are unset"))


# --- Docker (a private dockerd) ----------------------------------------------------------------
def container_status(backend, name: str) -> str:
    """The container's status as `docker ps -a` shows it ("" when there is none)."""
    from functions_tui.components.docker import container_name

    out = docker(backend, "ps", "-a", "--filter", f"name=^/{container_name(name)}$", "--format", "{{json .}}")
    return json.loads(out)["State"] if out else ""


@pytest.mark.docker
@run_async
async def test_docker_deploy_stop_run_delete_one_function(request, home, docker_clean):
    from functions_tui.components.docker import DockerComponent

    adapter = DockerComponent(base_url=docker_clean.host)
    request.addfinalizer(adapter.close)
    service = service_with(home, docker=adapter)
    specs = []
    for name in ("hello", "other"):
        source = home.parent / name
        source.mkdir()
        (source / "main.py").write_text("def main(request):\n    return 'hello'\n")
        specs.append(FunctionSpec(name=name, runtime="python312", entry_point="main", source=str(source),
                                  memory=128, timeout=30, targets={"docker": {"port": 8080}},
                                  code_digest=digest_source(source)))
    register(service, *specs)
    app = app_for(service, "docker")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_sync(pilot, after=0)
        screen = await open_actions(pilot, "docker", "hello")
        await choose(pilot, screen, "deploy to docker")
        plan_screen = await planned(pilot)
        assert rows(plan_screen.plan) == [("hello", "docker", "create")]   # not `other`
        await apply_shown_plan(pilot)
        assert container_status(docker_clean, "hello") == "running"
        assert container_status(docker_clean, "other") == ""

        for key, expected in (("r", "exited"), ("r", "running")):   # stop, then run again
            cursor_on(app, "docker", "hello")
            seen = app.sync_count
            await pilot.press(key)
            assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_for_sync(pilot, after=seen)
            assert container_status(docker_clean, "hello") == expected

        cursor_on(app, "docker", "hello")
        await pilot.press("D")
        plan_screen = await planned(pilot)
        assert sorted(rows(plan_screen.plan)) == [("hello", "docker", "delete"), ("hello", "docker", "prune")]
        await apply_shown_plan(pilot)
        assert container_status(docker_clean, "hello") == ""
        assert "docker" not in service.record("hello").spec.targets
