"""aws_observe_1k_ratio: AwsComponent.observe() over boto3's bare paginated ``list_functions``.

1,000 marked Lambda functions in a moto server, both measured in the same run against the
same server (warm clients, median of interleaved rounds). The adapter does more than the
bare listing: it also pages through the tagging API (10 pages of 100) to find its marks,
but never sends one request per function (``get_function`` on each of 1,000 is ~35x the
listing). moto answers ListFunctions in a single page, so here the adapter pays 11 requests
to the bare client's 1; against AWS both paginate (20 pages vs 10, run side by side).

moto runs in a child process so the server's work does not compete with the client for
this process's GIL (as it would not against AWS).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from statistics import median

FUNCTIONS = 1000
ROUNDS = 21  # the machine is shared: medians of many interleaved rounds
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_moto_process() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = ("import sys, threading; from functions_tui.components.local_backends.moto_server import start_moto; "
            f"start_moto(port={port}); threading.Event().wait()")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return process, endpoint
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("moto server exited during start")
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start in 60 s")


def _seed(endpoint: str, owner: str = "") -> None:
    """1,000 marked functions; ``owner``: the registry identity to tag them with (bench/cli's
    registry adopts them then), none for a mark from before identities."""
    import boto3

    from functions_tui.components.aws import DIGEST_KEY, MARK_KEY, OWNER_KEY
    from functions_tui.components.local_backends.moto_server import LAMBDA_TRUST_POLICY

    kwargs = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
    role = boto3.client("iam", **kwargs).create_role(
        RoleName="bench", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"]
    lam = boto3.client("lambda", **kwargs)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("main.py", "def main(event, context):\n    return 1\n")
    for i in range(FUNCTIONS):
        name = f"bench-{i:04d}"
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="main.main",
                            Code={"ZipFile": package.getvalue()}, MemorySize=256, Timeout=30,
                            Environment={"Variables": {"GREETING": "hello"}},
                            Tags={MARK_KEY: name, DIGEST_KEY: f"sha256:{i:064x}", "team": "bench",
                                  **({OWNER_KEY: owner} if owner else {})})
        if i % 250 == 249:
            print(f"  aws: seeded {i + 1} functions", file=sys.stderr)


def measure() -> dict:
    import boto3

    from functions_tui.components.aws import AwsComponent

    process, endpoint = _start_moto_process()
    try:
        _seed(endpoint)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        bare = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)
        adapter = AwsComponent(region=REGION, endpoint_url=endpoint)

        def bare_listing() -> int:
            return sum(len(page["Functions"]) for page in bare.get_paginator("list_functions").paginate())

        def adapter_observe() -> int:
            observation = adapter.observe()
            if not observation.complete:
                raise RuntimeError(f"observe incomplete: {observation.errors}")
            return len(observation.items)

        # Warm both (client construction, endpoint resolution, connection pools).
        assert bare_listing() == FUNCTIONS and adapter_observe() == FUNCTIONS
        bare_times, adapter_times = [], []
        for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
            for fn, times in ((bare_listing, bare_times), (adapter_observe, adapter_times)):
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
        ratio = median(adapter_times) / median(bare_times)
        print(f"  aws: median bare list_functions {median(bare_times) * 1000:.0f} ms, adapter observe "
              f"{median(adapter_times) * 1000:.0f} ms (best {min(bare_times) * 1000:.0f} / "
              f"{min(adapter_times) * 1000:.0f} ms)", file=sys.stderr)
        return {"bench": "components", "figure": "aws_observe_1k_ratio", "value": round(ratio, 3),
                "unit": "ratio", "goal": 1.5}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
