"""``python -m bench cli``: the command as a user runs it, whole process, wall clock.

- ``cli_start_s``: ``functions-tui --help`` (median of runs). Goal 0.25 s: argparse only at
  import time, every SDK and rich imported lazily.
- ``sync_dry_run_1k_vs_cli_ratio``: ``functions-tui --sync aws docker --dry-run`` over 1,000
  functions on AWS (moto's server, its own process) and 1,000 on Docker (a private dockerd),
  divided by what a tool that only lists costs on the same data: ``aws lambda
  list-functions`` + ``docker ps -a`` run back to back. Goal 0.8 (issue 12; it was 1.0
  against those two plus ``docker images``).
- ``status_1k_first_s`` / ``status_1k_s``: a whole ``functions-tui status`` process over a
  1,000-function registry with the three components on local backends (moto's server, the
  GCP emulator, a private dockerd), each holding 1,000 marked functions. The first run has no
  detection cache (components.json) yet; the warm figure is the median of runs after it.
  Goal 0.5 s for both.
- ``status_10k_s``: ``functions-tui status`` on a 10,000-function registry (1,000 of them
  deployed on the same moto), no goal: reported for the note.

Chatter goes to stderr. The registry is filled the way a user would fill it: one
``--sync`` that adopts every marked function (component-wins), then timed dry runs that
find everything in sync.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

FUNCTIONS = 1000
START_RUNS = 11
SYNC_ROUNDS = 7
BIG_REGISTRY = 10_000


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _tool(name: str) -> list[str]:
    """The executable next to this interpreter (not a pyenv shim, which adds its own start-up)."""
    local = Path(sys.executable).with_name(name)
    if local.exists():
        return [str(local)]
    found = shutil.which(name)
    if found:
        return [found]
    if name == "functions-tui":
        return [sys.executable, "-m", "functions_tui.app"]
    raise RuntimeError(f"{name} not found")


def _aws_cli() -> list[str]:
    """The AWS CLI: the one installed, else awscli in a private venv (its botocore pin must
    not touch the project's)."""
    try:
        return _tool("aws")
    except RuntimeError:
        pass
    venv = Path(tempfile.gettempdir()) / "functions-tui-bench-awscli"
    aws = venv / "bin" / "aws"
    if not aws.exists():
        _say("installing awscli into a private venv for the comparison")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "awscli"], check=True)
    return [str(aws)]


def _timed(cmd: list[str], env: dict[str, str], ok=(0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return elapsed


_PYCACHE = ""  # set by run()


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "FUNCTIONS_TUI_", "GOOGLE_")) and k != "DOCKER_HOST"}
    # Compiled bytecode as an installed package has it (this machine sets PYTHONDONTWRITEBYTECODE,
    # which would make every run compile the project from source), kept out of the checkout.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # One cache per bench run: a cache kept across runs could hold bytecode of an edit made in
    # the same second as the compile (pyc checks mtime seconds + size). Each figure warms it first.
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    env.update({"FUNCTIONS_TUI_HOME": str(home), "NO_GCE_CHECK": "true",
                "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"})
    return env


# --- cli_start_s ---------------------------------------------------------------------------
def cli_start() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        env = _base_env(Path(tmp) / "home")
        cmd = _tool("functions-tui") + ["--help"]
        _timed(cmd, env)  # warm the page cache
        times = [_timed(cmd, env) for _ in range(START_RUNS)]
    value = statistics.median(times)
    _say(f"functions-tui --help: median {value * 1000:.0f} ms of {START_RUNS}")
    return {"bench": "cli", "figure": "cli_start_s", "value": round(value, 3), "unit": "s", "goal": 0.25}


# --- the 1k data ------------------------------------------------------------------------------
def _docker_archive(count: int, owner: str) -> bytes:
    from bench._components_docker import image_archive

    return image_archive(count, prefix="local", owner=owner, spec_for=lambda i: {
        "runtime": "python3.12", "entry_point": "main", "memory": 256, "timeout": 30,
        "labels": {"team": "bench"}, "env": {}})


def _seed_docker(host: str, owner: str) -> None:
    import docker

    api = docker.APIClient(base_url=host, version="auto", timeout=600)
    started = time.perf_counter()
    for _ in api.load_image(_docker_archive(FUNCTIONS, owner)):
        pass
    api.close()
    _say(f"docker: loaded {FUNCTIONS} function images in {time.perf_counter() - started:.1f}s")


def _seed_big_registry(home: Path, count: int, name=lambda i: f"fn-{i:05d}") -> None:
    """A 10k registry like a real one: env, labels, targets on all three components."""
    from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
    from functions_tui.registry.store import RegistryStore

    store = RegistryStore(home / "registry.json")
    with store.transaction("import") as txn:
        for i in range(count):
            spec = FunctionSpec(name=name(i), runtime="python3.12", memory=256, timeout=30,
                                env={"GREETING": "hello", "MODE": f"m{i % 5}"}, labels={"team": f"t{i % 7}"},
                                targets={"docker": {}, "gcp": {"region": "us-central1"}, "aws": {}},
                                code_digest=f"sha256:{i:064x}")
            txn.put(FunctionRecord(spec=spec, components={c: ComponentRecord(c) for c in ("docker", "gcp", "aws")}),
                    action="add")


