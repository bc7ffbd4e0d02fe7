"""Compact bases (registry.compact): a base repeating another component's is stored as a
reference, and every reader gets the full base back, exactly what was put."""

from __future__ import annotations

import orjson
import pytest

from bench.registry import make_record
from functions_tui.registry.compact import BadReferenceError, compact_components, compact_doc, compact_record, expand_doc
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.store import CorruptRegistryError, RegistryStore


@pytest.fixture
def store(tmp_path):
    return RegistryStore(tmp_path / "registry.json", lock_timeout=5)


def as_stored(store, doc: dict) -> dict:
    """``doc`` with its env as the file stores it (encrypted: registry.secrets)."""
    doc = {k: v for k, v in doc.items() if k != "name"}
    doc["spec"] = dict(doc["spec"], env=store.keys.encode_env(doc["spec"]["env"]))
    return doc


def as_history(store, doc: dict) -> dict:
    """``doc`` as a history entry shows it (env values as keyed digests)."""
    from functions_tui.registry.secrets import scrub_doc

    return scrub_doc(as_stored(store, doc), store.keys)


def stored_functions(store) -> dict:
    tables = orjson.loads(store.path.read_bytes())
    return {doc["spec"]["name"]: doc for doc in tables["functions"].values()}


def odd_records() -> list[FunctionRecord]:
    """Bases in every relation to each other: in sync, pending, differing in kind, missing."""
    in_sync = make_record(1)
    pending = make_record(2)
    pending.components["gcp"].base["env"]["API_KEY"] = "h:0000000000000000"
    no_state = make_record(3)
    del no_state.components["aws"].base["state"]  # equal but for a missing state: kept in full
    first_none = make_record(4)
    first_none.components["docker"].base = None  # the next full base is the one referred to
    partial = FunctionRecord(spec=FunctionSpec(name="old", runtime="go1.22"), components={
        "docker": ComponentRecord("docker", base={"memory": 512, "state": "running"}),
        "aws": ComponentRecord("aws", base={"memory": 512, "state": None}),
        "gcp": ComponentRecord("gcp", base={"memory": 512, "state": ["odd", {"x": 1}]}),
    })
    return [in_sync, pending, no_state, first_none, partial]


def test_in_sync_bases_are_stored_as_references(store):
    with store.transaction("import") as txn:
        txn.put(make_record(1))
    components = stored_functions(store)["fn-000001"]["components"]
    assert type(components["docker"]["base"]) is dict
    assert components["gcp"]["base"] == ["docker", "active"]
    assert components["aws"]["base"] == ["docker", "active"]


def test_what_is_read_back_equals_what_was_put(store):
    records = odd_records()
    with store.transaction("import") as txn:
        for rec in records:
            txn.put(rec)
    stored = stored_functions(store)
    assert stored["fn-000002"]["components"]["gcp"]["base"]["env"]["API_KEY"] == "h:0000000000000000"
    assert type(stored["fn-000003"]["components"]["aws"]["base"]) is dict
    assert stored["fn-000004"]["components"]["aws"]["base"] == ["gcp", "active"]
    assert stored["old"]["components"]["aws"]["base"] == ["docker", None]

    snapshot = store.load()
    with store.transaction("user") as txn:
        for rec in records:
            expected = rec.to_dict()
            assert snapshot.functions[rec.name] == rec
            assert snapshot.functions.raw(rec.name) == {k: v for k, v in expected.items() if k != "name"}
            assert txn.get(rec.name) == rec
        assert txn.records() == records


def test_expanded_bases_are_independent_copies(store):
    with store.transaction("import") as txn:
        txn.put(make_record(1))
    mine = store.load().functions["fn-000001"]
    mine.components["gcp"].base["env"]["X"] = "h:1"
    mine.components["docker"].base["labels"]["y"] = "2"
    assert mine.components["aws"].base == make_record(1).components["aws"].base
    assert store.load().functions["fn-000001"] == make_record(1)


