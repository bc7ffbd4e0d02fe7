"""``python -m bench components``: each adapter's observe time over the bare client listing
the same 1,000 functions in the same run. One module per backend (bench/_components_<x>.py)
exposes ``measure() -> dict`` (one figure); this runs those present."""

from __future__ import annotations

import importlib
import sys
from typing import Iterator


def run() -> Iterator[dict]:
    for backend in ("aws", "docker", "gcp"):
        try:
            module = importlib.import_module(f"bench._components_{backend}")
        except ModuleNotFoundError:
            print(f"components: no bench for {backend} yet", file=sys.stderr)
            continue
        yield module.measure()
