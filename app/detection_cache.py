"""Component detection results, cached in the config dir as JSON (components.json).

Detecting means talking to a daemon or a credential chain (slow, sometimes seconds), so it
runs on the first run and on ``components --refresh``; everything else reads the cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable

from functions_tui.app import paths
from functions_tui.registry.component import Detection
from functions_tui.registry.storage import write_atomic
from functions_tui.registry.models import utc_now

CACHE_VERSION = 1


def load(home: str | Path | None = None, settings: dict | None = None) -> dict[str, Detection] | None:
    """The cached detections, or None when there is no usable cache (never an error).

    ``settings`` (what the adapters are built with: endpoints, region, project...) must
    match what the cache was made with: a cache for other endpoints is stale.
    """
    path = paths.detections_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != CACHE_VERSION or data.get("env") != _env_key():
            return None
        if settings is not None and data.get("settings", {}) != _jsonable(settings):
            return None
        return {name: Detection.from_dict(d) for name, d in data["components"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save(detections: dict[str, Detection], home: str | Path | None = None, settings: dict | None = None) -> None:
    path = paths.detections_path(home)
    paths.ensure_config_dir(home)
    data = {"version": CACHE_VERSION, "detected_at": utc_now(), "env": _env_key(),
            "settings": _jsonable(settings or {}),
            "components": {name: d.to_dict() for name, d in detections.items()}}
    write_atomic(path, json.dumps(data, indent=2).encode("utf-8"), backup=False, durable=False)  # a cache


def detect_all(names: Iterable[str], build: Callable[[str], object]) -> dict[str, Detection]:
    """Detect every component in parallel threads; an adapter that raises is unavailable."""
    from concurrent.futures import ThreadPoolExecutor

    names = list(names)

    def one(name: str) -> Detection:
        try:
            return build(name).detect()  # type: ignore[attr-defined]
        except Exception as exc:  # a crashing detect must not hide the other components
            return Detection(name, False, reason=f"detection failed: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        return dict(zip(names, pool.map(one, names)))


def _env_key() -> dict[str, str]:
    """The endpoint settings a detection depends on: a cache made for other endpoints is stale."""
    keys = ("DOCKER_HOST", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_PROFILE",
            "FUNCTIONS_TUI_GCP_ENDPOINT", "GOOGLE_CLOUD_PROJECT")
    return {k: os.environ[k] for k in keys if os.environ.get(k)}


def _jsonable(value):
    """The same value as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))
