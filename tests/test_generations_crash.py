"""A writer SIGKILLed at random moments never leaves a half generation: every file in
``generations/`` parses as one whole registry version, so restore can trust any of them.
The generations are copied here (hard links refused, as across filesystems), the slow path:
a temp file written in chunks, fsynced and renamed, so many kills land mid-copy."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry.store import RegistryStore

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

WRITER = """
import errno, os, sys, time
import registry.storage
from bench.registry import make_record
from registry.store import RegistryStore

def slow_write(fd, payload, chunk=65536):
    for start in range(0, len(payload), chunk):
        os.write(fd, payload[start:start + chunk])
        time.sleep(0.002)

def no_hard_links(src, dst, **kwargs):
    raise OSError(errno.EXDEV, "Invalid cross-device link")

registry.storage._write_fd = slow_write
registry.storage.os = type(os)("os_without_links")
registry.storage.os.__dict__.update(os.__dict__)
registry.storage.os.link = no_hard_links
store = RegistryStore(sys.argv[1], generations=4)
records = [make_record(i) for i in range(int(sys.argv[2]))]
print("ready", flush=True)
while True:
    with store.transaction("sync") as txn:
        for record in records:
            record.spec.memory = txn.serial + 1
            txn.put(record)
"""


def whole_version(path: Path) -> int:
    snapshot = RegistryStore(path).load()
    memories = {snapshot.functions.raw(name)["spec"]["memory"] for name in snapshot.functions}
    assert memories == {snapshot.serial}, f"torn file {path}: serial {snapshot.serial}, memories {memories}"
    return snapshot.serial


def test_sigkill_never_leaves_a_half_generation(tmp_path):
    path = tmp_path / "registry.json"
    store = RegistryStore(path)
    rng = random.Random(20261202)
    mid_copy = 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "800"], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        mid_copy += bool(list((tmp_path / "generations").glob(".serial-*.tmp")))
        if path.exists():
            current = whole_version(path)
            for g in store.generations():
                assert whole_version(g.path) == g.serial <= current
    kept = store.generations()
    assert kept, "no write ever completed a generation: the test proved nothing"
    print(f"{mid_copy}/25 kills landed mid-copy of a generation; {len(kept)} generations kept")
    assert len(kept) <= 5  # 4 kept, + 1 a killed write may have added before its prune

    # A restore trusts the newest generation older than the registry, and the next write
    # cleans up what the kills left (temp files here and in generations/).
    done = store.restore()
    restored = store.load()
    assert restored.serial == done.serial
    assert {restored.functions.raw(n)["spec"]["memory"] for n in restored.functions} == {done.source.serial}
    with store.transaction("user") as txn:
        txn.remove("fn-000000")
    assert not list(tmp_path.glob(".registry.json*.tmp"))
    assert not list((tmp_path / "generations").glob(".*.tmp"))
