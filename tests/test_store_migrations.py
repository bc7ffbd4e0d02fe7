"""Schema versions: a v0 file is migrated on read and saved as v1 by the next write (its v0
form kept as .bak); a newer file is refused; the migration hook runs custom steps."""

from __future__ import annotations

import orjson
import pytest

from functions_tui.registry.migrations import MIGRATIONS, SCHEMA_VERSION
from functions_tui.registry.store import RegistryError, RegistryStore

V0_FILE = {
    "meta": {"1": {"schema": 0, "serial": 7, "lineage": "0f1e2d3c-0000-4000-8000-000000000000"}},
    "functions": {
        "1": {
            "spec": {"name": "resize", "runtime": "python3.12", "memory": 512},
            "bases": {"docker": {"memory": 512, "state": "running"}, "aws": None},
            "resource_ids": {"docker": "c0ffee", "aws": "arn:aws:lambda:eu-west-1:1:function:resize"},
        },
        "2": {"spec": {"name": "thumbs", "runtime": "nodejs20"}},
    },
}


@pytest.fixture
def v0_store(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    store.path.write_bytes(orjson.dumps(V0_FILE))
    return store


def test_v0_file_is_migrated_on_read(v0_store):
    snapshot = v0_store.load()
    assert snapshot.migrated_from == 0 and snapshot.schema == SCHEMA_VERSION == 3
    assert (snapshot.serial, snapshot.lineage) == (7, V0_FILE["meta"]["1"]["lineage"])
    resize = snapshot.functions["resize"]
    assert resize.spec.memory == 512
    assert resize.components["docker"].base == {"memory": 512, "state": "running"}
    assert resize.components["docker"].resource_id == "c0ffee"
    assert resize.components["aws"].base is None  # known there, never synced
    assert snapshot.functions["thumbs"].components == {}
    assert orjson.loads(v0_store.path.read_bytes()) == V0_FILE  # reading never writes


def test_next_write_saves_the_current_schema_and_keeps_v0_as_backup(v0_store):
    with v0_store.transaction("user", expected_serial=7):
        pass  # even with no change, the migrated form is saved
    saved = orjson.loads(v0_store.path.read_bytes())
    assert saved["meta"]["1"]["schema"] == SCHEMA_VERSION and saved["meta"]["1"]["serial"] == 8
    assert saved["meta"]["1"]["lineage"] == V0_FILE["meta"]["1"]["lineage"]
    assert saved["functions"]["1"]["components"]["docker"]["resource_id"] == "c0ffee"
    assert "history" in saved
    assert orjson.loads(v0_store.backup_path.read_bytes()) == V0_FILE
    assert v0_store.load().migrated_from is None


def test_a_newer_schema_is_refused_untouched(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    newer = dict(V0_FILE, meta={"1": {"schema": 99, "serial": 1, "lineage": "x"}})
    store.path.write_bytes(orjson.dumps(newer))
    with pytest.raises(RegistryError, match="schema 99, newer than this functions-tui"):
        store.load()
    with pytest.raises(RegistryError):
        with store.transaction("user"):
            pass
    assert orjson.loads(store.path.read_bytes()) == newer


def test_migration_hook_runs_custom_steps_in_order(tmp_path):
    calls = []

    def add_owner(tables):
        calls.append("current->next")
        for doc in tables["functions"].values():
            doc["spec"].setdefault("labels", {})["owner"] = "platform"
        return tables

    steps = dict(MIGRATIONS)
    steps[SCHEMA_VERSION] = add_owner
    current = RegistryStore(tmp_path / "registry.json")
    with current.transaction("user") as txn:
        from functions_tui.registry.models import FunctionRecord, FunctionSpec
        txn.put(FunctionRecord(spec=FunctionSpec(name="f", runtime="go1.22")))

    upgraded = RegistryStore(current.path, migrations=steps, schema_version=SCHEMA_VERSION + 1)
    assert upgraded.load().functions["f"].spec.labels == {"owner": "platform"}
    assert calls == ["current->next"]
    with upgraded.transaction("user"):
        pass
    assert orjson.loads(current.path.read_bytes())["meta"]["1"]["schema"] == SCHEMA_VERSION + 1
    with pytest.raises(RegistryError, match="newer"):
        current.load()  # the old code refuses the file it cannot understand


def test_a_failing_migration_leaves_the_file_alone(tmp_path):
    def broken(tables):
        raise KeyError("boom")

    store = RegistryStore(tmp_path / "registry.json", migrations={0: broken})
    store.path.write_bytes(orjson.dumps(V0_FILE))
    with pytest.raises(RegistryError, match="migrating schema 0 to 1 failed"):
        store.load()
    assert orjson.loads(store.path.read_bytes()) == V0_FILE
