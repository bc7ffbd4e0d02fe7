"""``python -m bench tui``: the real app over a real registry file and a real backend.

Once per run: a moto server (its own process) holding 5,000 marked Lambda functions of this
registry (created with boto3, a thread pool of clients), and two registry files in fresh
FUNCTIONS_TUI homes: 10,000 and 50,000 functions, every one targeting aws, the first 5,000
deployed (in the registry and on moto), the rest not yet. Docker and GCP point at endpoints
that refuse connections: those components are unavailable, as on a laptop with only AWS.

Figures (the app is FunctionsApp with the real SyncService, driven by App.run_test()/Pilot in
this process, or the ``functions-tui`` command in a pty where the figure is a process's):

- ``sandbox_first_screen_s``: ``functions-tui --sandbox`` started in a pty, cold -> the
  dashboard on screen with its panels saying their backends are starting. Goal 3.0. (stderr
  also gives: every component synced, Docker's image builds included, and quitting with the
  backends stopped.)
- ``tui_rows_10k_s``: ``functions-tui`` started in a pty -> the first row of the 10,000 on
  screen (interpreter start, imports, the registry's parse, the first paint). Median of 3.
  Goal 1.0. (stderr also gives the in-process figure: the app created -> its first paint.)
- ``tui_first_sync_vs_headless_ratio``: the app's first background sync round at 10k (all
  jobs started after the first paint -> the last one's result handled), timed by the app's
  own calls, over the same work headless (a fresh SyncService: ``components_for_run`` +
  ``plan``, what ``--sync --dry-run`` does), interleaved in the same run. Goal 1.5. The
  headless side includes reading the registry, which the app did while loading; stderr gives
  the headless plan on an already-read registry too.
- ``cursor_p95_during_sync_ms``: a key press (down/up) posted -> the new cursor row painted,
  in the 10k app while AWS's sync runs (it reruns as soon as it ends; 60 presses, 50 ms apart).
  Every press counts: one never painted counts as the 5 s wait. Goal 50.
- ``filter_key_50k_ms``: one keystroke in the filter bar -> the registry list repainted with
  the new filter, 50k registry after load and first sync; median of a typed word and its
  backspaces. Goal 100.
- ``rss_50k_mb``: resident memory of a process running the app (Pilot, headless) over the 50k
  registry after load and the first sync round. Goal 400.
- ``quit_50k_s``: ``q`` pressed in ``functions-tui`` in a pty over the 50k registry while its
  first sync runs -> the process exited. Goal 0.5.
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

SIZE = (120, 40)
DEPLOYED = 5_000
REGION = "us-east-1"
SMALL, BIG = 10_000, 50_000


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _name(i: int) -> str:
    return f"fn-{i:05d}"


# --- the data ----------------------------------------------------------------------------
def _spec(i: int):
    from functions_tui.registry.models import FunctionSpec

    return FunctionSpec(name=_name(i), runtime="python3.12", entry_point="main", memory=256, timeout=30,
                        env={"GREETING": "hello"}, labels={"team": f"t{i % 7}"}, targets={"aws": {}},
                        code_digest=f"sha256:{i:064x}")


def _write_registry(home: Path, count: int, lineage: str = "") -> str:
    """``count`` functions targeting aws, the first DEPLOYED with an aws record; its lineage."""
    from functions_tui.registry.fingerprint import spec_fingerprint
    from functions_tui.registry.models import ComponentRecord, FunctionRecord
    from functions_tui.registry.store import RegistryStore

    home.mkdir(parents=True, mode=0o700, exist_ok=True)
    store = RegistryStore(home / "registry.json")
    with store.transaction("import") as txn:
        if lineage:
            txn.lineage = lineage   # both registries are the same one's copies: moto's marks are theirs
        for i in range(count):
            spec = _spec(i)
            comps = {"aws": ComponentRecord("aws", base=spec_fingerprint(spec, "aws"), resource_id=_name(i),
                                            last_sync="2026-11-21T04:00:00+00:00")} if i < DEPLOYED else {}
            txn.put(FunctionRecord(spec=spec, components=comps), action="add")
    return store.load().lineage


def _seed_moto(endpoint: str, lineage: str) -> None:
    import boto3

    from functions_tui.components.aws import DIGEST_KEY, MARK_KEY, OWNER_KEY
    from functions_tui.components.local_backends.moto_server import LAMBDA_TRUST_POLICY

    kwargs = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
    role = boto3.client("iam", **kwargs).create_role(
        RoleName="bench", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("main.py", "def main(event, context):\n    return 1\n")
    code = package.getvalue()
    workers = 8

    def create(part: int) -> None:
        lam = boto3.session.Session().client("lambda", **kwargs)
        for i in range(part, DEPLOYED, workers):
            lam.create_function(FunctionName=_name(i), Runtime="python3.12", Role=role, Handler="main.main",
                                Code={"ZipFile": code}, MemorySize=256, Timeout=30,
                                Environment={"Variables": {"GREETING": "hello"}},
                                Tags={MARK_KEY: _name(i), OWNER_KEY: lineage, DIGEST_KEY: f"sha256:{i:064x}"})

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(create, range(workers)))
    _say(f"moto: created {DEPLOYED} Lambda functions in {time.perf_counter() - started:.1f}s")


def _closed_port() -> int:
    from bench._components_aws import _free_port

    return _free_port()   # bound then released: nothing listens there


def _environment(endpoint: str) -> dict[str, str]:
    """The process environment of the app under test: AWS on moto, Docker and GCP refused."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "FUNCTIONS_TUI_", "GOOGLE_")) and k != "DOCKER_HOST"}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "NO_GCE_CHECK": "true",
                "DOCKER_HOST": f"tcp://127.0.0.1:{_closed_port()}",
                "FUNCTIONS_TUI_GCP_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
                "GOOGLE_CLOUD_PROJECT": "bench"})
    return env


