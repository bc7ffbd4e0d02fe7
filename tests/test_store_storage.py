"""The crash-safe storage underneath the store: atomic replace, backup, permissions,
failure in the middle of a write, and TinyDB itself going through it."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import orjson
import pytest
from tinydb import TinyDB

import functions_tui.registry.storage as storage
from functions_tui.registry.storage import AtomicJSONStorage, pid_alive, remove_stale_temp_files, secure_dir, write_atomic


def test_write_keeps_the_previous_file_as_backup(tmp_path):
    path = tmp_path / "registry.json"
    write_atomic(path, b'{"v": 1}')
    assert not (tmp_path / "registry.json.bak").exists()
    write_atomic(path, b'{"v": 2}')
    write_atomic(path, b'{"v": 3}')
    assert path.read_bytes() == b'{"v": 3}'
    assert (tmp_path / "registry.json.bak").read_bytes() == b'{"v": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json", "registry.json.bak"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "registry.json"
    write_atomic(path, b'{"v": 1}')
    write_atomic(path, b'{"v": 2}')

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b'{"v": 3}')
    assert path.read_bytes() == b'{"v": 2}'
    assert (tmp_path / "registry.json.bak").read_bytes() == b'{"v": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json", "registry.json.bak"]


def test_a_shared_sticky_folder_is_left_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    secure_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    nested = shared / "a" / "b"
    secure_dir(nested)
    assert stat.S_IMODE(nested.stat().st_mode) == 0o700


def test_tinydb_writes_through_the_atomic_storage(tmp_path):
    path = tmp_path / "db.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.table("things").insert({"n": 1})
    db.table("things").insert({"n": 2})
    db.close()
    assert orjson.loads(path.read_bytes()) == {"things": {"1": {"n": 1}, "2": {"n": 2}}}
    assert orjson.loads((tmp_path / "db.json.bak").read_bytes()) == {"things": {"1": {"n": 1}}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_zombie_counts_as_dead(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
        assert not pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)


def test_leftover_temp_files_are_removed_under_the_lock(tmp_path):
    path = tmp_path / "registry.json"
    leftovers = [tmp_path / f".registry.json.{n}.abcd1234.tmp" for n in ("123", "registry")]
    leftovers[1] = tmp_path / ".registry.json.bak.123.abcd1234.tmp"
    unrelated = tmp_path / ".other.json.123.abcd1234.tmp"
    for file in [*leftovers, unrelated]:
        file.write_bytes(b"half a write")
    remove_stale_temp_files(path)
    assert not any(f.exists() for f in leftovers)
    assert unrelated.exists()
