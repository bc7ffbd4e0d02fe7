"""Fail closed: every damaged or wrong-shaped registry file is an error that names the file
and the way back (`functions-tui restore`), never an empty registry, and nothing is written."""

from __future__ import annotations

import orjson
import pytest

from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import CorruptRegistryError, RegistryStore


def good_tables(store: RegistryStore) -> dict:
    with store.transaction("user") as txn:
        txn.put(FunctionRecord(spec=FunctionSpec(name="a", runtime="python3.12")))
    return orjson.loads(store.path.read_bytes())


def tables_with(change):
    def make(tables: dict) -> bytes:
        change(tables)
        return orjson.dumps(tables)
    return make


def first_doc(tables: dict, table: str) -> dict:
    return next(iter(tables[table].values()))


SHAPES = {
    "zero bytes": lambda t: b"",
    "blank": lambda t: b"  \n",
    "truncated": lambda t: orjson.dumps(t)[: len(orjson.dumps(t)) // 2],
    "garbage": lambda t: b"\x00\xff\x13 not json at all",
    "a list": lambda t: b"[]",
    "a number": lambda t: b"42",
    "empty object": lambda t: b"{}",
    "missing functions table": tables_with(lambda t: t.pop("functions")),
    "missing meta table": tables_with(lambda t: t.pop("meta")),
    "missing history table": tables_with(lambda t: t.pop("history")),
    "functions table is a list": tables_with(lambda t: t.update(functions=[])),
    "record missing spec": tables_with(lambda t: first_doc(t, "functions").pop("spec")),
    "record is a string": tables_with(lambda t: t["functions"].update({"1": "a"})),
    "spec without name": tables_with(lambda t: first_doc(t, "functions")["spec"].pop("name")),
    "spec without runtime": tables_with(lambda t: first_doc(t, "functions")["spec"].pop("runtime")),
    "name disagrees with spec": tables_with(lambda t: first_doc(t, "functions").update(name="b")),
    "duplicate function": tables_with(lambda t: t["functions"].update({"2": first_doc(t, "functions")})),
    "components not an object": tables_with(lambda t: first_doc(t, "functions").update(components=[1])),
    "meta without serial": tables_with(lambda t: first_doc(t, "meta").pop("serial")),
    "meta without lineage": tables_with(lambda t: first_doc(t, "meta").pop("lineage")),
    "two meta documents": tables_with(lambda t: t["meta"].update({"2": {}})),
    "schema not a number": tables_with(lambda t: first_doc(t, "meta").update(schema="one")),
    "history entry not an object": tables_with(lambda t: t["history"].update({"99": [1]})),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_corrupt_file_fails_closed(tmp_path, shape):
    store = RegistryStore(tmp_path / "registry.json")
    damaged = SHAPES[shape](good_tables(store))
    store.path.write_bytes(damaged)

    for read in (store.load, store.history):
        with pytest.raises(CorruptRegistryError) as err:
            read()
        message = str(err.value)
        assert str(store.path) in message
        assert "functions-tui restore" in message

    with pytest.raises(CorruptRegistryError):
        with store.transaction("sync") as txn:
            txn.put(FunctionRecord(spec=FunctionSpec(name="x", runtime="go1.22")))
    assert store.path.read_bytes() == damaged  # never overwritten with a fresh registry


def test_every_corrupt_shape_is_restorable(tmp_path):
    for shape, damage in SHAPES.items():
        store = RegistryStore(tmp_path / shape.replace(" ", "-") / "registry.json")
        tables = good_tables(store)
        with store.transaction("user") as txn:
            txn.put(FunctionRecord(spec=FunctionSpec(name="b", runtime="go1.22")))
        store.path.write_bytes(damage(tables))
        store.restore()
        assert list(store.load().functions) == ["a"], shape


def test_a_directory_in_place_of_the_file(tmp_path):
    (tmp_path / "registry.json").mkdir()
    with pytest.raises(CorruptRegistryError, match="directory"):
        RegistryStore(tmp_path / "registry.json").load()
