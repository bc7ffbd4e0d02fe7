"""A writer SIGKILLed at random moments never leaves a half generation: every file in
``generations/`` parses as one whole registry version, so restore can trust any of them.
The generations are copied here (hard links refused, as across filesystems), the slow path:
a temp file written in chunks, fsynced and renamed. Each writer kills itself at a chunk the
test picks (from a seeded random), so the kill points are the same on any machine, and many
land mid-copy: no timing is involved."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from functions_tui.registry.store import RegistryStore

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

WRITER = """
import errno, os, signal, sys
import functions_tui.registry.storage as storage_module
from bench.registry import make_record
from functions_tui.registry.store import RegistryStore

KILL_AT = int(sys.argv[3])   # the chunk before which this writer is killed
written = 0

def killing_write(fd, payload, chunk=65536):
    global written
    for start in range(0, len(payload), chunk):
        if written == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        os.write(fd, payload[start:start + chunk])
        written += 1

def no_hard_links(src, dst, **kwargs):
    raise OSError(errno.EXDEV, "Invalid cross-device link")

storage_module._write_fd = killing_write
storage_module.os = type(os)("os_without_links")
storage_module.os.__dict__.update(os.__dict__)
storage_module.os.link = no_hard_links
store = RegistryStore(sys.argv[1], generations=4)
records = [make_record(i) for i in range(int(sys.argv[2]))]
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
        proc = subprocess.run([sys.executable, "-c", WRITER, str(path), "800", str(rng.randrange(1, 200))],
                              cwd=ROOT, timeout=300)
        assert proc.returncode == -signal.SIGKILL
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
