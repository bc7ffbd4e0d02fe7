"""Small builders for the engine's tests: specs, records synced to a component, observations."""

from __future__ import annotations

from typing import Any, Iterable

from registry.fingerprint import normalize, spec_fingerprint
from registry.models import ComponentRecord, FunctionRecord, FunctionSpec
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
            component.name, base=normalize(item.values) if not item.env_hashed else item.fingerprint(),
            resource_id=item.resource_id, last_sync="2026-01-01T00:00:00+00:00")
    for component in components:
        component.calls.clear()
    return record


def base_of(spec: FunctionSpec, component: str) -> dict:
    return spec_fingerprint(spec, component)


def observe_all(*components: MemoryComponent) -> dict:
    return {c.name: c.observe() for c in components}


# --- a registry store for the engine's tests ---------------------------------------------------

class MemoryStore:
    """The RegistryStore transaction API over a dict (no file): a stand-in for the real store
    while it was being written in parallel; ``store_for_tests`` prefers the real one."""

    def __init__(self, path) -> None:
        from pathlib import Path
        self.path = Path(path)
        self.records: dict[str, FunctionRecord] = {}
        self.serial = 0
        self.entries: list[dict] = []

    def load(self):
        import copy
        from types import SimpleNamespace
        return SimpleNamespace(path=self.path, serial=self.serial, lineage="memory", schema=1,
                               functions=copy.deepcopy(self.records))

    def transaction(self, source: str, *, expected_serial=None, expected_lineage=None):
        import contextlib
        import copy

        from registry.store import StaleWriteError

        store = self

        class _Txn:
            def __init__(self) -> None:
                self._data = copy.deepcopy(store.records)
                self.changed = False
                self.serial = store.serial
                self.lineage = "memory"

            def get(self, name):
                return copy.deepcopy(self._data.get(name))

            def names(self):
                return sorted(self._data)

            def records(self):
                return [copy.deepcopy(r) for r in self._data.values()]

            def put(self, record, *, action="update", component=""):
                before = self._data.get(record.name)
                store.entries.append({"function": record.name, "action": action, "source": source,
                                      "component": component, "before": before and before.to_dict(),
                                      "after": record.to_dict()})
                self._data[record.name] = copy.deepcopy(record)
                self.changed = True

            def remove(self, name, *, action="delete", component=""):
                before = self._data.pop(name, None)
                store.entries.append({"function": name, "action": action, "source": source,
                                      "component": component, "before": before and before.to_dict(),
                                      "after": None})
                self.changed = True
                return before is not None

        @contextlib.contextmanager
        def run():
            if expected_serial is not None and expected_serial != store.serial:
                raise StaleWriteError(f"registry changed since serial {expected_serial} (now {store.serial})")
            txn = _Txn()
            mark = len(store.entries)
            try:
                yield txn
            except BaseException:
                del store.entries[mark:]
                raise
            if txn.changed:
                store.records = txn._data
                store.serial += 1

        return run()

    def history(self, name=None, limit=None):
        from types import SimpleNamespace
        out = [SimpleNamespace(**e) for e in reversed(self.entries) if name is None or e["function"] == name]
        return out[:limit] if limit else out


def store_for_tests(tmp_path):
    """The real RegistryStore on a tmp file when it is implemented, else MemoryStore."""
    from registry.store import RegistryStore
    store = RegistryStore(tmp_path / "registry.json")
    try:
        with store.transaction("user"):
            pass
    except NotImplementedError:
        return MemoryStore(tmp_path / "registry.json")
    return store


def seed(store, *records: FunctionRecord) -> int:
    """Write records as the user would; returns the serial to plan against."""
    with store.transaction("user") as txn:
        for record in records:
            txn.put(record, action="create")
    return store.load().serial
