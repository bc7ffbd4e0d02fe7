"""RegistryStore basics: transactions, serial/lineage, one write per transaction, history,
backup/restore, permissions, the lazy snapshot and TinyDB compatibility."""

from __future__ import annotations

import os
import stat

import orjson
import pytest
from tinydb import Query, TinyDB

import functions_tui.registry.storage as storage_module
import functions_tui.registry.store as store_module
from bench.registry import make_record
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.storage import AtomicJSONStorage
from functions_tui.registry.store import (
    SCHEMA_VERSION,
    CorruptRegistryError,
    RegistryError,
    RegistryStore,
    StaleWriteError,
)


def record(name: str, memory: int = 256, **env: str) -> FunctionRecord:
    return FunctionRecord(spec=FunctionSpec(name=name, runtime="python3.12", memory=memory, env=dict(env)))


@pytest.fixture
def store(tmp_path):
    return RegistryStore(tmp_path / "cfg" / "registry.json", lock_timeout=5)


@pytest.fixture
def writes(monkeypatch):
    """Counts file writes made by the store (each is one atomic replace of the registry)."""
    calls = []
    real = storage_module.write_atomic

    def counting(path, payload, **kw):
        calls.append(path)
        return real(path, payload, **kw)

    monkeypatch.setattr(storage_module, "write_atomic", counting)
    return calls


def test_missing_file_is_a_new_empty_registry(store):
    snapshot = store.load()
    assert not store.exists()
    assert (snapshot.serial, snapshot.lineage, snapshot.schema) == (0, "", SCHEMA_VERSION)
    assert len(snapshot.functions) == 0
    assert store.history() == []


def test_first_write_creates_registry_with_serial_lineage_and_schema(store):
    with store.transaction("user") as txn:
        assert txn.serial == 0
        txn.put(record("hello"))
    snapshot = store.load()
    assert snapshot.serial == 1 == txn.new_serial
    assert len(snapshot.lineage) == 36  # a uuid, fixed for the registry's life
    raw = orjson.loads(store.path.read_bytes())
    assert raw["meta"]["1"]["schema"] == SCHEMA_VERSION
    assert snapshot.functions["hello"].spec.runtime == "python3.12"

    with store.transaction("sync") as txn:
        txn.put(record("hello", memory=512))
    again = store.load()
    assert again.serial == 2
    assert again.lineage == snapshot.lineage
    assert again.functions["hello"].spec.memory == 512


def test_a_thousand_puts_are_one_write(store, writes):
    with store.transaction("import") as txn:
        for i in range(1000):
            txn.put(make_record(i))
        assert writes == []  # nothing hits the disk before the block ends
    assert len(writes) == 1
    assert len(store.load().functions) == 1000


def test_nothing_is_written_when_the_block_raises(store, writes):
    with store.transaction("user") as txn:
        txn.put(record("kept"))
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError):
        with store.transaction("user") as txn:
            txn.put(record("lost"))
            txn.remove("kept")
            raise RuntimeError("boom")
    assert store.path.read_bytes() == before
    assert len(writes) == 1
    assert list(store.load().functions) == ["kept"]


def test_a_transaction_that_changes_nothing_writes_nothing(store, writes):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    with store.transaction("sync") as txn:
        txn.put(record("a"))  # identical
        assert txn.remove("not-there") is False
    assert len(writes) == 1
    assert txn.new_serial is None
    assert store.load().serial == 1


def test_get_returns_an_independent_copy(store):
    rec = make_record(1)
    with store.transaction("user") as txn:
        txn.put(rec)
    with store.transaction("user") as txn:
        copy = txn.get("fn-000001")
        copy.components["gcp"].base["memory"] = 4096  # mutated but never put back
        copy.spec.env["NEW"] = "x"
        assert txn.get("fn-000001") == rec
        assert not txn.changed
    assert store.load().functions["fn-000001"] == rec


def test_transaction_reads_names_and_records(store):
    with store.transaction("import") as txn:
        for name in ("a", "b", "c"):
            txn.put(record(name))
    with store.transaction("user") as txn:
        assert txn.names() == ["a", "b", "c"]
        assert [r.name for r in txn.records()] == ["a", "b", "c"]
        assert "b" in txn and len(txn) == 3
        assert txn.get("zzz") is None
        txn.remove("b")
        assert txn.names() == ["a", "c"]
    assert sorted(store.load().functions) == ["a", "c"]


def test_stale_serial_is_refused_with_a_clear_message(store):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    read = store.load()
    with store.transaction("sync", expected_serial=read.serial, expected_lineage=read.lineage) as txn:
        txn.put(record("a", memory=1024))
    written = store.path.read_bytes()
    with pytest.raises(StaleWriteError) as err:
        with store.transaction("user", expected_serial=read.serial) as txn:
            txn.put(record("a", memory=64))
    message = str(err.value)
    assert str(store.path) in message
    assert "read at serial 1, now serial 2" in message
    assert "reload" in message
    assert store.path.read_bytes() == written