# --- in-process measurements ---------------------------------------------------------------
def _app(home: Path, **kw):
    from functions_tui.app.service import SyncService
    from functions_tui.app.tui import FunctionsApp

    app = FunctionsApp(SyncService(home), **kw)
    app.freeze_heap = True   # as app.tui.main runs it
    return app


async def _wait(condition, timeout: float = 600.0, step: float = 0.001) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("the app did not get there in time")
        await asyncio.sleep(step)


def _round_done(app) -> bool:
    return app.sync_count >= len(app.jobs) and not app.syncing


async def _launch_and_first_sync(home: Path, count: int) -> tuple[float, float]:
    """(creating the app -> first paint of ``count`` rows, first sync round started -> shown)."""
    started = time.perf_counter()
    app = _app(home)
    round_started: list[float] = []
    start_syncs = app.start_syncs

    def timed_start_syncs(jobs):
        if not round_started:
            round_started.append(time.perf_counter())
        start_syncs(jobs)

    app.start_syncs = timed_start_syncs
    round_done: list[float] = []
    sync_ended = app._sync_ended

    def timed_sync_ended(job, ok=True):
        sync_ended(job, ok)
        if not round_done and _round_done(app):
            round_done.append(time.perf_counter())

    app._sync_ended = timed_sync_ended
    # The app records both moments itself; the polling here is coarse so it does not compete
    # with the app for the GIL (a 1 ms poll slowed the sync it waits for).
    async with app.run_test(size=SIZE):
        await _wait(lambda: app.first_paint_at is not None, step=0.02)
        rows = app.dashboard.registry_panel.function_list.row_count
        assert rows == count, f"registry panel shows {rows} rows, expected {count}"
        paint = app.first_paint_at - started
        await _wait(lambda: bool(round_done), step=0.02)
        first_sync = round_done[0] - round_started[0]
        failed = [e for e in app.dashboard.activity.entries if "failed" in str(e)]
        assert not failed, failed
    return paint, first_sync


def _headless_plan(home: Path) -> float:
    from functions_tui.app.service import SyncService

    started = time.perf_counter()
    service = SyncService(home)
    names, _ = service.components_for_run()
    plan = service.plan(names)
    elapsed = time.perf_counter() - started
    assert "aws" not in plan.unknown, plan.unknown
    return elapsed


