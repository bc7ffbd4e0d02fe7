"""Detecting the Docker component: a missing daemon and a forbidden socket are different
problems with different fixes; versions are compared as versions; a failed listing is an
incomplete observation (so nothing gets pruned), never an exception."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from functions_tui.components.docker import FIX_GROUP, FIX_START, DockerComponent
from functions_tui.registry.component import ApplyError
from functions_tui.registry.models import FunctionSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534


@pytest.fixture
def socket_dir():
    """A short, world-traversable dir for unix sockets (sun_path is 108 bytes; another
    user must be able to reach the socket to be refused by *its* permissions)."""
    path = Path(tempfile.mkdtemp(prefix="ftsock-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.fixture
def listening_socket(socket_dir):
    """A unix socket something listens on, readable by its owner only (like docker.sock 0660)."""
    path = socket_dir / "docker.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    path.chmod(0o600)
    yield path
    server.close()


def detect_as_other_user(socket_path: Path) -> dict:
    """detect() run by a user that may not use the socket; returns the Detection as a dict.

    As root: a child process imports everything, then drops to ``nobody`` (the
    interpreter under /root is not runnable by nobody, so we drop after start-up).
    Not root: our own socket with mode 000 refuses us just the same.
    """
    if os.geteuid() != 0:
        socket_path.chmod(0o000)
        return DockerComponent(base_url=f"unix://{socket_path}").detect().to_dict()
    script = (
        "import json, os, docker, docker.errors, docker.utils\n"
        "from functions_tui.components.docker import DockerComponent\n"
        f"os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY})\n"
        f"print(json.dumps(DockerComponent(base_url='unix://{socket_path}').detect().to_dict()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_missing_socket_says_the_daemon_is_not_running(socket_dir):
    detection = DockerComponent(base_url=f"unix://{socket_dir / 'absent.sock'}").detect()

    assert not detection.available
    assert "not running" in detection.reason and "absent.sock" in detection.reason
    assert detection.fix == FIX_START


def test_stale_socket_without_a_listener_says_not_running(socket_dir):
    path = socket_dir / "stale.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))  # bound but never listening: connect() is refused
    try:
        detection = DockerComponent(base_url=f"unix://{path}").detect()
    finally:
        sock.close()

    assert not detection.available
    assert "not running" in detection.reason
    assert detection.fix == FIX_START


def test_permission_denied_is_a_distinct_reason_with_its_own_fix(listening_socket, socket_dir):
    denied = detect_as_other_user(listening_socket)
    missing = DockerComponent(base_url=f"unix://{socket_dir / 'absent.sock'}").detect()

    assert denied["available"] is False
    assert "permission denied" in denied["reason"]
    assert denied["fix"] == FIX_GROUP and "usermod -aG docker" in denied["fix"]
    assert denied["reason"] != missing.reason and denied["fix"] != missing.fix


def test_unreachable_engine_gives_a_failed_observation_and_refuses_to_apply(socket_dir):
    component = DockerComponent(base_url=f"unix://{socket_dir / 'absent.sock'}")

    observation = component.observe()

    assert not observation.complete  # the engine must not read this as "everything was deleted"
    assert observation.items == {} and observation.errors
    with pytest.raises(ApplyError):
        component.create(FunctionSpec(name="f", runtime="python312"))


class _FakeEngine(BaseHTTPRequestHandler):
    """Answers /version like an engine of the given versions (nothing else is needed)."""

    versions: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = json.dumps({**self.versions, "Os": "linux", "Arch": "amd64"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):  # BaseHTTPRequestHandler wants a (host, port) client address
        request, _ = super().get_request()
        return request, ("local", 0)


def detect_fake_engine(socket_dir: Path, versions: dict):
    handler = type("Engine", (_FakeEngine,), {"versions": versions})
    path = socket_dir / "fake.sock"
    server = _UnixHTTPServer(str(path), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return DockerComponent(base_url=f"unix://{path}").detect()
    finally:
        server.shutdown()
        server.server_close()


def test_versions_are_compared_as_versions_not_strings(socket_dir):
    # As strings "1.9" > "1.40" and "9.10.0" > "19.03"; as versions both are too old.
    old = detect_fake_engine(socket_dir, {"Version": "9.10.0", "ApiVersion": "1.9"})
    assert not old.available and "older" in old.reason and old.version == "9.10.0"

    (socket_dir / "fake.sock").unlink()
    # ...and a distro suffix does not confuse the comparison either.
    new = detect_fake_engine(socket_dir, {"Version": "20.10.24+dfsg1", "ApiVersion": "1.41"})
    assert new.available and new.version == "20.10.24+dfsg1"


@pytest.mark.docker
def test_real_engine_through_docker_host(docker_backend, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_backend.host)

    detection = DockerComponent().detect()

    assert detection.available, detection.reason
    assert detection.details["host"] == docker_backend.host
    assert detection.details["api_version"]


def test_without_docker_host_a_rootless_engine_socket_is_found(tmp_path, monkeypatch):
    import functions_tui.components.docker as docker_component
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(docker_component, "DEFAULT_SOCKET", str(tmp_path / "no-system-engine.sock"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert DockerComponent().base_url == f"unix://{tmp_path / 'no-system-engine.sock'}"  # nothing anywhere

    (tmp_path / "docker.sock").touch()  # a rootless engine's socket
    assert DockerComponent().base_url == f"unix://{tmp_path / 'docker.sock'}"
