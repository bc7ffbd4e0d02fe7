"""First run: create the config dir (0700) with a default config.yaml, detect components.

Detection talks to daemons and credential chains, so it can take a few seconds; we say so
on stderr instead of looking hung. Later runs read the cached result (components.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

from functions_tui.app import paths

FIRST_RUN_MESSAGE = "first run: detecting components, this takes a moment"


def is_first_run(home: str | Path | None = None) -> bool:
    return not paths.detections_path(home).exists()


def ensure_first_run(home: str | Path | None = None, service=None) -> bool:
    """Set up the config dir when it is new; True when this was the first run."""
    if not is_first_run(home):
        return False
    from functions_tui.app.config import load_config

    load_config(home)  # a broken config.yaml is reported as such, not cached as "unavailable"
    paths.ensure_config_dir(home)
    from functions_tui.app.config import write_default_config

    write_default_config(home)  # only if missing; safe when several commands start at once
    print(FIRST_RUN_MESSAGE, file=sys.stderr, flush=True)
    if service is None:
        from functions_tui.app.service import SyncService

        service = SyncService(home)
    # Components the service is reading already (its probes) detect in those processes.
    service.start_probes()
    from functions_tui.app.headless import progress

    with progress("detecting " + ", ".join(service.component_names())):
        service.detections()
    return True