def _registry_home(home: Path) -> str:
    """A config dir whose registry exists already (one placeholder function, no targets);
    returns its identity (lineage). The backends' functions carry it in their ownership mark,
    as functions this registry deployed would: the first ``--sync`` adopts them (a mark without
    an identity would read as another registry's, and nothing would be in sync)."""
    from functions_tui.registry.models import FunctionRecord, FunctionSpec
    from functions_tui.registry.store import RegistryStore

    home.mkdir(mode=0o700)
    (home / "config.yaml").write_text("policies: {docker: component-wins, aws: component-wins}\n")
    store = RegistryStore(home / "registry.json")
    with store.transaction("import") as txn:
        txn.put(FunctionRecord(spec=FunctionSpec(name="placeholder", runtime="python3.12")), action="add")
    return store.load().lineage


@contextmanager
def backends(tmp_path: Path, owner: str = "") -> Iterator[dict[str, str]]:
    """moto's server, the GCP emulator and a private dockerd, each holding 1,000 functions
    marked as deployed by the registry ``owner``; yields the environment a user's shell would
    have for them."""
    from bench._components_aws import _seed as seed_aws
    from bench._components_aws import _start_moto_process
    from bench._components_gcp import PROJECT
    from bench._components_gcp import _seed as seed_gcp
    from bench._components_gcp import _start as start_gcp
    from functions_tui.components.local_backends.dockerd import start_dockerd

    moto, endpoint = _start_moto_process()
    engine = gcp = None
    try:
        engine = start_dockerd(tmp_path / "dockerd")
        started = time.perf_counter()
        seed_aws(endpoint, owner)
        _say(f"aws: seeded {FUNCTIONS} functions in {time.perf_counter() - started:.1f}s")
        _seed_docker(engine.host, owner)
        seed_gcp(tmp_path / "gcp-state.json", owner)
        gcp, gcp_endpoint = start_gcp(tmp_path / "gcp-state.json")
        yield {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "DOCKER_HOST": engine.host, "FUNCTIONS_TUI_GCP_ENDPOINT": gcp_endpoint,
               "GOOGLE_CLOUD_PROJECT": PROJECT, "COLUMNS": "120"}
    finally:
        if gcp is not None:
            gcp.terminate()
            gcp.wait()
        if engine is not None:
            engine.stop()
        moto.kill()
        moto.wait()


#: A checkout of another version (e.g. ``git worktree add /tmp/before HEAD~1``) to time side by
#: side with this one, interleaved in the same run: its figures go in each line's "baseline".
BASELINE = os.environ.get("FUNCTIONS_TUI_BENCH_BASELINE", "")


def _variants(env: dict[str, str]) -> dict[str, dict[str, str]]:
    """This checkout's environment, and the baseline checkout's when one is given."""
    out = {"new": {**env, "PYTHONPATH": _import_root(Path(__file__).resolve().parents[1])}}
    if BASELINE:
        out["baseline"] = {**env, "PYTHONPATH": _import_root(Path(BASELINE).resolve())}
    return out