def _warm_headless_plan(home: Path) -> float:
    """The headless plan again on a service that has read the registry already (context only)."""
    from functions_tui.app.service import SyncService

    service = SyncService(home)
    names, _ = service.components_for_run()
    service.plan(names)
    started = time.perf_counter()
    service.plan(names)
    return time.perf_counter() - started


async def _cursor_during_sync(home: Path, presses: int = 60) -> list[float]:
    """Key event posted -> the new cursor row painted, timed by hooking the list's render_line.

    (Pilot.press is not used for timing: it waits for the whole process to go idle, which a
    running sync never lets happen, so it would measure the sync, not the UI.) A press whose
    row is never painted counts as the whole wait, so no press is dropped.
    """
    from dataclasses import replace
    from textual import events

    app = _app(home)
    # AWS's sync (the one with 5,000 functions to list) reruns as soon as it ends, so a sync is
    # (almost) always running; the others keep their interval (they would otherwise finish
    # every few ms, each a message for the event loop that no real sync schedule sends).
    app.jobs = [replace(job, interval=0.01) if "aws" in job.components else job for job in app.jobs]
    timings: list[float] = []
    async with app.run_test(size=SIZE):
        await _wait(lambda: app.first_paint_at is not None)
        lst = app.dashboard.registry_panel.function_list
        lst.focus()
        painted: dict[int, float] = {}
        render_line = lst.render_line

        def timed_render_line(y: int):
            strip = render_line(y)
            row = lst.scroll_offset.y + y
            if row == lst.cursor and row not in painted:
                painted[row] = time.perf_counter()
            return strip

        lst.render_line = timed_render_line
        direction = 1
        syncs_seen = set()
        while len(timings) < presses:
            await _wait(lambda: "aws" in app.syncing, step=0.005)   # the slow job: AWS's 5,000
            syncs_seen.add(app.sync_count)
            if lst.cursor >= 10:
                direction = -1
            elif lst.cursor <= 0:
                direction = 1
            target = lst.cursor + direction
            painted.pop(target, None)
            started = time.perf_counter()
            app.post_message(events.Key("down" if direction == 1 else "up", None))
            deadline = started + 5
            while target not in painted and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            timings.append((painted.get(target, deadline) - started) * 1000)
            await asyncio.sleep(0.05)   # a person does not press 1000 keys a second
        _say(f"cursor: {presses} presses over {len(syncs_seen)} sync runs")
    return timings


async def _filter_keys(home: Path, word: str = "fn-012") -> list[float]:
    """Each keystroke of ``word`` typed into the filter bar, then each backspace: key posted ->
    the registry list painted with the filter that keystroke made."""
    from textual import events

    app = _app(home)
    timings: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await _wait(lambda: app.first_paint_at is not None)
        await _wait(lambda: _round_done(app))
        await pilot.press("slash")
        lst = app.dashboard.registry_panel.function_list
        painted: list[tuple[str, float]] = []
        render_line = lst.render_line

        def timed_render_line(y: int):
            painted.append((lst.filter_text, time.perf_counter()))
            return render_line(y)

        lst.render_line = timed_render_line
        typed = ""
        keys = [(c, typed := typed + c) for c in word]
        keys += [("backspace", word[:i]) for i in range(len(word) - 1, -1, -1)]
        bar = app.focused
        for key, expected in keys:
            painted.clear()
            started = time.perf_counter()
            app.post_message(events.Key(key, key if len(key) == 1 else None))
            try:
                await _wait(lambda: any(text == expected.lower() for text, _ in painted), timeout=30, step=0.0005)
            except RuntimeError:
                raise RuntimeError(f"filter {expected!r} never painted: list has {lst.filter_text!r}, "
                                   f"bar {bar.value!r}, painted {sorted(set(t for t, _ in painted))}") from None
            timings.append((next(t for text, t in painted if text == expected.lower()) - started) * 1000)
            await asyncio.sleep(0.05)
    return timings


# --- whole-process measurements ---------------------------------------------------------------
_RSS_CHILD = r"""
import asyncio, sys, time
from pathlib import Path
from functions_tui.app.service import SyncService
from functions_tui.app.tui import FunctionsApp

async def main():
    app = FunctionsApp(SyncService(Path(sys.argv[1])))
    app.freeze_heap = True   # as app.tui.main runs it
    async with app.run_test(size=(120, 40)) as pilot:
        while app.first_paint_at is None or app.sync_count < len(app.jobs) or app.syncing:
            await asyncio.sleep(0.01)
        await pilot.pause()
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        print(int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024, flush=True)

asyncio.run(main())
"""


