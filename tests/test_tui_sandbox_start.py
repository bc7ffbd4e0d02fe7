"""`functions-tui --sandbox` opens at once: the panels show their backend starting, and each
fills in when its component is deployed (the real Sandbox, on the test session's dockerd)."""

from __future__ import annotations

import threading

from functions_tui.app.sandbox import Sandbox
from functions_tui.app.tui import FunctionsApp
from tests.tui_helpers import row_state, run_async, wait_until


@run_async
async def test_the_app_is_on_screen_before_the_backends_and_fills_in_per_component(tmp_path, docker_clean,
                                                                                   monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_clean.host)
    screen_checked = threading.Event()
    docker_may_build = threading.Event()
    with Sandbox(tmp_path / "sandbox", start_on_enter=False) as sandbox:
        sandbox.export_home()

        class HeldDockerBuild:
            """The sandbox's events, holding Docker's image build until the test has looked."""

            def __init__(self, events):
                self.events = events

            def progress(self, component, text):
                self.events.progress(component, text)
                if component == "docker" and text.startswith("building"):
                    docker_may_build.wait()

            def environment_ready(self):
                self.events.environment_ready()

            def component_ready(self, component):
                self.events.component_ready(component)

        def prepare(events):
            screen_checked.wait()   # the test has seen the first screen, with nothing started yet
            sandbox.prepare(HeldDockerBuild(events))

        app = FunctionsApp(preparer=prepare)
        try:
            await _watch_the_start(app, sandbox, screen_checked, docker_may_build)
        finally:   # a failed check must not leave the sandbox's thread parked for good
            screen_checked.set()
            docker_may_build.set()


async def _watch_the_start(app, sandbox, screen_checked, docker_may_build) -> None:
    """The checks, on screen; the caller releases the sandbox's thread however they end."""
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        # On screen with no service and no backend: the keys that need one are disabled.
        assert app.service is None and sandbox.backends == {}
        assert "sandbox is starting" in app.dashboard.registry_panel.function_list.empty_text
        assert app.check_action("sync_all", ()) is None
        screen_checked.set()

        def docker_status() -> str:
            return str(app.dashboard.component_panel("docker").query_one(".panel-status").render())

        # aws and gcp are usable while docker's images are still to be built
        assert await wait_until(pilot, lambda: {"aws", "gcp"} <= app._ready_components
                                and "building" in docker_status() and app.sync_count >= 2
                                and not app.syncing, rounds=6000), app.dashboard.activity.entries[-8:]
        assert "docker" not in app._ready_components
        assert row_state(app, "aws", "greeter") == "conflict"
        assert row_state(app, "aws", "reports") == "missing"
        assert row_state(app, "gcp", "greeter") == "diverged"
        assert len(app.dashboard.registry_panel.function_list.rows) == 4
        docker_may_build.set()
        assert await wait_until(pilot, lambda: "docker" in app._ready_components and app.sync_count >= 3
                                and not app.syncing, rounds=6000), app.dashboard.activity.entries[-8:]
        assert row_state(app, "docker", "hello") == "drifted"
        assert any("starting moto" in e for e in app.dashboard.activity.entries)


def test_the_sandboxs_app_knows_its_components_before_any_config_is_read(tmp_path):
    """`functions-tui --sandbox` builds the app before a service (and its config.yaml) exists:
    in a fresh interpreter, as the command does, the panels are the default components'. (It
    once failed there with "no component kinds are registered", while this process, which
    had loaded them, passed.)"""
    import subprocess
    import sys

    code = ("from functions_tui.app.tui import FunctionsApp\n"
            "print(FunctionsApp(preparer=lambda events: None).components)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"FUNCTIONS_TUI_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['docker', 'gcp', 'aws']"
