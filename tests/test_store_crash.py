"""Crash safety and concurrency with real processes.

- A writer SIGKILLed at random moments (many of them mid-write: the file is a few MB, so a
  write takes milliseconds) always leaves a registry that parses as one whole version, the
  old or the new, whose backup parses too, and whose lock is free.
- Several processes incrementing one counter at once lose no update, both with the lock
  alone and with optimistic reads refused as stale and retried.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import RegistryStore

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

# Rewrites every record in each transaction with memory = the serial being written, so a
# file holding records of two different serials would be a torn write.
WRITER = """
import os, sys, time
import functions_tui.registry.storage as storage_module
from bench.registry import make_record
from functions_tui.registry.store import RegistryStore

def slow_write(fd, payload, chunk=65536):
    # A slow disk: the real write path, in chunks with pauses, so most kills land mid-write.
    for start in range(0, len(payload), chunk):
        os.write(fd, payload[start:start + chunk])
        time.sleep(0.002)

storage_module._write_fd = slow_write
store = RegistryStore(sys.argv[1])
records = [make_record(i) for i in range(int(sys.argv[2]))]
print("ready", flush=True)
while True:
    with store.transaction("sync") as txn:
        for record in records:
            record.spec.memory = txn.serial + 1
            txn.put(record)
"""

INCREMENTER = """
import sys
from functions_tui.registry.store import RegistryStore, StaleWriteError
store = RegistryStore(sys.argv[1], lock_timeout=60)
optimistic = sys.argv[3] == "optimistic"
retries = 0
for _ in range(int(sys.argv[2])):
    while True:
        if not optimistic:
            with store.transaction("user") as txn:
                record = txn.get("counter")
                record.spec.timeout += 1
                txn.put(record)
            break
        snapshot = store.load()
        record = snapshot.functions["counter"]
        record.spec.timeout += 1
        try:
            with store.transaction("user", expected_serial=snapshot.serial,
                                   expected_lineage=snapshot.lineage) as txn:
                txn.put(record)
            break
        except StaleWriteError:
            retries += 1
print(retries, flush=True)
"""


def check_whole_version(store: RegistryStore) -> int:
    snapshot = store.load()
    memories = {snapshot.functions.raw(name)["spec"]["memory"] for name in snapshot.functions}
    if snapshot.serial > 0:
        assert memories == {snapshot.serial}, f"torn registry: serial {snapshot.serial}, memories {memories}"
    return snapshot.serial


def test_sigkill_mid_write_leaves_old_or_new_version(tmp_path):
    path = tmp_path / "registry.json"
    store = RegistryStore(path, lock_timeout=10)
    rng = random.Random(20261121)
    serials, torn_writes = [], 0
    for _ in range(30):
        before = check_whole_version(store) if path.exists() else 0
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "1500"], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        torn_writes += bool(list(tmp_path.glob(".registry.json.[0-9]*.tmp")))
        after = check_whole_version(store)
        assert after >= before
        serials.append(after)
        if store.backup_path.exists():
            check_whole_version(RegistryStore(store.backup_path))
    assert serials[-1] > 0, "the writer never completed a write: the test proved nothing"
    # How many kills landed mid-write (a temp file was left); reported, not asserted (random).
    print(f"{torn_writes}/30 kills landed mid-write; serials reached {serials[-1]}")

    # The lock is free, leftover temp files are cleaned up, and the registry is writable.
    with store.transaction("user") as txn:
        txn.remove("fn-000000")
    assert not list(tmp_path.glob(".registry.json*.tmp"))
    assert len(store.load().functions) == 1499


@pytest.mark.parametrize("mode", ["locked", "optimistic"])
def test_concurrent_writers_lose_no_update(tmp_path, mode):
    path = tmp_path / "registry.json"
    store = RegistryStore(path)
    with store.transaction("user") as txn:
        txn.put(FunctionRecord(spec=FunctionSpec(name="counter", runtime="python3.12", timeout=0)))
    workers, each = 4, 15
    procs = [subprocess.Popen([sys.executable, "-c", INCREMENTER, str(path), str(each), mode], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]

    snapshot = store.load()
    assert snapshot.functions["counter"].spec.timeout == workers * each
    assert snapshot.serial == 1 + workers * each
    assert len(store.history("counter")) == 1 + workers * each
