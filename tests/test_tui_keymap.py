"""Every key has a binding id, and config.yaml's ``keymap:`` remaps keys by id (posting's way)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from textual.binding import Binding
from textual.dom import DOMNode

from functions_tui import screens
from functions_tui.app.config import parse_config
from functions_tui.app.tui import FunctionsApp, known_binding_ids
from functions_tui.app.tui_sample import fixed_clock, sample_service
from functions_tui.app.yaml_nodes import SchemaError
from tests.tui_helpers import run_async, wait_until


def _binding_owners() -> list[type]:
    """The app and every screen or widget class of screens/ that declares its own BINDINGS."""
    owners: list[type] = [FunctionsApp]
    for module_info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"functions_tui.screens.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__ and "BINDINGS" in vars(cls):
                owners.append(cls)
    return owners


def test_every_binding_has_an_id_unique_in_its_class_and_known_to_the_keymap():
    owners = _binding_owners()
    assert len(owners) >= 8
    known = known_binding_ids()
    for owner in owners:
        bindings = [b for b in vars(owner)["BINDINGS"] if isinstance(b, Binding)]
        missing = [b.key for b in bindings if not b.id]
        assert not missing, f"{owner.__name__}: bindings without an id: {missing}"
        ids = [b.id for b in bindings]
        assert len(ids) == len(set(ids)), f"{owner.__name__}: an id used twice: {ids}"
        assert set(ids) <= known, f"{owner.__name__}: ids the keymap cannot name: {set(ids) - known}"


def _service_with_keymap(tmp_path, keymap_yaml: str):
    path = tmp_path / "config.yaml"
    path.write_text(f"keymap:\n{keymap_yaml}")
    service = sample_service()
    service.config = parse_config(path)
    return service


@run_async
async def test_a_remapped_key_runs_its_action_and_the_old_key_no_longer_does(tmp_path):
    service = _service_with_keymap(tmp_path, "  dashboard.sync_all: ctrl+y\n")
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        calls: list[str] = []
        app.action_sync_all = lambda: calls.append("sync_all")
        await pilot.press("S")
        await pilot.pause()
        assert calls == []                 # S was the default key; the keymap replaced it
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert calls == ["sync_all"]


@run_async
async def test_an_unknown_binding_id_is_reported_naming_the_file_and_the_id(tmp_path):
    service = _service_with_keymap(tmp_path, "  dashboard.sync_everything: ctrl+y\n")
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await wait_until(pilot, lambda: app.loaded)
        messages = [n.message for n in app._notifications]
        assert any("config.yaml" in m and "dashboard.sync_everything" in m and "dashboard.sync_all" in m
                   for m in messages), messages


def test_a_keymap_that_is_not_a_mapping_of_keys_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("keymap:\n  - ctrl+s\n")
    with pytest.raises(SchemaError) as err:
        parse_config(path)
    assert "config.yaml" in str(err.value) and "keymap" in str(err.value) and ":2" in str(err.value)
