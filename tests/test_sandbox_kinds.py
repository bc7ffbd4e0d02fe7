"""``functions-tui --sandbox`` starts what the kinds declare (``Kind.sandbox``), never a list of
names: with the real kinds set aside and the example kind registered through its fixture, the
sandbox starts the example store's backend and nothing else, and a kind without a backend is
simply not one of its components. The real kinds' path (an optional backend left out) runs on
the real moto and emulator."""

from __future__ import annotations

import dataclasses
import os

import pytest

from functions_tui.app.sandbox import Sandbox
from functions_tui.app.sandbox_seed import SEED_FUNCTIONS
from functions_tui.app.service import SyncService
from functions_tui.registry import kinds
from tests import kind_example


@pytest.fixture
def only_test_kinds():
    """The registered kinds are the example store and a copy of it without a sandbox backend;
    the real kinds are set aside (and registered again, in their order, afterwards)."""
    real = kinds.kinds()
    for name in real:
        kinds.unregister(name)
    shelfless = dataclasses.replace(kind_example.KIND, name="shelfless", title="Shelfless store", sandbox=None)
    kinds.register(kind_example.KIND)
    kinds.register(shelfless)
    kind_example.PLACES.clear()
    try:
        yield
    finally:
        kinds.unregister(kind_example.KIND.name)
        kinds.unregister(shelfless.name)
        for kind in real.values():
            kinds.register(kind)
        kind_example.PLACES.clear()


class Recorded:
    """The sandbox's events, as the app's panels would receive them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def progress(self, component: str, text: str) -> None:
        self.seen.append(("progress", component, text))

    def environment_ready(self) -> None:
        self.seen.append(("environment_ready",))

    def component_ready(self, component: str) -> None:
        self.seen.append(("component_ready", component))


def test_the_sandbox_starts_the_backend_its_kind_declares_and_leaves_out_a_kind_without_one(
        tmp_path, only_test_kinds, monkeypatch):
    monkeypatch.delenv(kind_example.SHELF_ENV, raising=False)
    shelf = tmp_path / "sandbox" / "backends" / "example"
    events = Recorded()
    with Sandbox(tmp_path / "sandbox", start_on_enter=False) as sandbox:
        sandbox.export_home()
        # The app is built before config.yaml exists: its panels are the sandbox's components.
        assert kinds.component_names() == ("example",)
        sandbox.prepare(events)

        assert list(sandbox.backends) == ["example"]
        assert (shelf / "shelf").exists()                               # started, in its own folder
        assert os.environ[kind_example.SHELF_ENV] == str(shelf)        # and the app pointed at it
        assert events.seen == [("progress", "example", "starting the example store…"),
                               ("environment_ready",),
                               ("progress", "example", "deploying 0 functions…"),
                               ("component_ready", "example")]
        service = SyncService(sandbox.home)
        assert service.component_names() == ["example"]                # shelfless is absent
        assert service.config.instance("example").settings == {"shelf": "sandbox"}   # the backend's
        # The sample functions target only the default kinds: registered, deployed nowhere here.
        assert sorted(service.records()) == sorted(SEED_FUNCTIONS)
        assert all(not r.spec.targets for r in service.records().values())
    assert not shelf.exists()                                           # stopped with the sandbox
    assert kind_example.SHELF_ENV not in os.environ
    assert not (tmp_path / "sandbox" / "backends" / "shelfless").exists()


def test_an_optional_backend_left_out_shows_its_kind_unavailable_and_the_others_start(tmp_path):
    with pytest.raises(ValueError, match="only an optional sandbox backend can be left out, not 'gcp'"):
        Sandbox(tmp_path / "refused", leave_out=("gcp",))
    with Sandbox(tmp_path / "sandbox", leave_out=("docker",), seed=False) as sandbox:
        assert list(sandbox.backends) == ["gcp", "aws", "docker"]      # required first, optional last
        assert sandbox.backends["docker"].reason == "docker left out of this sandbox"
        sandbox.export_env()
        detections = SyncService(sandbox.home).detections(refresh=True)
        assert {c: d.available for c, d in detections.items()} == {"docker": False, "gcp": True, "aws": True}
        assert "no-docker.sock" in detections["docker"].reason