def _rss(home: Path, env: dict[str, str]) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(home)], env=env, capture_output=True,
                         text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"rss child exited {out.returncode}: {out.stderr[-2000:]}")
    rss, peak = out.stdout.split()
    return int(rss), int(peak)


def _quit_in_pty(home: Path, env: dict[str, str]) -> float:
    """Start ``functions-tui`` in a pty, wait for rows and a running sync, press q, time the exit."""
    return _in_pty(home, env)[1]


def _in_pty(home: Path, env: dict[str, str]) -> tuple[float, float]:
    """``functions-tui`` in a pty: (process started -> the first row on screen, q pressed while
    the first sync runs -> the process exited)."""
    import pty
    import select

    from bench.cli import _tool

    launched = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.clear()
        os.environ.update({**env, "FUNCTIONS_TUI_HOME": str(home), "TERM": "xterm-256color",
                           "COLUMNS": "120", "LINES": "40"})
        cmd = _tool("functions-tui")
        os.execv(cmd[0], cmd)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""
    deadline = time.monotonic() + 300

    def read(timeout: float) -> None:
        nonlocal seen
        ready, _, _ = select.select([fd], [], [], timeout)
        if ready:
            try:
                seen = (seen + os.read(fd, 1 << 16))[-200_000:]
            except OSError:
                pass

    rows_at = None
    # "fn-00000" painted and a panel says it is syncing: the user sees rows while a sync runs
    while not (b"fn-00000" in seen and "syncing".encode() in seen):
        if rows_at is None and b"fn-00000" in seen:
            rows_at = time.perf_counter() - launched
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            raise RuntimeError(f"functions-tui never showed rows: {seen[-500:]!r}")
        read(0.005)
    if rows_at is None:
        rows_at = time.perf_counter() - launched
    for _ in range(5):   # let the first frames settle (not timed)
        read(0.05)
    started = time.perf_counter()
    os.write(fd, b"q")
    while True:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            break
        read(0.002)   # keep draining: a full pty would block the app's last writes
        if time.perf_counter() - started > 120:
            os.kill(pid, 9)
            raise RuntimeError("functions-tui did not exit 120 s after q")
    elapsed = time.perf_counter() - started
    os.close(fd)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"functions-tui exited {os.waitstatus_to_exitcode(status)}: {seen[-800:]!r}")
    return rows_at, elapsed


def _sandbox_in_pty(env: dict[str, str]) -> tuple[float, float, float]:
    """``functions-tui --sandbox`` in a pty, cold (it starts moto, the emulator and Docker):
    (started -> the dashboard on screen with the backends starting, -> every component synced
    (Docker's images built), q pressed -> the process exited with its backends stopped)."""
    import pty
    import select

    from bench.cli import _tool

    launched = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.clear()
        os.environ.update({**env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "45"})
        os.environ.pop("FUNCTIONS_TUI_HOME", None)
        cmd = _tool("functions-tui") + ["--sandbox"]
        os.execv(cmd[0], cmd)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
    seen = b""
    deadline = time.monotonic() + 600

    def read(timeout: float) -> None:
        nonlocal seen
        ready, _, _ = select.select([fd], [], [], timeout)
        if ready:
            try:
                seen = (seen + os.read(fd, 1 << 16))[-400_000:]
            except OSError:
                pass

    def wait_for(text: bytes) -> float:
        while text not in seen:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                raise RuntimeError(f"functions-tui --sandbox never showed {text!r}: {seen[-500:]!r}")
            read(0.005)
        return time.perf_counter() - launched

    first_screen = wait_for(b"starting")          # a panel says its backend is starting
    all_ready = wait_for(b"sync docker:")          # the last component (Docker) synced
    for _ in range(5):
        read(0.05)
    started = time.perf_counter()
    os.write(fd, b"q")
    while not os.waitpid(pid, os.WNOHANG)[0]:
        read(0.01)
        if time.perf_counter() - started > 120:
            os.kill(pid, 9)
            raise RuntimeError("functions-tui --sandbox did not exit 120 s after q")
    os.close(fd)
    return first_screen, all_ready, time.perf_counter() - started


