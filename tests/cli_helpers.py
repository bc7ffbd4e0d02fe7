"""Running the real ``functions-tui`` command in a subprocess, as a user or cron would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

#: Environment keys that would point a test at the machine's own backends or accounts.
_SCRUB = ("DOCKER_HOST", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
          "AWS_DEFAULT_REGION", "FUNCTIONS_TUI_GCP_ENDPOINT", "GOOGLE_CLOUD_PROJECT",
          "GOOGLE_APPLICATION_CREDENTIALS", "FUNCTIONS_TUI_HOME", "XDG_CONFIG_HOME", "FUNCTIONS_TUI_DEBUG")


def command() -> list[str]:
    exe = shutil.which("functions-tui")
    return [exe] if exe else [sys.executable, "-m", "functions_tui.app"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: only the backends a test names are reachable."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({
        "FUNCTIONS_TUI_HOME": str(home),
        "DOCKER_HOST": "unix:///nonexistent/functions-tui-test.sock",  # docker: unavailable unless given
        "NO_GCE_CHECK": "true",  # google-auth must not probe a metadata server here
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "COLUMNS": "200",
    })
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 180,
            python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = ([sys.executable, *python_flags, "-m", "functions_tui.app"] if python_flags else command()) + list(args)
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def write_yaml(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def make_function(root: Path, name: str, **fields) -> Path:
    """A function folder with a tiny handler and its function.yaml."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(f"def main(event, context):\n    return {name!r}\n")
    spec = {"name": name, "runtime": "python3.11", "entry_point": "main.main", **fields}
    return write_yaml(folder / "function.yaml", spec)


def registry_bytes(home: Path) -> bytes | None:
    path = home / "registry.json"
    return path.read_bytes() if path.exists() else None


def registry_id(home: Path) -> str:
    """The identity of the registry in ``home`` (its lineage): what its ownership marks name."""
    from functions_tui.registry.store import RegistryStore

    return RegistryStore(home / "registry.json").load().lineage


def one_line_error(stderr: str) -> str:
    """The single error line the CLI prints: asserting it is all of stderr (the first-run
    notice and a usage line aside), so an error is never a traceback or a paragraph."""
    lines = [line for line in stderr.splitlines()
             if line.strip() and not line.startswith(("first run:", "usage:"))]
    assert len(lines) == 1 and lines[0].startswith("functions-tui: error:"), stderr
    return lines[0]
