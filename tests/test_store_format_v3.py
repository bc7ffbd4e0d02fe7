"""A registry written by the version before the store went through TinyDB's API (schema 3,
tests/data/registry_v3: written by that code, with its key and generations) opens without
loss: the same records, history and generations as that version read from it (recorded
in tests/data/registry_v3.expected.json), and stays so across a write and a restore."""

import json
import shutil
from pathlib import Path

import pytest

from functions_tui.registry.store import RegistryStore

DATA = Path(__file__).parent / "data"


@pytest.fixture
def old_registry(tmp_path):
    folder = tmp_path / "reg"
    shutil.copytree(DATA / "registry_v3", folder)
    return folder / "registry.json"


def _expected():
    return json.loads((DATA / "registry_v3.expected.json").read_text())


def _history(store):
    return [json.loads(json.dumps(e.__dict__, default=str)) for e in store.history()]


def test_old_registry_reads_the_same(old_registry):
    expected = _expected()
    store = RegistryStore(old_registry)
    snap = store.load()
    assert (snap.serial, snap.lineage) == (expected["serial"], expected["lineage"])
    assert {n: snap.functions[n].to_dict() for n in snap.functions} == expected["functions"]
    assert _history(store) == expected["history"]
    assert [g.serial for g in store.generations()] == expected["generations"]


def test_old_registry_keeps_everything_across_a_write(old_registry):
    expected = _expected()
    store = RegistryStore(old_registry)
    with store.transaction("user") as txn:
        record = txn.get("fn-0")
        record.spec.memory = 256
        txn.put(record)
    snap = store.load()
    assert snap.serial == expected["serial"] + 1 and snap.lineage == expected["lineage"]
    functions = {n: snap.functions[n].to_dict() for n in snap.functions}
    assert functions["fn-0"]["spec"]["memory"] == 256
    functions["fn-0"]["spec"]["memory"] = 128
    assert functions == expected["functions"]
    history = _history(store)
    assert history[0]["function"] == "fn-0" and history[0]["action"] == "update"
    assert history[0]["before"]["spec"]["memory"] == 128 and history[0]["after"]["spec"]["memory"] == 256
    assert history[1:] == expected["history"]
    # The file it replaced is the newest generation, and restoring it gives the old registry back.
    assert store.generations()[0].serial == expected["serial"]
    store.restore()
    snap = store.load()
    assert {n: snap.functions[n].to_dict() for n in snap.functions} == expected["functions"]
