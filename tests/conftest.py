"""Shared test setup. Each backend's fixtures live in tests/fixtures/<backend>.py and start
the real thing (dockerd, moto server, the project's GCP emulator) once per session."""

import pytest

from functions_tui.components import load_kinds
from functions_tui.registry import kinds

load_kinds()   # the engine asks the kinds (registry/kinds.py); the app loads them with its config

pytest_plugins = [
    "tests.fixtures.docker_backend",
    "tests.fixtures.aws_backend",
    "tests.fixtures.gcp_backend",
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated config dir (FUNCTIONS_TUI_HOME) so no test touches the user's registry."""
    h = tmp_path / "home"
    monkeypatch.setenv("FUNCTIONS_TUI_HOME", str(h))
    return h


@pytest.fixture
def store(tmp_path):
    """The real registry store on a file in the test's folder (the engine's tests; a module
    may define its own, e.g. test_store.py with a short lock timeout)."""
    from tests.engine_helpers import store_for_tests

    return store_for_tests(tmp_path)


@pytest.fixture
def journal(tmp_path):
    """The operations journal beside it."""
    from functions_tui.registry.journal import Journal

    return Journal(tmp_path / "journal.json")


@pytest.fixture(autouse=True)
def _default_components():
    """Every test starts with the default components (one per kind); a test (or a service
    reading a config.yaml with components:) may name others for its own run."""
    kinds.use_instances(None)
    yield
    kinds.use_instances(None)