def test_other_lineage_is_refused(store, tmp_path):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    read = store.load()
    other = RegistryStore(tmp_path / "other" / "registry.json")
    with other.transaction("user") as txn:
        txn.put(record("a"))
    os.replace(other.path, store.path)  # a different registry, same serial
    with pytest.raises(StaleWriteError, match="lineage"):
        with store.transaction("user", expected_serial=read.serial, expected_lineage=read.lineage):
            pass


def test_expected_serial_zero_on_a_new_registry(store):
    with store.transaction("user", expected_serial=0, expected_lineage="") as txn:
        txn.put(record("a"))
    with pytest.raises(StaleWriteError):
        with store.transaction("user", expected_serial=0):
            pass


def test_unknown_source_is_rejected(store):
    with pytest.raises(ValueError, match="sync, user, import"):
        with store.transaction("cron"):
            pass


def test_nested_transaction_is_an_error_not_a_deadlock(store):
    with store.transaction("user"):
        with pytest.raises(RegistryError, match="nested"):
            with store.transaction("user"):
                pass


def test_history_records_every_change_with_before_after_source_and_time(store):
    with store.transaction("import") as txn:
        txn.put(record("a", memory=128))
        txn.put(record("b"))
    with store.transaction("sync") as txn:
        rec = txn.get("a")
        rec.spec.memory = 512
        rec.components["gcp"] = ComponentRecord("gcp", base={"memory": 512}, resource_id="r1")
        txn.put(rec, component="gcp")
    with store.transaction("user") as txn:
        txn.remove("a")

    history = store.history("a")
    assert [(h.action, h.source) for h in history] == [("delete", "user"), ("update", "sync"), ("create", "import")]
    deleted, updated, created = history
    assert created.before is None and created.after["spec"]["memory"] == 128
    assert updated.before["spec"]["memory"] == 128 and updated.after["spec"]["memory"] == 512
    assert updated.before["components"] == {}
    assert updated.after["components"]["gcp"]["base"] == {"memory": 512}
    assert updated.component == "gcp"
    assert deleted.before == updated.after and deleted.after is None
    assert all(h.at.startswith("20") and h.actor for h in history)
    assert FunctionRecord.from_dict(deleted.before).spec.memory == 512  # undo material

    assert [h.function for h in store.history()] == ["a", "a", "b", "a"]
    assert len(store.history(limit=2)) == 2
    assert [h.action for h in store.history("b")] == ["create"]


def test_history_survives_delete_and_recreate(store):
    with store.transaction("user") as txn:
        txn.put(record("a", memory=1))
    with store.transaction("user") as txn:
        txn.remove("a")
    with store.transaction("user") as txn:
        txn.put(record("a", memory=3))
    with store.transaction("user") as txn:
        txn.put(record("a", memory=4))
    got = [(h.action, h.before and h.before["spec"]["memory"], h.after and h.after["spec"]["memory"])
           for h in store.history("a")]
    assert got == [("update", 3, 4), ("create", None, 3), ("delete", 1, None), ("create", None, 1)]


def test_history_is_bounded_and_keeps_the_newest(tmp_path):
    store = RegistryStore(tmp_path / "registry.json", history_limit=5)
    for memory in range(1, 9):
        with store.transaction("user") as txn:
            txn.put(record("a", memory=memory))
    history = store.history("a")
    assert len(history) == 5
    assert [h.after["spec"]["memory"] for h in history] == [8, 7, 6, 5, 4]
    assert history[-1].before["spec"]["memory"] == 3
    ids = sorted(int(k) for k in orjson.loads(store.path.read_bytes())["history"])
    assert ids == [4, 5, 6, 7, 8]  # ids keep counting: an id always names the same entry


def test_history_entries_are_stored_compactly(store):
    with store.transaction("import") as txn:
        txn.put(make_record(1))
    with store.transaction("sync") as txn:
        rec = txn.get("fn-000001")
        rec.components["aws"].base["memory"] = 1024
        txn.put(rec)
    stored = list(orjson.loads(store.path.read_bytes())["history"].values())
    assert "before" not in stored[0] and "after" not in stored[0]
    # Before, the aws base repeated docker's but for state: stored as a reference (registry.compact).
    assert stored[1]["undo"] == [[["components", "aws", "base"], ["docker", "active"]]]
    assert store.history()[0].before["components"]["aws"]["base"]["memory"] == 256
    assert store.history()[0].after["components"]["aws"]["base"]["memory"] == 1024


