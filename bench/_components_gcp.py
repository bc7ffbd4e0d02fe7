"""gcp_observe_1k_ratio: GcpComponent.observe() over the bare v2 ``list_functions`` pager,
1,000 marked functions in the emulator, same run, same page size.

The emulator runs in its own process (started with ``--state`` on a seeded file) so its
serving work does not share this process's GIL with the client being measured. Both sides
repeat a few times after a warm-up; the figure is the ratio of the medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTIONS = 1000
ROUNDS = 7
PROJECT = "bench-project"
REGIONS = ("us-central1", "europe-west1", "asia-east1")
GOAL = 1.5


def _seed(path: Path, owner: str = "") -> None:
    from functions_tui.registry.kinds import kind_of
    from functions_tui.components.gcp import encode_digest
    from functions_tui.components.gcp_emulator.state import EmulatorState


    state = EmulatorState(path=path)
    functions = {}
    for i in range(FUNCTIONS):
        region = REGIONS[i % len(REGIONS)]
        name = f"projects/{PROJECT}/locations/{region}/functions/fn-{i:04d}"
        functions[name] = {
            "buildConfig": {"runtime": "python312", "entryPoint": "handler",
                            "source": {"storageSource": {"bucket": "b", "object": f"fn-{i}.zip"}}},
            "serviceConfig": {"availableMemory": "256M", "timeoutSeconds": 60,
                              "environmentVariables": {"GREETING": f"hi-{i}", "MODE": "bench"}},
            "labels": {kind_of("gcp").mark_key: f"fn-{i:04d}", "team": "bench", **({kind_of("gcp").owner_key: owner} if owner else {}),
                       kind_of("gcp").digest_key: encode_digest("sha256:" + format(i, "064x"))},
        }
    state.put_functions(functions)


def _start(state_file: Path) -> tuple[subprocess.Popen, str]:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "functions_tui.components.gcp_emulator", "--port", "0",
                             "--state", str(state_file)], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)})
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the GCP emulator did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1].strip()


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure() -> dict:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import functions_v2

    from functions_tui.components.gcp import GcpComponent

    with tempfile.TemporaryDirectory(prefix="bench-gcp-") as tmp:
        state_file = Path(tmp) / "state.json"
        _seed(state_file)
        proc, endpoint = _start(state_file)
        try:
            component = GcpComponent(project=PROJECT, endpoint=endpoint)
            client = functions_v2.FunctionServiceClient(
                transport="rest", client_options=ClientOptions(api_endpoint=endpoint),
                credentials=AnonymousCredentials())
            request = {"parent": f"projects/{PROJECT}/locations/-", "page_size": component.page_size}

            def bare() -> None:
                listed = list(client.list_functions(request=request))
                assert len(listed) == FUNCTIONS, len(listed)

            def adapter() -> None:
                observation = component.observe()
                assert observation.complete and len(observation.items) == FUNCTIONS, observation.errors

            bare(), adapter()  # warm-up: connections, imports, caches
            bare_s, adapter_s = [], []
            for _ in range(ROUNDS):  # interleaved, so machine noise hits both sides alike
                bare_s.append(_timed(bare))
                adapter_s.append(_timed(adapter))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    bare_med, adapter_med = statistics.median(bare_s), statistics.median(adapter_s)
    print(f"components/gcp: bare pager {bare_med * 1000:.0f} ms, adapter observe {adapter_med * 1000:.0f} ms "
          f"({FUNCTIONS} functions, page size {request['page_size']}, median of {ROUNDS})", file=sys.stderr)
    return {"bench": "components", "figure": "gcp_observe_1k_ratio", "value": round(adapter_med / bare_med, 3),
            "unit": "ratio", "goal": GOAL}


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
