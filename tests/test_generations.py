"""Registry generations (undo) in the store: every write keeps the file it replaces in
``generations/`` (0700, files 0600), the last N are kept, restore puts one back (and is
undoable itself), a registry that went missing fails closed, and an old ``registry.json.bak``
becomes the oldest generation."""

from __future__ import annotations

import os
import stat

import orjson
import pytest

from functions_tui.registry.errors import MissingRegistryError
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import CorruptRegistryError, RegistryError, RegistryStore


def record(name: str, memory: int = 256) -> FunctionRecord:
    return FunctionRecord(spec=FunctionSpec(name=name, runtime="python3.12", memory=memory))


def write(store: RegistryStore, name: str = "a", memory: int = 256) -> int:
    with store.transaction("user") as txn:
        txn.put(record(name, memory))
    return txn.new_serial


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path):
    return RegistryStore(tmp_path / "cfg" / "registry.json", lock_timeout=5)


def serials(store: RegistryStore) -> list[int]:
    return [g.serial for g in store.generations()]


def memory(store: RegistryStore, name: str = "a") -> int:
    return store.load().functions[name].spec.memory


def test_each_write_keeps_the_replaced_file_as_a_generation(store):
    old_umask = os.umask(0o022)
    try:
        for m in (1, 2, 3):
            write(store, memory=m)
    finally:
        os.umask(old_umask)
    folder = store.path.parent / "generations"
    assert sorted(p.name for p in folder.iterdir()) == ["serial-1.json", "serial-2.json"]
    assert mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in folder.iterdir())
    assert serials(store) == [2, 1]  # newest first
    # Each generation is the whole registry as it was, readable as a registry of its own.
    assert RegistryStore(folder / "serial-2.json").load().functions["a"].spec.memory == 2
    assert not (store.path.parent / "registry.json.bak").exists()
    assert store.backup_path == folder / "serial-2.json"


def test_a_generation_says_when_who_what_and_how_many(store):
    write(store, "a")
    write(store, "b")
    newest = store.generations()[0]
    assert newest.serial == 1 and newest.functions == 1
    assert newest.time.startswith("20") and "(user)" in newest.actor
    assert newest.command and newest.command != "?"  # sys.argv of the writer (here: pytest)
    assert newest.describe() == f"serial 1 from {newest.time} (by {newest.actor}: {newest.command})"
    meta = orjson.loads(store.path.read_bytes())["meta"]["1"]
    assert meta["functions"] == 2 and "command" in meta


def test_only_the_last_n_generations_are_kept(tmp_path):
    store = RegistryStore(tmp_path / "registry.json", generations=3)
    for m in range(1, 8):
        write(store, memory=m)
    assert serials(store) == [6, 5, 4]
    # The limit may come from a callable (the service reads config.yaml's `generations:`).
    store.keep_generations = lambda: 2
    write(store, memory=8)
    assert serials(store) == [7, 6]


def test_restore_without_a_serial_puts_back_the_previous_version_and_is_undoable(store):
    for m in (1, 2, 3):
        write(store, memory=m)
    lineage = store.load().lineage
    done = store.restore()
    assert (done.source.serial, done.replaced_serial, done.serial) == (2, 3, 4)
    assert memory(store) == 2
    assert store.load().lineage == lineage  # the ownership marks on components name it
    assert serials(store)[0] == 3  # the registry the restore replaced is a generation now

    again = store.restore()  # undo the restore
    assert again.source.serial == 3 and memory(store) == 3
    assert store.load().serial == 5 and serials(store)[:2] == [4, 3]


def test_restore_by_serial(store):
    for m in (1, 2, 3, 4):
        write(store, memory=m)
    done = store.restore(1)
    assert done.source.serial == 1 and memory(store) == 1
    assert store.load().serial == 5  # above every serial handed out
    with pytest.raises(RegistryError, match="no generation with serial 99"):
        store.restore(99)


def test_a_stale_read_cannot_write_over_a_restore(store):
    for m in (1, 2):
        write(store, memory=m)
    before = store.load()
    store.restore()
    from functions_tui.registry.store import StaleWriteError

    with pytest.raises(StaleWriteError):
        with store.transaction("user", expected_serial=before.serial, expected_lineage=before.lineage) as txn:
            txn.put(record("a", 9))


def test_a_corrupt_registry_restores_from_the_newest_good_generation(store):
    for m in (1, 2, 3):
        write(store, memory=m)
    (store.path.parent / "generations" / "serial-2.json").write_bytes(b'{"meta": ')  # damaged too
    store.path.write_bytes(b"\x00garbage")
    with pytest.raises(CorruptRegistryError):
        store.load()
    assert not store.readable()
    done = store.restore()
    assert done.source.serial == 1 and memory(store) == 1
    assert done.replaced_serial is None and done.kept_aside.read_bytes() == b"\x00garbage"
    assert store.load().serial >= 4  # above the damaged file's serial (3)
    assert 3 not in serials(store)  # the damaged file is never kept as a generation
    assert all(g.path.read_bytes() != b"\x00garbage" for g in store.generations())


