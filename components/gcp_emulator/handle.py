"""Start the emulator in this process and hold on to it: for tests, the bench and ``--sandbox``.

``start_gcp_emulator()`` serves on a free loopback port from a daemon thread and returns a
GcpEmulatorHandle: ``endpoint``, ``project``, ``state`` (fault injection, seeding),
``env()`` (what to export so functions-tui and the adapter find it), ``client()`` (the real
google-cloud-functions client pointed at it), ``component()`` (a GcpComponent wired to it),
``reset()`` and ``stop()``. The google libraries are imported only by client()/component().
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions_tui.components.gcp_emulator.server import EmulatorServer, start_in_thread
from functions_tui.components.gcp_emulator.state import EmulatorState
from functions_tui.registry.kinds import RunningBackend

SANDBOX_PROJECT = "sandbox-project"


@dataclass
class GcpEmulatorHandle:
    server: EmulatorServer
    project: str = SANDBOX_PROJECT
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def env(self) -> dict[str, str]:
        """Environment that points functions-tui (and GcpComponent) at this emulator."""
        return {"FUNCTIONS_TUI_GCP_ENDPOINT": self.endpoint, "GOOGLE_CLOUD_PROJECT": self.project}

    def parent(self, region: str = "us-central1") -> str:
        return f"projects/{self.project}/locations/{region}"

    def client(self) -> Any:
        """The real google-cloud-functions client (REST, anonymous credentials) for this emulator."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import functions_v2

        return functions_v2.FunctionServiceClient(
            transport="rest", client_options=ClientOptions(api_endpoint=self.endpoint),
            credentials=AnonymousCredentials())

    def component(self, **kwargs: Any) -> Any:
        """A GcpComponent wired to this emulator, with short timeouts (keyword arguments override)."""
        from functions_tui.components.gcp import GcpComponent

        kwargs.setdefault("project", self.project)
        kwargs.setdefault("endpoint", self.endpoint)
        kwargs.setdefault("timeout_s", 10.0)
        kwargs.setdefault("operation_timeout_s", 10.0)
        kwargs.setdefault("poll_interval_s", 0.05)
        return GcpComponent(**kwargs)

    def reset(self) -> None:
        """Forget all functions, operations, uploads and faults; operations finish at once."""
        self.state.reset()
        self.state.operation_delay_s = 0.0

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(timeout=5)
            self._thread = None
            self.state.request_log.close()

    def __enter__(self) -> "GcpEmulatorHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_gcp_emulator(port: int = 0, host: str = "127.0.0.1", project: str = SANDBOX_PROJECT,
                       state_file: str | None = None, operation_delay_s: float = 0.0,
                       request_log: str | None = None) -> GcpEmulatorHandle:
    """Serve the emulator from a daemon thread; ``port=0`` picks a free port. Every request is
    kept in ``state.request_log`` (``request_log``: also appended to that file, one JSON line each).

    Bound to loopback by default: it accepts any caller, so it must not face a network.
    """
    state = EmulatorState(operation_delay_s=operation_delay_s, path=state_file, request_log=request_log)
    server, thread = start_in_thread(host, port, state)
    return GcpEmulatorHandle(server=server, project=project, _thread=thread)


def sandbox_backend(folder: Path) -> RunningBackend:
    """``functions-tui --sandbox``'s Cloud Functions (components/gcp.py, ``KIND.sandbox``): the
    emulator on a free port, in memory (``folder`` stays empty), its project the default
    instance's."""
    emulator = start_gcp_emulator()
    # NO_GCE_CHECK: google-auth would otherwise probe for a GCE metadata server first.
    return RunningBackend(env={**emulator.env(), "NO_GCE_CHECK": "true"}, stop=emulator.stop,
                          settings={"project": emulator.project})
