"""docker_observe_1k_ratio: DockerComponent.observe() over the bare low-level listing.

On a private dockerd (never the user's engine) we load 1,000 tiny marked images (plus a
few containers) and time, in the same run and alternating, the adapter's observe() and
the bare ``APIClient.images(filters={"label": mark})`` +
``APIClient.containers(all=True, filters=...)`` it cannot do without. The ratio shows
the adapter adds no request per function (the high-level ``images.list()`` inspects each
image and is ~17x). Goal: <= 1.5.

The 1,000 images are made with ONE ``docker load``: a hand-written image archive whose
1,000 configs (distinct labels) share one empty layer; building them would take minutes.
"""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import sys
import tarfile
import tempfile
import time

from functions_tui.components.docker import KIND as DOCKER


FUNCTIONS = 1000
CONTAINERS = 50
ROUNDS = 15
GOAL = 1.5


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _bench_spec(i: int) -> dict:
    return {"runtime": "python312", "entry_point": "main", "memory": 128 + i % 4 * 128,
            "timeout": 30, "labels": {"team": f"t{i % 7}"}, "env": {"MODE": f"h:{i:016x}"}}


def image_archive(count: int, prefix: str = "bench", spec_for=_bench_spec, owner: str = "") -> bytes:
    """A ``docker save``-style archive of ``count`` marked function images sharing one empty
    layer (building 1,000 images would take minutes on the vfs driver). Also used by bench/cli."""

    from functions_tui.components.docker import SPEC_LABEL

    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w") as layer:
        _add(layer, "marker", b"")
    layer_bytes = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    manifest = []
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        _add(tar, "layer/layer.tar", layer_bytes)
        for i in range(count):
            name = f"{prefix}-{i:04d}"
            spec = spec_for(i)
            config = json.dumps({
                "architecture": "amd64", "os": "linux",
                "config": {"Cmd": ["/marker"], "Labels": {
                    DOCKER.mark_key: name, DOCKER.digest_key: f"sha256:{i:064x}",
                    **({DOCKER.owner_key: owner} if owner else {}),
                    SPEC_LABEL: json.dumps(spec, separators=(",", ":"), sort_keys=True)}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }, sort_keys=True).encode()
            config_name = hashlib.sha256(config).hexdigest() + ".json"
            _add(tar, config_name, config)
            manifest.append({"Config": config_name, "RepoTags": [f"functions-tui/{name}:latest"],
                             "Layers": ["layer/layer.tar"]})
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return out.getvalue()


def _seed(api, count: int, containers: int) -> None:
    started = time.perf_counter()
    for _ in api.load_image(image_archive(count)):
        pass
    for i in range(containers):
        name = f"bench-{i:04d}"
        api.create_container(f"functions-tui/{name}:latest", name=f"functions-tui-{name}",
                             labels={DOCKER.mark_key: name},
                             host_config=api.create_host_config(network_mode="none"))
    print(f"  seeded {count} images and {containers} containers in {time.perf_counter() - started:.1f}s",
          file=sys.stderr)


def measure() -> dict:
    import docker

    from functions_tui.components.docker import DockerComponent
    from functions_tui.components.local_backends.dockerd import start_dockerd

    mark = DOCKER.mark_key
    with tempfile.TemporaryDirectory(prefix="bench-docker-") as workdir:
        engine = start_dockerd(workdir)
        try:
            api = docker.APIClient(base_url=engine.host, version="auto", timeout=300)
            _seed(api, FUNCTIONS, CONTAINERS)
            component = DockerComponent(base_url=engine.host)

            def bare() -> int:
                images = api.images(filters={"label": mark})
                containers = api.containers(all=True, filters={"label": mark})
                return len(images) + len(containers)

            def adapter() -> int:
                observation = component.observe()
                if not observation.complete:
                    raise RuntimeError(f"observe failed: {observation.errors}")
                return len(observation.items)

            if adapter() != FUNCTIONS or bare() != FUNCTIONS + CONTAINERS:  # warm-up + sanity
                raise RuntimeError("the adapter and the bare listing do not see the seeded functions")
            bare_times, adapter_times = [], []
            for _ in range(ROUNDS):  # alternate, so both see the same machine load
                for fn, times in ((bare, bare_times), (adapter, adapter_times)):
                    started = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - started)
            ratio = statistics.median(adapter_times) / statistics.median(bare_times)
            print(f"  observe {statistics.median(adapter_times) * 1000:.1f} ms vs bare "
                  f"{statistics.median(bare_times) * 1000:.1f} ms (median of {ROUNDS})", file=sys.stderr)
            component.close()
            api.close()
        finally:
            engine.stop()
    return {"bench": "components", "figure": "docker_observe_1k_ratio", "value": round(ratio, 3),
            "unit": "ratio", "goal": GOAL}


if __name__ == "__main__":
    print(json.dumps(measure()))