def test_restore_refuses_a_damaged_generation_by_serial(store):
    for m in (1, 2, 3):
        write(store, memory=m)
    (store.path.parent / "generations" / "serial-1.json").write_bytes(b"")
    with pytest.raises(RegistryError, match="generation 1 .* cannot be restored"):
        store.restore(1)
    assert memory(store) == 3


def test_nothing_to_restore_says_so(store):
    write(store)
    with pytest.raises(RegistryError, match="no backup to restore from"):
        store.restore()


def test_a_missing_registry_with_generations_fails_closed(store):
    for m in (1, 2):
        write(store, memory=m)
    store.path.unlink()
    assert store.exists()  # it had a registry: not a new, empty one
    for read in (store.load, store.history):
        with pytest.raises(MissingRegistryError) as err:
            read()
        assert str(store.path) in str(err.value) and "functions-tui restore" in str(err.value)
    with pytest.raises(MissingRegistryError):
        write(store, "b")
    assert not store.path.exists()  # never recreated empty
    done = store.restore()
    assert done.source.serial == 1 and memory(store) == 1


def test_a_folder_that_never_had_a_registry_starts_empty(store):
    assert not store.exists()
    assert store.load().serial == 0
    write(store)
    assert memory(store) == 256


def test_an_old_backup_becomes_the_oldest_generation(store):
    # The previous version kept one registry.json.bak next to the file.
    for m in (1, 2):
        write(store, memory=m)
    folder = store.path.parent / "generations"
    old = orjson.loads((folder / "serial-1.json").read_bytes())
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    legacy = store.path.parent / "registry.json.bak"
    legacy.write_bytes(orjson.dumps(old))
    assert [g.path for g in store.generations()] == [legacy]  # listed before it moves

    write(store, memory=3)  # the first write moves it in
    assert not legacy.exists()
    assert serials(store) == [2, 1]
    assert RegistryStore(folder / "serial-1.json").load().functions["a"].spec.memory == 1
    store.restore(1)
    assert memory(store) == 1


def test_an_old_backup_alone_still_fails_closed_and_restores(store):
    for m in (1, 2):
        write(store, memory=m)
    folder = store.path.parent / "generations"
    (store.path.parent / "registry.json.bak").write_bytes((folder / "serial-1.json").read_bytes())
    for f in folder.iterdir():
        f.unlink()
    store.path.unlink()
    with pytest.raises(MissingRegistryError, match="registry.json.bak"):
        store.load()
    store.restore()
    assert memory(store) == 1


def test_a_write_killed_after_keeping_its_generation_is_harmless(store, monkeypatch):
    """Between keeping the generation and the replace, the kept file is the current one: the
    next write finds it kept already, and a default restore skips it (it is not older)."""
    for m in (1, 2):
        write(store, memory=m)
    import functions_tui.registry.storage as storage
    real_replace = storage.os.replace

    def killed(src, dst):
        if str(dst) == str(store.path):
            raise KeyboardInterrupt  # stands for the kill, after the keep, before the replace
        return real_replace(src, dst)

    monkeypatch.setattr(storage.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write(store, memory=3)
    monkeypatch.setattr(storage.os, "replace", real_replace)
    assert memory(store) == 2 and serials(store) == [2, 1]  # serial-2 is the current file
    assert not list(store.path.parent.glob(".registry.json*.tmp"))
    assert store.restore().source.serial == 1
    write(store, memory=5)
    assert memory(store) == 5


def test_a_failed_keep_writes_nothing(store, monkeypatch):
    for m in (1, 2):
        write(store, memory=m)
    import functions_tui.registry.store as store_module
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "keep_generation", full_disk)
    with pytest.raises(OSError, match="No space"):
        write(store, memory=3)
    assert memory(store) == 2 and store.load().serial == 2
    assert not list(store.path.parent.glob(".registry.json*.tmp"))


def test_a_batch_of_writes_keeps_one_generation(store):
    """An apply recording its progress many times keeps the registry as it was before it."""
    write(store, memory=1)
    write(store, memory=2)
    with store.generation_batch():
        for m in range(3, 9):
            write(store, memory=m)
    assert serials(store) == [2, 1]  # the version before the batch, and the ones before that
    write(store, memory=9)  # after the batch: its result is a generation like any other
    assert serials(store) == [8, 2, 1]
    store.restore(2)
    assert memory(store) == 2