def test_backup_holds_the_previous_version_and_restore_brings_it_back(store):
    with store.transaction("user") as txn:
        txn.put(record("a", memory=1))
    with store.transaction("user") as txn:
        txn.put(record("a", memory=2))
    assert RegistryStore(store.backup_path).load().functions["a"].spec.memory == 1
    store.path.write_bytes(store.path.read_bytes()[:200])  # truncated by something else
    with pytest.raises(CorruptRegistryError):
        store.load()

    used = store.restore()

    assert used.path == store.backup_path  # the newest generation (the .bak of earlier versions)
    restored = store.load()
    assert restored.functions["a"].spec.memory == 1
    assert restored.serial == 3  # above every serial handed out, so old reads are stale
    assert list(store.path.parent.glob("registry.json.corrupt-*"))  # the bad file kept aside
    with store.transaction("user") as txn:
        txn.put(record("a", memory=5))
    assert store.load().functions["a"].spec.memory == 5


def test_restore_without_backup_says_so(store):
    with pytest.raises(RegistryError, match="no backup"):
        store.restore()


def test_restore_refuses_a_corrupt_backup(store):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    store.backup_path.write_bytes(b"")
    with pytest.raises(RegistryError, match="cannot be restored either"):
        store.restore()


def test_missing_registry_next_to_a_backup_fails_closed(store):
    for memory in (1, 2):
        with store.transaction("user") as txn:
            txn.put(record("a", memory=memory))
    store.path.unlink()
    with pytest.raises(CorruptRegistryError, match="is missing, but this folder had a registry"):
        store.load()
    store.restore()
    assert store.load().functions["a"].spec.memory == 1


def test_file_is_0600_and_folder_0700(store):
    old_umask = os.umask(0o022)  # the usual umask would leave new files 0644
    try:
        with store.transaction("user") as txn:
            txn.put(record("a"))
        with store.transaction("user") as txn:
            txn.put(record("a", memory=9))
    finally:
        os.umask(old_umask)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(store.path.parent) == 0o700
    assert mode(store.path) == 0o600
    assert mode(store.backup_path) == 0o600
    assert mode(store.path.with_name("registry.json.lock")) == 0o600