def test_history_before_and_after_are_expanded(store):
    with store.transaction("import") as txn:
        txn.put(make_record(1))
    with store.transaction("sync") as txn:
        rec = txn.get("fn-000001")
        rec.spec.memory = 1024
        for comp in rec.components.values():
            comp.base["memory"] = 1024
        txn.put(rec)
    with store.transaction("user") as txn:
        txn.remove("fn-000001")
    deleted, updated, created = store.history("fn-000001")
    original = as_history(store, make_record(1).to_dict())
    assert deleted.after is None and deleted.before == updated.after
    assert updated.after["components"]["gcp"]["base"]["memory"] == 1024
    assert updated.before == original == created.after
    # The references did not change (docker's base did): the update's undo stays small.
    undo = next(e["undo"] for e in orjson.loads(store.path.read_bytes())["history"].values() if "undo" in e)
    assert undo == [[["spec", "memory"], 256], [["components", "docker", "base", "memory"], 256]]


def test_a_schema_1_file_loads_and_keeps_its_history_exact(store):
    """A v1 file (every base in full) needs no rewrite: it loads as it is, an unchanged put
    records nothing, and a changed record is stored compactly with an exact undo."""
    full = {k: v for k, v in make_record(1).to_dict().items() if k != "name"}
    store.path.write_bytes(orjson.dumps({
        "meta": {"1": {"schema": 1, "serial": 3, "lineage": "L"}},
        "functions": {"1": full},
        "history": {"1": {"function": "fn-000001", "action": "create", "source": "import",
                          "component": "", "at": "t", "actor": "a"}},
    }))
    snapshot = store.load()
    assert snapshot.migrated_from == 1 and snapshot.functions["fn-000001"] == make_record(1)
    with store.transaction("user") as txn:
        txn.put(make_record(1))  # the same record: no history entry
        assert not txn._history
    # written in the current schema, unchanged but for its env (encrypted since schema 3)
    assert stored_functions(store)["fn-000001"] == as_stored(store, full)
    changed = make_record(1)
    changed.spec.memory = 64
    with store.transaction("user") as txn:
        txn.put(changed)
    assert stored_functions(store)["fn-000001"]["components"]["gcp"]["base"] == ["docker", "active"]
    update, create = store.history("fn-000001")
    assert update.before == as_history(store, full) and update.after["spec"]["memory"] == 64
    assert store.load().functions["fn-000001"] == changed


def test_compacting_twice_changes_nothing_and_expanding_inverts_it():
    for rec in odd_records():
        full = {k: v for k, v in rec.to_dict().items() if k != "name"}
        compact = compact_doc(full)
        assert compact_doc(compact) == compact
        assert expand_doc(compact) == full


def test_a_reference_to_nothing_is_an_error_not_a_guess():
    doc = {"spec": {"name": "f", "runtime": "go"},
           "components": {"gcp": {"component": "gcp", "base": ["docker", "active"]}}}
    with pytest.raises(BadReferenceError, match="names no full base"):
        expand_doc(doc)


def test_a_reference_to_nothing_in_the_file_is_a_corrupt_registry(store):
    with store.transaction("import") as txn:
        txn.put(make_record(1))
        txn.put(make_record(2))
    tables = orjson.loads(store.path.read_bytes())
    tables["functions"]["2"]["components"]["gcp"]["base"] = ["nowhere", "active"]
    store.path.write_bytes(orjson.dumps(tables))
    snapshot = store.load()
    assert snapshot.functions["fn-000001"] == make_record(1)  # the others still read
    with pytest.raises(CorruptRegistryError, match="names no full base"):
        snapshot.functions["fn-000002"]
    with pytest.raises(CorruptRegistryError, match="restore"):
        snapshot.functions.raw("fn-000002")
    with pytest.raises(CorruptRegistryError):
        with store.transaction("user") as txn:
            txn.get("fn-000002")


def test_compact_record_is_compact_components_of_the_record():
    # compact_record (the save's per-record path) is a specialization of compact_components:
    # the two must agree on every relation between bases.
    for rec in odd_records() + [make_record(i) for i in range(5)]:
        assert orjson.dumps(compact_record(rec)["components"]) == orjson.dumps(compact_components(rec.components))
