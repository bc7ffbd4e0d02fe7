"""``python -m bench cli``: the command as a user runs it, whole process, wall clock.

- ``cli_start_s``: ``functions-tui --help`` (median of runs). Goal 0.25 s: argparse only at
  import time, every SDK and rich imported lazily.
- ``sync_dry_run_1k_vs_cli_ratio``: ``functions-tui --sync aws docker --dry-run`` over 1,000
  functions on AWS (moto's server, its own process) and 1,000 on Docker (a private dockerd),
  divided by what a tool that only lists costs on the same data: ``aws lambda
  list-functions`` + ``docker ps -a`` + ``docker images`` run back to back. Goal 1.0.
- ``status_10k_s``: ``functions-tui status`` on a 10,000-function registry (1,000 of them
  deployed on the same moto), no goal: reported for the note.

Chatter goes to stderr. The registry is filled the way a user would fill it: one
``--sync`` that adopts every marked function (component-wins), then timed dry runs that
find everything in sync.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
        return [sys.executable, "-m", "app"]
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
def _docker_archive(count: int) -> bytes:
    from bench._components_docker import image_archive

    return image_archive(count, prefix="local", spec_for=lambda i: {
        "runtime": "python3.12", "entry_point": "main", "memory": 256, "timeout": 30,
        "labels": {"team": "bench"}, "env": {}})


def _seed_docker(host: str) -> None:
    import docker

    api = docker.APIClient(base_url=host, version="auto", timeout=600)
    started = time.perf_counter()
    for _ in api.load_image(_docker_archive(FUNCTIONS)):
        pass
    api.close()
    _say(f"docker: loaded {FUNCTIONS} function images in {time.perf_counter() - started:.1f}s")


def _seed_big_registry(home: Path, count: int) -> None:
    """A 10k registry like a real one: env, labels, targets on all three components."""
    from registry.models import ComponentRecord, FunctionRecord, FunctionSpec
    from registry.store import RegistryStore

    store = RegistryStore(home / "registry.json")
    with store.transaction("import") as txn:
        for i in range(count):
            spec = FunctionSpec(name=f"fn-{i:05d}", runtime="python3.12", memory=256, timeout=30,
                                env={"GREETING": "hello", "MODE": f"m{i % 5}"}, labels={"team": f"t{i % 7}"},
                                targets={"docker": {}, "gcp": {"region": "us-central1"}, "aws": {}},
                                code_digest=f"sha256:{i:064x}")
            txn.put(FunctionRecord(spec=spec, components={c: ComponentRecord(c) for c in ("docker", "gcp", "aws")}),
                    action="add")


def sync_ratio_and_status() -> Iterator[dict]:
    from bench._components_aws import _seed as seed_aws
    from bench._components_aws import _start_moto_process
    from components.local_backends.dockerd import start_dockerd

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        tmp_path = Path(tmp)
        moto, endpoint = _start_moto_process()
        engine = None
        try:
            engine = start_dockerd(tmp_path / "dockerd")
            started = time.perf_counter()
            seed_aws(endpoint)
            _say(f"aws: seeded {FUNCTIONS} functions in {time.perf_counter() - started:.1f}s")
            _seed_docker(engine.host)

            home = tmp_path / "home"
            home.mkdir(mode=0o700)
            (home / "config.yaml").write_text("policies: {docker: component-wins, aws: component-wins}\n")
            env = {**_base_env(home), "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "DOCKER_HOST": engine.host, "COLUMNS": "120"}
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
            bare = [aws, docker_cli + ["ps", "-a"], docker_cli + ["images"]]
            for cmd in bare:
                _timed(cmd, env)  # warm-up
            ours_times, bare_times = [], []
            for _ in range(SYNC_ROUNDS):  # interleaved: both sides see the same machine load
                ours_times.append(_timed(ftui + ["--sync", "aws", "docker", "--dry-run"], env, ok=(0, 2)))
                bare_times.append(sum(_timed(cmd, env) for cmd in bare))
            ours, theirs = statistics.median(ours_times), statistics.median(bare_times)
            _say(f"--sync --dry-run: {ours:.2f}s; aws lambda list-functions + docker ps -a + docker images: "
                 f"{theirs:.2f}s (medians of {SYNC_ROUNDS})")
            yield {"bench": "cli", "figure": "sync_dry_run_1k_vs_cli_ratio", "value": round(ours / theirs, 3),
                   "unit": "ratio", "goal": 1.0}

            big = tmp_path / "big"
            big.mkdir(mode=0o700)
            _seed_big_registry(big, BIG_REGISTRY)
            big_env = {**env, "FUNCTIONS_TUI_HOME": str(big)}
            _timed(ftui + ["components", "--refresh"], big_env)
            times = [_timed(ftui + ["status"], big_env) for _ in range(3)]
            value = statistics.median(times)
            _say(f"status over a {BIG_REGISTRY}-function registry (aws + docker observed): {value:.2f}s")
            yield {"bench": "cli", "figure": "status_10k_s", "value": round(value, 3), "unit": "s", "goal": None}
        finally:
            if engine is not None:
                engine.stop()
            moto.kill()
            moto.wait()


def run() -> Iterator[dict]:
    global _PYCACHE
    with tempfile.TemporaryDirectory(prefix="functions-tui-bench-pycache-") as cache:
        _PYCACHE = cache
        yield cli_start()
        yield from sync_ratio_and_status()
