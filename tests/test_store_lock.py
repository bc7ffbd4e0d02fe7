"""The inter-process lock: a second process waits, times out saying who holds the lock
(pid, host, command, since), and a SIGKILLed holder never blocks the next writer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions_tui.registry.lock import LockHolder, holder_path
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import LockTimeoutError, RegistryStore

ROOT = Path(__file__).resolve().parents[1]

# Holds the registry lock (inside a transaction) until stdin closes or it is killed.
HOLDER = """
import sys
from functions_tui.registry.store import RegistryStore
store = RegistryStore(sys.argv[1])
with store.transaction("user") as txn:
    print("locked", flush=True)
    sys.stdin.read()
"""


def start_holder(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "--holder-marker"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def put(store: RegistryStore, name: str) -> None:
    with store.transaction("user") as txn:
        txn.put(FunctionRecord(spec=FunctionSpec(name=name, runtime="python3.12")))


@pytest.fixture
def holder(tmp_path):
    procs = []

    def start(path):
        proc = start_holder(path)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_timeout_names_the_holder(tmp_path, holder):
    path = tmp_path / "registry.json"
    proc = holder(path)
    store = RegistryStore(path, lock_timeout=0.3)

    with pytest.raises(LockTimeoutError) as err:
        put(store, "a")

    message = str(err.value)
    assert str(path) in message
    assert f"pid {proc.pid}" in message
    assert socket.gethostname() in message
    assert "--holder-marker" in message  # the holder's command line
    assert "since 20" in message
    assert "exited" not in message
    info = store.holder()
    assert (info.pid, info.host) == (proc.pid, socket.gethostname())


def test_a_waiting_writer_proceeds_when_the_holder_finishes(tmp_path, holder):
    path = tmp_path / "registry.json"
    proc = holder(path)
    proc.stdin.close()  # the holder's transaction ends; our wait (up to 10 s) then succeeds
    put(RegistryStore(path, lock_timeout=10), "a")
    assert list(RegistryStore(path).load().functions) == ["a"]
    assert not holder_path(path).exists()  # the note goes with the lock


def test_a_killed_holder_does_not_block(tmp_path, holder):
    path = tmp_path / "registry.json"
    proc = holder(path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    left = RegistryStore(path).holder()  # the dead holder's note is still there ...
    assert left.pid == proc.pid and left.is_dead()
    assert "has exited" in left.describe()

    put(RegistryStore(path, lock_timeout=5), "a")  # ... but the lock is free
    assert list(RegistryStore(path).load().functions) == ["a"]


def test_threads_of_one_process_exclude_each_other(tmp_path):
    import threading

    path = tmp_path / "registry.json"
    put(RegistryStore(path), "counter")
    errors = []

    def bump(times):
        store = RegistryStore(path, lock_timeout=30)
        try:
            for _ in range(times):
                with store.transaction("user") as txn:
                    record = txn.get("counter")
                    record.spec.timeout += 1
                    time.sleep(0.001)  # widen the read-modify-write window
                    txn.put(record)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(15,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert RegistryStore(path).load().functions["counter"].spec.timeout == 60 + 45


def test_holder_description_for_a_live_process():
    me = LockHolder.current()
    assert me.pid == os.getpid() and not me.is_dead()
    assert "exited" not in me.describe()
