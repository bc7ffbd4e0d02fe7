"""The providers' own command lines, for out-of-band changes in tests: what a colleague
would type (awscli against moto's server, the docker CLI against the test engine), never
this project's code."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest


def aws(backend: Any, *args: str) -> Any:
    """Run ``aws ARGS`` against the moto backend; the parsed JSON output (None if empty)."""
    executable = shutil.which("aws")
    if not executable:
        pytest.fail("the `aws` command is not on PATH: pip install -e '.[test]' (awscli is a test extra)")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": backend.region, "AWS_ENDPOINT_URL": backend.endpoint,
           "AWS_CONFIG_FILE": "/nonexistent/aws-config", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
           "AWS_PAGER": ""}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([executable, "--endpoint-url", backend.endpoint, "--output", "json", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"aws {' '.join(args)} failed: {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def zip_file(folder: Path, name: str, files: dict[str, str]) -> Path:
    """A deployment package on disk, for ``--zip-file fileb://PATH``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, text in files.items():
            archive.writestr(arcname, text)
    path = folder / f"{name}.zip"
    path.write_bytes(buffer.getvalue())
    return path


def docker(backend: Any, *args: str, cwd: Path | None = None) -> str:
    """Run ``docker ARGS`` against the test engine; its stdout."""
    executable = shutil.which("docker")
    if not executable:
        pytest.fail("the `docker` command is not on PATH (scripts/setup installs docker.io)")
    done = subprocess.run([executable, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "DOCKER_HOST": backend.host})
    assert done.returncode == 0, f"docker {' '.join(args)} failed: {done.stderr}"
    return done.stdout.strip()