def _import_root(checkout: Path) -> str:
    """A PYTHONPATH on which the ``functions-tui`` command (``functions_tui.app.cli:main``)
    runs ``checkout``'s code, not the installed one's: a ``functions_tui`` folder whose layer
    folders link to the checkout's (found before the editable install's finder). A checkout
    from before the namespace (top-level ``app``…) gets a one-line ``functions_tui.app.cli``
    that runs its ``app.cli``, and is itself on the path."""
    digest = hashlib.sha1(str(checkout).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"functions-tui-bench-import-{digest}"
    package = root / "functions_tui"
    shutil.rmtree(root, ignore_errors=True)
    package.mkdir(parents=True)
    if "functions_tui" in (checkout / "app" / "cli.py").read_text():
        for layer in ("app", "screens", "components", "registry"):
            (package / layer).symlink_to(checkout / layer, target_is_directory=True)
        return str(root)
    (package / "app").mkdir()
    (package / "app" / "__init__.py").write_text("")
    (package / "app" / "cli.py").write_text("from app.cli import main  # a checkout before the namespace\n")
    return f"{root}{os.pathsep}{checkout}"


def _with_baseline(figure: dict, baseline: float | None) -> dict:
    if baseline is not None:
        figure["baseline"] = round(baseline, 3)
    return figure


def status_1k(tmp_path: Path, template: Path, backend_env: dict[str, str]) -> Iterator[dict]:
    """``functions-tui status`` over 1,000 registered functions, all three components observed:
    first run (no detection cache yet), then warm (each round: every variant, interleaved)."""
    firsts: dict[str, list[float]] = {}
    warms: dict[str, list[float]] = {}
    envs = {}
    for variant, variant_env in _variants(backend_env).items():
        home = tmp_path / f"status-home-{variant}"
        shutil.copytree(template, home)  # this registry's identity: the backends' functions are its own
        _seed_big_registry(home, FUNCTIONS, name=lambda i: f"bench-{i:04d}")  # the names moto holds
        envs[variant] = {**_base_env(home), **variant_env}
        _timed(_tool("functions-tui") + ["--help"], envs[variant])  # compiled bytecode, as installed
    cmd = _tool("functions-tui") + ["status"]
    for _ in range(3):  # a first run: no components.json yet
        for variant, env in envs.items():
            (Path(env["FUNCTIONS_TUI_HOME"]) / "components.json").unlink(missing_ok=True)
            firsts.setdefault(variant, []).append(_timed(cmd, env))
    for _ in range(START_RUNS):
        for variant, env in envs.items():
            warms.setdefault(variant, []).append(_timed(cmd, env))
    first, warm = statistics.median(firsts["new"]), statistics.median(warms["new"])
    base_first = statistics.median(firsts["baseline"]) if "baseline" in firsts else None
    base_warm = statistics.median(warms["baseline"]) if "baseline" in warms else None
    _say(f"status over {FUNCTIONS} functions, docker + gcp + aws observed: first run {first:.2f}s, "
         f"then {warm:.2f}s (medians of 3 / {START_RUNS})"
         + (f"; baseline {base_first:.2f}s / {base_warm:.2f}s" if base_warm is not None else ""))
    yield _with_baseline({"bench": "cli", "figure": "status_1k_first_s", "value": round(first, 3), "unit": "s",
                          "goal": 0.5}, base_first)
    yield _with_baseline({"bench": "cli", "figure": "status_1k_s", "value": round(warm, 3), "unit": "s",
                          "goal": 0.5}, base_warm)


def sync_ratio_and_status() -> Iterator[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        tmp_path = Path(tmp)
        template = tmp_path / "template-home"
        with backends(tmp_path, owner=_registry_home(template)) as backend_env:
            yield from status_1k(tmp_path, template, backend_env)
            endpoint = backend_env["AWS_ENDPOINT_URL"]
            home = tmp_path / "home"
            shutil.copytree(template, home)
            env = {**_base_env(home), **backend_env}
            ftui = _tool("functions-tui")
            started = time.perf_counter()
            _timed(ftui + ["--sync", "aws", "docker"], env)  # adopt all 2,000: the registry a user would have
            _say(f"first --sync (adopting {2 * FUNCTIONS}) took {time.perf_counter() - started:.1f}s")
            check = subprocess.run(ftui + ["--sync", "aws", "docker", "--dry-run", "--json"], env=env,
                                   capture_output=True, text=True)
            doc = json.loads(check.stdout)
            _say(f"dry run sees {doc['summary']['states']} (exit {check.returncode})")

            aws = _aws_cli() + ["lambda", "list-functions", "--endpoint-url", endpoint, "--region", "us-east-1"]
            docker_cli = _tool("docker")
            bare = [aws, docker_cli + ["ps", "-a"]]
            for cmd in bare:
                _timed(cmd, env)  # warm-up
            variants = _variants(env)
            ours_times: dict[str, list[float]] = {v: [] for v in variants}
            bare_times = []
            for _ in range(SYNC_ROUNDS):  # interleaved: every side sees the same machine load
                for variant, variant_env in variants.items():
                    ours_times[variant].append(_timed(ftui + ["--sync", "aws", "docker", "--dry-run"], variant_env,
                                                      ok=(0, 2)))
                bare_times.append(sum(_timed(cmd, env) for cmd in bare))
            ours, theirs = statistics.median(ours_times["new"]), statistics.median(bare_times)
            base = statistics.median(ours_times["baseline"]) if "baseline" in ours_times else None
            _say(f"--sync --dry-run: {ours:.2f}s; aws lambda list-functions + docker ps -a: "
                 f"{theirs:.2f}s (medians of {SYNC_ROUNDS})" + (f"; baseline {base:.2f}s" if base is not None else ""))
            yield _with_baseline({"bench": "cli", "figure": "sync_dry_run_1k_vs_cli_ratio",
                                  "value": round(ours / theirs, 3), "unit": "ratio", "goal": 0.8},
                                 base / theirs if base is not None else None)

            big = tmp_path / "big"
            big.mkdir(mode=0o700)
            _seed_big_registry(big, BIG_REGISTRY)
            big_env = {**env, "FUNCTIONS_TUI_HOME": str(big)}
            _timed(ftui + ["components", "--refresh"], big_env)
            times = [_timed(ftui + ["status"], big_env) for _ in range(3)]
            value = statistics.median(times)
            _say(f"status over a {BIG_REGISTRY}-function registry (aws + docker + gcp observed): {value:.2f}s")
            yield {"bench": "cli", "figure": "status_10k_s", "value": round(value, 3), "unit": "s", "goal": None}


def run() -> Iterator[dict]:
    global _PYCACHE
    with tempfile.TemporaryDirectory(prefix="functions-tui-bench-pycache-") as cache:
        _PYCACHE = cache
        yield cli_start()
        yield from sync_ratio_and_status()
