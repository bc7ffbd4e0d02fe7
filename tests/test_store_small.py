"""Smaller registry safety points: a wrong-typed record names file, function and field; the
lock files are 0600; a symlinked registry stays a symlink; leftover registry temp files go
(the journal's own ``.journal-*.tmp`` belong to registry/journal.py's rewrite); gc says
when max_deletions blocked it; status warns about interrupted cloud operations."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys

import orjson
import pytest

from functions_tui.registry.kinds import component_names

from functions_tui.app import commands
from functions_tui.app.config import Config
from functions_tui.app.service import SyncService
from functions_tui.registry.journal import Journal
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import CorruptRegistryError, RegistryStore
from tests.cli_helpers import cli_env, make_function, run_cli
from tests.memory_component import MemoryComponent


def record(name: str, memory: int = 256) -> FunctionRecord:
    return FunctionRecord(spec=FunctionSpec(name=name, runtime="python3.12", memory=memory))


def write(store: RegistryStore, name: str = "a", memory: int = 256) -> None:
    with store.transaction("user") as txn:
        txn.put(record(name, memory))


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def set_field(store: RegistryStore, name: str, field: str, value) -> None:
    tables = orjson.loads(store.path.read_bytes())
    for doc in tables["functions"].values():
        if doc["spec"]["name"] == name:
            doc["spec"][field] = value
    store.path.write_bytes(orjson.dumps(tables))


@pytest.mark.parametrize("field, value, expected", [
    ("memory", "abc", "spec.memory is 'abc', expected a whole number"),
    ("timeout", None, "spec.timeout is None, expected a whole number"),
    ("env", "x=1", "spec.env is 'x=1', expected an object"),
    ("targets", {"aws": "eu"}, "spec.targets is {'aws': 'eu'}, expected an object of objects"),
])
def test_a_wrong_typed_record_names_file_function_and_field(tmp_path, field, value, expected):
    store = RegistryStore(tmp_path / "registry.json")
    write(store, "a")
    write(store, "b")
    set_field(store, "b", field, value)
    snapshot = store.load()  # the shape is fine: the record fails when it is read
    assert snapshot.functions["a"].spec.memory == 256
    for read in (lambda: snapshot.functions["b"], lambda: dict(store.load().functions)):
        with pytest.raises(CorruptRegistryError) as err:
            read()
        message = str(err.value)
        assert str(store.path) in message and "function 'b'" in message and expected in message
        assert "functions-tui restore" in message
    before = store.path.read_bytes()
    with pytest.raises(CorruptRegistryError, match="function 'b'"):
        with store.transaction("user") as txn:
            txn.records()
    assert store.path.read_bytes() == before
    assert snapshot.functions.get("nobody") is None  # a missing name is still just missing


def test_a_wrong_typed_record_is_one_line_from_the_cli(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    make_function(tmp_path / "src", "alpha")
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    set_field(RegistryStore(home / "registry.json"), "alpha", "memory", "abc")
    for args in (("status",), ("info", "alpha")):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "ValueError" not in lines[0], result.stderr
        assert str(home / "registry.json") in lines[0] and "'alpha'" in lines[0]
        assert "spec.memory" in lines[0] and "functions-tui restore" in lines[0]


def test_the_lock_files_are_0600(tmp_path):
    old_umask = os.umask(0o022)
    try:
        store = RegistryStore(tmp_path / "registry.json")
        write(store)
        journal = Journal.for_store(store)
        entry = journal.begin("a", "aws", "create")
        journal.finish(entry, made=False)
    finally:
        os.umask(old_umask)
    assert mode(tmp_path / "registry.json.lock") == 0o600
    assert mode(tmp_path / "journal.json.lock") == 0o600


def test_a_symlinked_registry_stays_a_symlink(tmp_path):
    elsewhere = tmp_path / "synced"
    elsewhere.mkdir()
    target = elsewhere / "my-registry.json"
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    link = config_dir / "registry.json"
    store = RegistryStore(link)
    write(store, memory=1)
    link.rename(target)
    link.symlink_to(target)
    for m in (2, 3):
        write(store, memory=m)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert RegistryStore(target).load().functions["a"].spec.memory == 3
    assert mode(target) == 0o600
    # The replaced versions are generations in the config dir, not next to the target.
    assert [g.serial for g in store.generations()] == [2, 1]
    assert not list(elsewhere.glob(".*.tmp")) and sorted(p.name for p in elsewhere.iterdir()) == [target.name]
    store.restore()
    assert link.is_symlink() and store.load().functions["a"].spec.memory == 2


def test_a_dangling_symlinked_registry_with_generations_fails_closed(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    for m in (1, 2):
        write(store, memory=m)
    store.path.unlink()
    store.path.symlink_to(tmp_path / "gone.json")
    with pytest.raises(CorruptRegistryError, match="is missing, but this folder had a registry"):
        store.load()


def test_leftover_temp_files_are_removed(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    write(store, memory=1)
    write(store, memory=2)
    leftovers = [tmp_path / ".registry.json.4242.abcd1234.tmp",
                 tmp_path / "generations" / ".serial-3.json.4242.abcd1234.tmp"]
    for file in leftovers:
        file.write_bytes(b"half a write")
    write(store, memory=3)
    assert not any(f.exists() for f in leftovers)


def _gc_service(tmp_path, max_deletions: int):
    gcp = MemoryComponent("gcp")
    components = {n: gcp if n == "gcp" else MemoryComponent(n, available=False) for n in component_names()}
    home = tmp_path / "home"
    home.mkdir()
    svc = SyncService(home, config=Config(max_deletions=max_deletions), components=components)
    make_function(tmp_path / "src", "keep")
    svc.add(tmp_path / "src")
    for name in ("old1", "old2", "old3"):  # ours (marked with this registry), known to no entry
        gcp.put(name, owner=svc.registry_id())
    return svc


def _gc(monkeypatch, svc, capsys) -> tuple[int, str]:
    monkeypatch.setattr(commands, "_service", lambda args: svc)
    code = commands.gc(argparse.Namespace(allow_empty=False, yes=True, read_only=False))
    return code, capsys.readouterr().out


def test_gc_says_when_max_deletions_blocked_it(tmp_path, monkeypatch, capsys):
    code, out = _gc(monkeypatch, _gc_service(tmp_path, max_deletions=2), capsys)
    assert "3 removals blocked by max_deletions=2 (raise it in config.yaml)" in out
    assert "nothing to collect" not in out
    assert code == 2


def test_gc_within_max_deletions_removes_them(tmp_path, monkeypatch, capsys):
    svc = _gc_service(tmp_path, max_deletions=3)
    code, out = _gc(monkeypatch, svc, capsys)
    assert code == 0 and "blocked" not in out
    assert "old1" in out and set(svc.adapter("gcp").resources) == set()


def test_status_warns_about_interrupted_operations(tmp_path):
    home = tmp_path / "home"
    env = cli_env(home)
    make_function(tmp_path / "src", "alpha")
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    # A process that journals a cloud change and dies before clearing it.
    code = ("import sys; from functions_tui.registry.journal import Journal; "
            "Journal.in_dir(sys.argv[1]).begin('alpha', 'aws', 'create')")
    subprocess.run([sys.executable, "-c", code, str(home)], check=True)
    result = run_cli("status", env=env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "create of alpha on aws" in warnings[0] and "interrupted" in warnings[0]
    assert "alpha" in result.stdout