# --- the run ---------------------------------------------------------------------------------
def _figure(name: str, value, unit: str, goal) -> dict:
    return {"bench": "tui", "figure": name, "value": value, "unit": unit, "goal": goal}


def run() -> Iterator[dict]:
    from bench._components_aws import _start_moto_process
    from functions_tui.components import load_kinds

    load_kinds()   # the registries it writes target the default components (one per kind)
    saved_env = dict(os.environ)
    first, ready, quit_s = _sandbox_in_pty(saved_env)
    _say(f"--sandbox: first screen {first:.2f} s, every component synced {ready:.1f} s, quit (backends "
         f"stopped) {quit_s:.1f} s")
    yield _figure("sandbox_first_screen_s", round(first, 3), "s", 3.0)
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        small, big = Path(tmp) / "home-10k", Path(tmp) / "home-50k"
        moto, endpoint = _start_moto_process()
        try:
            started = time.perf_counter()
            lineage = _write_registry(big, BIG)
            _write_registry(small, SMALL, lineage)
            _say(f"registries of {SMALL} and {BIG} functions written in {time.perf_counter() - started:.1f}s")
            _seed_moto(endpoint, lineage)
            env = _environment(endpoint)
            os.environ.clear()
            os.environ.update(env)
            from functions_tui.app.service import SyncService
            for home in (small, big):   # detections cached in components.json, as after a first start
                SyncService(home).detections(refresh=True)

            paints, ratios, app_syncs, headless = [], [], [], []
            asyncio.run(_launch_and_first_sync(small, SMALL))   # warm-up: imports, connections
            _headless_plan(small)
            for _ in range(3):   # interleaved: both sides see the same machine load
                paint, first_sync = asyncio.run(_launch_and_first_sync(small, SMALL))
                alone = _headless_plan(small)
                paints.append(paint)
                app_syncs.append(first_sync)
                headless.append(alone)
                ratios.append(first_sync / alone)
            launches = [_in_pty(small, env)[0] for _ in range(3)]
            _say(f"functions-tui started -> first row on screen at 10k (pty): "
                 f"{', '.join(f'{p:.3f}' for p in launches)} s; in-process, app created -> first paint: "
                 f"{', '.join(f'{p:.3f}' for p in paints)} s")
            _say(f"first sync in the app: {', '.join(f'{s:.2f}' for s in app_syncs)} s; headless plan: "
                 f"{', '.join(f'{s:.2f}' for s in headless)} s (a fresh SyncService, as --sync --dry-run; "
                 f"with the registry already parsed: {_warm_headless_plan(small):.2f} s)")
            yield _figure("tui_rows_10k_s", round(statistics.median(launches), 3), "s", 1.0)
            yield _figure("tui_first_sync_vs_headless_ratio", round(statistics.median(ratios), 3), "ratio", 1.5)

            timings = asyncio.run(_cursor_during_sync(small))
            ordered = sorted(timings)
            p95 = ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)]
            _say(f"cursor during sync: {len(timings)} presses, median {statistics.median(timings):.1f} ms, "
                 f"p95 {p95:.1f} ms, max {max(timings):.1f} ms")
            yield _figure("cursor_p95_during_sync_ms", round(p95, 1), "ms", 50)

            keys = asyncio.run(_filter_keys(big))
            _say(f"filter keystrokes at 50k: {', '.join(f'{k:.0f}' for k in keys)} ms")
            yield _figure("filter_key_50k_ms", round(statistics.median(keys), 1), "ms", 100)

            rss, peak = _rss(big, env)
            _say(f"app process at 50k after load and first sync: RSS {rss} MB (peak {peak} MB)")
            yield _figure("rss_50k_mb", rss, "MB", 400)

            quits = [_quit_in_pty(big, env) for _ in range(3)]
            _say(f"quit at 50k during the first sync: {', '.join(f'{q:.2f}' for q in quits)} s")
            yield _figure("quit_50k_s", round(max(quits), 3), "s", 0.5)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            moto.kill()
            moto.wait()
