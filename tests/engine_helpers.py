"""Small builders for the engine's tests: specs, records synced to a component, observations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from tests.memory_component import MemoryComponent

DEFAULT_TARGETS = {"docker": {"port": 8080}, "gcp": {"region": "europe-west1"}, "aws": {"region": "eu-west-1"}}


def make_spec(name: str, components: Iterable[str] = ("gcp",), **fields: Any) -> FunctionSpec:
    fields.setdefault("runtime", "python3.12")
    fields.setdefault("env", {"LOG_LEVEL": "info", "API_KEY": "s3cret"})
    fields.setdefault("labels", {"team": "core"})
    targets = {c: dict(DEFAULT_TARGETS.get(c, {})) for c in components}
    return FunctionSpec(name=name, targets=targets, **fields)


def deployed(spec: FunctionSpec, *components: MemoryComponent) -> FunctionRecord:
    """A record for ``spec`` plus each component holding exactly it, base recorded: in sync."""
    record = FunctionRecord(spec=spec)
    for component in components:
        item = component.create(spec)
        record.components[component.name] = ComponentRecord(
            component.name, base=item.fingerprint(),
            resource_id=item.resource_id, last_sync="2026-01-01T00:00:00+00:00")
    for component in components:
        component.calls.clear()
    return record


def observe_all(*components: MemoryComponent) -> dict:
    return {c.name: c.observe() for c in components}


# --- the registry store for the engine's tests ---------------------------------------------------

def store_for_tests(tmp_path):
    """The real RegistryStore on a file in ``tmp_path``."""
    from functions_tui.registry.store import RegistryStore

    return RegistryStore(Path(tmp_path) / "registry.json")


def seed(store, *records: FunctionRecord) -> int:
    """Write records as the user would; returns the serial to plan against."""
    with store.transaction("user") as txn:
        for record in records:
            txn.put(record, action="create")
    return store.load().serial
