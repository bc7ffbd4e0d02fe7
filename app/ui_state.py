"""The TUI's own small state between runs (today: the theme chosen with `t`), in ui.json.

Kept apart from config.yaml (which the user writes) and from the registry (which is data):
this file is the app's to rewrite at will. A missing, unreadable or malformed file is never
an error: the app starts with its defaults and says so in the log, since a preference must
never be the reason the dashboard does not open.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from functions_tui.app import paths
from functions_tui.registry.storage import write_atomic

UI_STATE_FILE = "ui.json"
VERSION = 1

log = logging.getLogger(__name__)


def state_path(home: str | Path | None = None) -> Path:
    return paths.config_dir(home) / UI_STATE_FILE


def load(home: str | Path | None = None) -> dict[str, Any]:
    """The saved state ({} when there is none or it cannot be used; a warning is logged)."""
    path = state_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("ignoring UI state %s: %s", path, exc)
        return {}
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("not a version-1 object")
    except ValueError as exc:
        log.warning("ignoring UI state %s: %s", path, exc)
        return {}
    return {k: v for k, v in data.items() if k != "version"}


def save(values: dict[str, Any], home: str | Path | None = None) -> bool:
    """Merge ``values`` into the saved state: 0600 file in the 0700 config dir, written to a
    temporary file and renamed, so a crash leaves the old file or the new one, never half.
    False (and a logged warning) when it cannot be written."""
    path = state_path(home)
    try:
        paths.ensure_config_dir(home)
        data = {**load(home), **values, "version": VERSION}
        write_atomic(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"), backup=False)
        return True
    except OSError as exc:
        log.warning("could not save UI state %s: %s", path, exc)
        return False