def test_an_existing_folder_is_tightened(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    store = RegistryStore(folder / "registry.json")
    with store.transaction("user") as txn:
        txn.put(record("a"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_snapshot_functions_is_a_lazy_read_only_mapping(store):
    with store.transaction("import") as txn:
        for i in range(3):
            txn.put(make_record(i))
    functions = store.load().functions
    assert len(functions) == 3
    assert "fn-000001" in functions and "nope" not in functions
    assert list(functions) == ["fn-000000", "fn-000001", "fn-000002"]
    assert [name for name, _ in functions.items()] == list(functions)
    assert functions["fn-000002"] == make_record(2)
    assert functions["fn-000002"] is functions["fn-000002"]  # built once
    assert functions.get("nope") is None
    assert dict(functions) == {f"fn-00000{i}": make_record(i) for i in range(3)}


def test_file_is_a_tinydb_database(store):
    with store.transaction("import") as txn:
        txn.put(record("alpha", memory=128))
        txn.put(record("beta", memory=512))
    db = TinyDB(store.path, storage=AtomicJSONStorage)
    assert set(db.tables()) == {"meta", "functions", "history"}
    found = db.table("functions").search(Query().spec.memory > 200)
    assert [doc["spec"]["name"] for doc in found] == ["beta"]
    db.close()


def test_unknown_tables_are_carried_through(store):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    tables = orjson.loads(store.path.read_bytes())
    tables["journal"] = {"1": {"op": "create", "function": "a"}}
    store.path.write_bytes(orjson.dumps(tables))
    with store.transaction("user") as txn:
        txn.put(record("b"))
    assert orjson.loads(store.path.read_bytes())["journal"] == {"1": {"op": "create", "function": "a"}}


def test_new_records_are_stored_exactly_as_to_dict_says(store):
    # New records are serialized straight from the dataclasses (fast path); this holds the
    # stored form to FunctionRecord.to_dict(), so a field added to one but not the other shows
    # (a base repeating another component's is stored as a reference: registry.compact).
    rec = make_record(7)
    rec.components["aws"].base["memory"] = 1  # one base that differs: stored in full
    with store.transaction("import") as txn:
        txn.put(rec)
    stored = next(iter(orjson.loads(store.path.read_bytes())["functions"].values()))
    expected = rec.to_dict()
    del expected["name"]
    expected["spec"]["env"] = store.keys.encode_env(expected["spec"]["env"])  # encrypted: registry.secrets
    expected["components"]["gcp"]["base"] = ["docker", "active"]
    assert stored == expected
    expected = rec.to_dict()
    del expected["name"]
    assert store.load().functions.raw("fn-000007") == expected


def test_renaming_a_record_after_put_is_refused(store):
    rec = record("a")
    with pytest.raises(RegistryError, match="renamed"):
        with store.transaction("user") as txn:
            txn.put(rec)
            rec.spec.name = "b"
    assert not store.exists()


def test_repeated_loads_of_an_unchanged_file_parse_it_once(store, monkeypatch):
    import functions_tui.registry.storage as storage
    parses = []
    real_parse = storage.parse
    monkeypatch.setattr(storage, "parse", lambda payload, path: parses.append(path) or real_parse(payload, path))
    with store.transaction("user") as txn:
        txn.put(record("a"))
    parses.clear()
    first, second = store.load(), store.load()
    assert len(parses) == 1
    assert first.functions["a"] == second.functions["a"]

    other = RegistryStore(store.path)  # another writer (as another process would be)
    with other.transaction("user") as txn:
        txn.put(record("a", memory=999))
    assert store.load().functions["a"].spec.memory == 999
    assert len(parses) == 3  # other's transaction read once, then our reload

    store.path.write_bytes(store.path.read_bytes()[:-2])  # damaged in place, same inode
    with pytest.raises(CorruptRegistryError):
        store.load()


def test_changing_a_snapshot_record_does_not_leak_into_later_snapshots(store):
    with store.transaction("user") as txn:
        txn.put(make_record(1))
    mine = store.load().functions["fn-000001"]
    mine.components["gcp"].base["memory"] = 1
    mine.components["gcp"].base["env"]["X"] = "h:0"
    mine.spec.env["X"] = "1"
    assert store.load().functions["fn-000001"] == make_record(1)
    with store.transaction("user") as txn:
        assert txn.get("fn-000001") == make_record(1)


def test_records_holding_non_json_containers_are_saved_as_to_dict_would(store):
    rec = record("a")
    rec.spec.after = {"b"}  # a set: to_dict() makes it a list
    with store.transaction("user") as txn:
        txn.put(rec)
    assert store.load().functions["a"].spec.after == ["b"]


def test_a_write_that_fails_leaves_the_registry_as_it_was(store, monkeypatch):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    before = store.path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_module, "write_atomic", disk_full)
    with pytest.raises(OSError, match="No space"):
        with store.transaction("user") as txn:
            txn.put(record("b"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    with store.transaction("user") as txn:  # the lock was released
        txn.put(record("c"))
    assert sorted(store.load().functions) == ["a", "c"]


def test_a_file_written_a_slice_at_a_time_is_what_one_encoding_would_write(store, monkeypatch):
    # The functions table is encoded WRITE_SLICE records at a time straight into the file;
    # small slices here so the seams (and a slice needing the to_dict path) are exercised.
    monkeypatch.setattr(storage_module, "WRITE_SLICE", 3)
    with store.transaction("import") as txn:
        for i in range(5):
            txn.put(make_record(i))
    tables = orjson.loads(store.path.read_bytes())
    tables["journal"] = {"1": {"op": "create", "function": "fn-000001"}}
    store.path.write_bytes(orjson.dumps(tables))
    odd = make_record(7)
    odd.spec.after = {"fn-000001"}  # a set: orjson refuses it, to_dict() makes it a list
    with store.transaction("import") as txn:
        txn.put(make_record(6))
        txn.put(odd)
        for i in range(8, 12):
            txn.put(make_record(i))
    payload = store.path.read_bytes()
    tables = orjson.loads(payload)
    assert payload == orjson.dumps(tables)  # not a byte orjson would not write for these tables
    assert list(tables) == ["meta", "functions", "journal", "history"]
    assert list(tables["functions"]) == [str(i) for i in range(1, 12)]
    functions = store.load().functions
    assert list(functions) == [f"fn-{i:06d}" for i in (0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11)]
    odd.spec.after = ["fn-000001"]
    assert functions["fn-000007"] == odd
    assert all(functions[f"fn-{i:06d}"] == make_record(i) for i in (0, 4, 6, 11))


def test_removing_every_record_writes_an_empty_functions_table(store):
    with store.transaction("user") as txn:
        txn.put(record("a"))
    with store.transaction("user") as txn:
        txn.remove("a")
    assert orjson.loads(store.path.read_bytes())["functions"] == {}
    assert len(store.load().functions) == 0


def test_a_record_that_cannot_be_encoded_writes_nothing(store, monkeypatch):
    monkeypatch.setattr(storage_module, "WRITE_SLICE", 2)
    with store.transaction("user") as txn:
        txn.put(record("a"))
    before = store.path.read_bytes()
    bad = record("d")
    bad.spec.targets = {"docker": {"port": object()}}  # no JSON form, even through to_dict()
    with pytest.raises(RegistryError, match="cannot be saved"):
        with store.transaction("user") as txn:
            txn.put(record("b"))
            txn.put(record("c"))
            txn.put(bad)
    assert store.path.read_bytes() == before
    assert not [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]  # the temp file is gone
