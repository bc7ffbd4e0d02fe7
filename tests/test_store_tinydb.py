"""TinyDB is the store: a transaction is one read and one write of the file through TinyDB's
storage (RegistryStorage, under the TransactionCache middleware), changes keep the
documents' ids and the file's order, and records and history are found with TinyDB queries."""

from __future__ import annotations

import orjson
import pytest
from tinydb import Query, TinyDB

import functions_tui.registry.storage as storage_module
from bench.registry import make_record
from functions_tui.registry.storage import RegistryStorage
from functions_tui.registry.store import RegistryStore


@pytest.fixture
def store(tmp_path):
    return RegistryStore(tmp_path / "cfg" / "registry.json", lock_timeout=5)


@pytest.fixture
def io(monkeypatch):
    """Counts the registry file's reads and writes through RegistryStorage."""
    calls = []
    real_read, real_write = RegistryStorage.read_unless, storage_module.write_atomic

    def read_unless(self, known):
        calls.append("read")
        return real_read(self, known)

    def write_atomic(path, payload, **kw):
        calls.append("write")
        return real_write(path, payload, **kw)

    monkeypatch.setattr(RegistryStorage, "read_unless", read_unless)
    monkeypatch.setattr(storage_module, "write_atomic", write_atomic)
    return calls


def _ids(store):
    tables = orjson.loads(store.path.read_bytes())
    return {doc_id: doc["spec"]["name"] for doc_id, doc in tables["functions"].items()}


def test_a_transaction_is_one_read_and_one_write(store, io):
    with store.transaction("import") as txn:
        for i in range(200):
            txn.put(make_record(i))
    io.clear()
    with store.transaction("sync") as txn:
        for record in txn.records():  # every record changed: still one read, one write
            record.spec.memory += 1
            txn.put(record)
        txn.remove("fn-000007")
        txn.put(make_record(500))
    assert io == ["read", "write"]


def test_changes_keep_doc_ids_and_file_order(store):
    with store.transaction("import") as txn:
        for i in range(5):
            txn.put(make_record(i))
    assert _ids(store) == {str(i + 1): f"fn-{i:06d}" for i in range(5)}
    with store.transaction("user") as txn:
        record = txn.get("fn-000002")
        record.spec.memory = 1024
        txn.put(record)
        txn.remove("fn-000003")
        txn.put(make_record(9))
    assert list(_ids(store).items()) == [("1", "fn-000000"), ("2", "fn-000001"), ("3", "fn-000002"),
                                         ("5", "fn-000004"), ("6", "fn-000009")]
    assert store.load().functions["fn-000002"].spec.memory == 1024


def test_records_and_history_are_tinydb_queries(store):
    with store.transaction("import") as txn:
        for i in range(6):
            txn.put(make_record(i))
    with store.transaction("user") as txn:
        record = txn.get("fn-000004")
        record.spec.memory = 2048
        txn.put(record)
    assert store.find("fn-000004").spec.memory == 2048
    assert store.find("nope") is None
    assert [r.spec.name for r in store.search(Query().spec.memory >= 512)] == ["fn-000002", "fn-000004", "fn-000005"]
    assert store.search(Query().spec.labels.team == "team-1")[0] == make_record(1)
    updated, created = store.history("fn-000004")
    assert (updated.action, created.action) == ("update", "create")
    assert (updated.before["spec"]["memory"], updated.after["spec"]["memory"]) == (256, 2048)
    # The same file, opened with plain TinyDB on our storage.
    db = TinyDB(store.path, storage=RegistryStorage)
    assert len(db.table("history").search(Query().function == "fn-000004")) == 2
    db.close()


def test_a_transaction_leaves_an_earlier_snapshot_as_it_was(store):
    # The transaction starts from the cached read the snapshot holds; TinyDB's update changes
    # documents in place, so the store hands it its own copies.
    with store.transaction("import") as txn:
        for i in range(3):
            txn.put(make_record(i))
    snapshot = store.load()
    raw = snapshot.functions._raw["fn-000001"]
    with store.transaction("user") as txn:
        record = txn.get("fn-000001")
        record.spec.memory = 4096
        txn.put(record)
    assert raw["spec"]["memory"] == 256 and snapshot.functions["fn-000001"] == make_record(1)
    assert store.load().functions["fn-000001"].spec.memory == 4096
