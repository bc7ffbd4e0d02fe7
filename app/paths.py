"""Where functions-tui keeps its files: one config dir per user.

platformdirs decides the default (so ``XDG_CONFIG_HOME`` moves it on Linux);
``FUNCTIONS_TUI_HOME`` overrides both, which is how tests and the sandbox get a private dir.
The folder is created 0700: it holds the registry, whose bases carry env-value hashes.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "functions-tui"
HOME_ENV = "FUNCTIONS_TUI_HOME"

REGISTRY_FILE = "registry.json"
CONFIG_FILE = "config.yaml"
DETECTIONS_FILE = "components.json"


def config_dir(home: str | Path | None = None) -> Path:
    """The config dir, not created: explicit ``home``, else FUNCTIONS_TUI_HOME, else platformdirs."""
    if home:
        return Path(home).expanduser()
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_config_dir  # lazy: keeps `--help` fast

    return Path(user_config_dir(APP_NAME))


def ensure_config_dir(home: str | Path | None = None) -> Path:
    """The config dir, created 0700 when missing (and tightened when it is looser)."""
    path = config_dir(home)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError:  # not ours to chmod (e.g. a shared mount): still usable
        pass
    return path


def registry_path(home: str | Path | None = None) -> Path:
    return config_dir(home) / REGISTRY_FILE


def config_path(home: str | Path | None = None) -> Path:
    return config_dir(home) / CONFIG_FILE


def detections_path(home: str | Path | None = None) -> Path:
    return config_dir(home) / DETECTIONS_FILE
