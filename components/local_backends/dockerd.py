"""A private Docker engine for tests and ``functions-tui --sandbox``.

``start_dockerd(workdir)`` runs ``dockerd`` with everything it owns (data, exec root, pid
file, socket) under its own directories, so it never touches the machine's daemon and
several can run side by side. ``ensure_docker(workdir)`` reuses a daemon that already
answers (``DOCKER_HOST`` or the default socket) and only starts a private one when none
does. ``sandbox_backend`` is the kind's local backend for ``functions-tui --sandbox``. Only
the standard library here (and registry.kinds' plain types): the docker SDK is not needed to
start a daemon.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from functions_tui.registry.kinds import RunningBackend

DEFAULT_SOCKET = "/var/run/docker.sock"

#: A unix socket path must fit in sun_path (108 bytes); containerd puts its own socket
#: under the exec root, so both live in a short directory under /tmp, not in the
#: (often deep) workdir.
_MAX_SHORT_DIR = 40


class DockerdError(RuntimeError):
    """The private engine could not be started; the message says why (with its log tail)."""


def ping(host: str, timeout: float = 2.0) -> bool:
    """True when a Docker engine answers ``GET /_ping`` at ``host`` (unix:// or tcp://)."""
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(host[len("unix://"):])
        elif host.startswith(("tcp://", "http://")):
            hostport = host.split("://", 1)[1].rstrip("/")
            name, _, port = hostport.rpartition(":")
            sock = socket.create_connection((name or "localhost", int(port or 2375)), timeout=timeout)
        else:
            return False  # ssh:// and friends: let the docker SDK decide, we can't cheaply tell
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            reply = sock.recv(64)
        return reply.startswith(b"HTTP/1.") and b" 200 " in reply
    except (OSError, ValueError):
        return False


@dataclass
class PrivateDockerd:
    """One running private ``dockerd``; ``host`` is its ``unix://`` URL."""

    workdir: Path
    runtime_dir: Path
    process: subprocess.Popen
    log_path: Path
    owned: bool = True
    _stopped: bool = field(default=False, repr=False)

    @property
    def socket_path(self) -> Path:
        return self.runtime_dir / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DockerdError(f"dockerd exited with code {self.process.returncode}:\n{self.log_tail()}")
            if self.socket_path.exists() and ping(self.host, timeout=1.0):
                return
            time.sleep(0.1)
        self.stop()
        raise DockerdError(f"dockerd did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the engine (it stops its containers and its containerd) and remove its files."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Its own session: containerd and shims go with it.
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        _unmount_under(self.workdir)
        _unmount_under(self.runtime_dir)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        shutil.rmtree(self.workdir / "data", ignore_errors=True)

    def __enter__(self) -> "PrivateDockerd":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class ExistingDocker:
    """A daemon we found already running: ``stop()`` leaves it alone."""

    host: str
    owned: bool = False

    def stop(self) -> None:
        return None

    def __enter__(self) -> "ExistingDocker":
        return self

    def __exit__(self, *exc) -> None:
        return None


def can_start_dockerd() -> tuple[bool, str]:
    """Whether this process may start a private engine, and if not why."""
    if shutil.which("dockerd") is None:
        return False, "dockerd is not installed (Debian: `apt-get install docker.io`)"
    if os.geteuid() != 0:
        return False, "starting a private dockerd needs root"
    return True, ""


def start_dockerd(workdir: str | Path, timeout: float = 60.0) -> PrivateDockerd:
    """Start a private ``dockerd`` with its data under ``workdir``; wait until it answers."""
    ok, why = can_start_dockerd()
    if not ok:
        raise DockerdError(why)
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    runtime_dir = Path(tempfile.mkdtemp(prefix="ftd-", dir="/tmp"))
    assert len(str(runtime_dir)) < _MAX_SHORT_DIR, runtime_dir
    data_root = workdir / "data"
    data_root.mkdir(exist_ok=True)
    log_path = workdir / "dockerd.log"
    cmd = [
        shutil.which("dockerd") or "dockerd",
        # No iptables and no bridge: works inside containers and leaves the host's network alone.
        "--iptables=false", "--ip6tables=false", "--bridge=none",
        # vfs needs no overlay support from the kernel (works on any filesystem, nested too).
        "--storage-driver=vfs",
        f"--data-root={data_root}",
        f"--exec-root={runtime_dir / 'exec'}",
        f"--pidfile={runtime_dir / 'dockerd.pid'}",
        "-H", f"unix://{runtime_dir / 'docker.sock'}",
    ]
    log = open(log_path, "ab")
    try:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    finally:
        log.close()
    engine = PrivateDockerd(workdir=workdir, runtime_dir=runtime_dir, process=process, log_path=log_path)
    engine.wait_ready(timeout)
    return engine


def ensure_docker(workdir: str | Path, timeout: float = 60.0) -> PrivateDockerd | ExistingDocker:
    """A reachable Docker engine: the configured one if it answers, else a private one.

    ``DOCKER_HOST`` wins when set; otherwise the default socket. When neither answers and
    ``dockerd`` is installed and we are root, a private engine is started under ``workdir``
    (the caller stops it with ``.stop()``). Raises DockerdError with the reason otherwise.
    """
    configured = os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    if ping(configured):
        return ExistingDocker(host=configured)
    ok, why = can_start_dockerd()
    if not ok:
        raise DockerdError(f"no Docker engine answers at {configured}, and {why}")
    return start_dockerd(workdir, timeout=timeout)


def sandbox_backend(folder: Path, left_out: str = "") -> RunningBackend:
    """``functions-tui --sandbox``'s Docker (components/docker.py, ``KIND.sandbox``, optional):
    the engine that answers, else a private dockerd under ``folder``. When there is none (or
    the sandbox leaves Docker out: ``left_out`` says why), DOCKER_HOST names a socket nothing
    listens on, so the docker component reads as unavailable, and never as some other engine
    the sandbox did not mean."""
    nowhere = {"DOCKER_HOST": f"unix://{Path(folder).resolve()}/no-docker.sock"}
    if left_out:
        return RunningBackend(env=nowhere, reason=left_out)
    try:
        engine = ensure_docker(folder)
    except Exception as exc:  # Docker is optional: the sandbox still shows the other kinds
        return RunningBackend(env=nowhere, reason=str(exc))
    # An engine we found running is the user's: the sandbox clears what it deployed there.
    return RunningBackend(env={"DOCKER_HOST": engine.host}, stop=engine.stop, borrowed=not engine.owned)


def _unmount_under(root: Path) -> None:
    """Lazily unmount anything the engine left mounted below ``root`` (shm of killed containers)."""
    prefix = str(root).rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4] for line in f]
    except OSError:
        return
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
