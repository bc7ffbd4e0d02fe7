"""``functions-tui --sandbox``: the product working with no cloud account.

Starts the local backends (moto's server for AWS Lambda, the project's Cloud Functions
emulator, and Docker when a daemon answers or a private ``dockerd`` can be started), seeds a
few functions into a throw-away registry and deploys them, then changes things out of band
the way colleagues do (a memory edit in the console, an env var patched, a function deleted,
one created by hand with our mark), so the first screen already shows drift, a ghost and an
unmanaged function. The environment variables the app reads are exported for this process
only; everything is stopped and removed on exit.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Protocol

SANDBOX_PROJECT = "sandbox-project"
#: The identity of "a teammate's registry" whose function the sandbox shows as foreign.
TEAMMATE_REGISTRY = "7e4a3b2c-0000-4000-8000-5a4db0c5f00d"

#: name -> declaration (``after`` shows deploy ordering; targets spread over the components).
SEED_FUNCTIONS: dict[str, dict[str, Any]] = {
    "hello": {"memory": 128, "env": {"GREETING": "hello"}, "labels": {"team": "web"},
              "targets": {"docker": {"port": 8080}, "gcp": {"region": "us-central1"}, "aws": {}}},
    "greeter": {"memory": 256, "after": ["hello"], "env": {"GREETING": "hi there"},
                "targets": {"gcp": {"region": "us-central1"}, "aws": {}}},
    "worker": {"memory": 512, "timeout": 120, "targets": {"aws": {}, "docker": {}}},
    "reports": {"memory": 256, "after": ["worker"], "targets": {"aws": {}}},
}


def _say(message: str) -> None:
    try:
        print(f"sandbox: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass   # the terminal is gone (a closed window hangs us up): stopping must still go on


class SandboxEvents(Protocol):
    """What the sandbox tells whoever waits on it (the app's panels, or stderr)."""

    def progress(self, component: str, text: str) -> None: ...
    def environment_ready(self) -> None: ...          # backends up, registry seeded
    def component_ready(self, component: str) -> None: ...  # deployed and drifted: sync it


class _StderrEvents:
    """The headless commands' view of the start: a line on stderr per step."""

    def __init__(self) -> None:
        self._said: set[str] = set()

    def progress(self, component: str, text: str) -> None:
        if text.startswith("deploying"):
            if "deploying" not in self._said:
                self._said.add("deploying")
                _say(f"deploying {len(SEED_FUNCTIONS)} functions")
        elif "starting" not in self._said:
            self._said.add("starting")
            _say("starting local backends (moto, the GCP emulator, Docker)")

    def environment_ready(self) -> None:
        pass

    def component_ready(self, component: str) -> None:
        pass



class Sandbox:
    """Context manager: ``with Sandbox() as sb: sb.export_env(); ...``."""

    def __init__(self, root: str | Path | None = None, *, docker: bool = True, seed: bool = True,
                 start_on_enter: bool = True) -> None:
        self.start_on_enter = start_on_enter
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="functions-tui-sandbox-"))
        self.home = self.root / "home"
        self.want_docker = docker
        self.seed_enabled = seed
        self.env: dict[str, str] = {}
        self.moto = None
        self.gcp_server = None
        self.gcp_thread = None
        self.docker_engine = None
        self.docker_reason = ""
        self.role_arn = ""
        self._saved_env: dict[str, str | None] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self._catch_termination()
        if not self.start_on_enter:
            return self   # the app calls prepare() itself, once it is on screen
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Start the backends and seed them, all before returning (the headless commands)."""
        self.start_backends()
        if self.seed_enabled:
            with self._env_applied():
                self.seed()

    def start_backends(self, events: "SandboxEvents | None" = None) -> None:
        from functions_tui.components.gcp_emulator.server import start_in_thread
        from functions_tui.components.gcp_emulator.state import EmulatorState
        from functions_tui.components.local_backends.moto_server import start_moto

        events = events or _StderrEvents()
        events.progress("aws", "starting moto (local AWS Lambda)…")
        self.moto = start_moto(port=0)
        self.role_arn = self.moto.create_lambda_role()
        events.progress("gcp", "starting the Cloud Functions emulator…")
        self.gcp_server, self.gcp_thread = start_in_thread(port=0, state=EmulatorState())
        self.env = {
            **self.moto.env(),
            "FUNCTIONS_TUI_GCP_ENDPOINT": self.gcp_server.endpoint,
            "GOOGLE_CLOUD_PROJECT": SANDBOX_PROJECT,
            "FUNCTIONS_TUI_HOME": str(self.home),
            "NO_GCE_CHECK": "true",
        }
        if self.want_docker:
            events.progress("docker", "starting Docker…")
        self.env["DOCKER_HOST"] = self._start_docker()

    def prepare(self, events: "SandboxEvents") -> None:
        """The app's start (it is already on screen): backends, then the registry, then each
        component deployed and given its drift, telling ``events`` as each step ends so the
        panels show progress and fill in one by one (Docker's image builds take the longest)."""
        self.start_backends(events)
        self.export_env()
        if self.seed_enabled:
            self.seed(events)
        else:
            events.environment_ready()
            for component in ("aws", "gcp", "docker"):
                events.component_ready(component)

    def _start_docker(self) -> str:
        """DOCKER_HOST for the app: a reachable engine, or a socket that says why there is none."""
        if not self.want_docker:
            self.docker_reason = "docker left out of this sandbox"
            return f"unix://{self.root}/no-docker.sock"
        try:
            from functions_tui.components.local_backends.dockerd import ensure_docker

            self.docker_engine = ensure_docker(self.root / "docker")
            return self.docker_engine.host
        except Exception as exc:  # Docker is optional: the sandbox still shows gcp and aws
            self.docker_reason = str(exc)
            _say(f"Docker is not part of this sandbox: {exc}")
            return f"unix://{self.root}/no-docker.sock"

    def _catch_termination(self) -> None:
        """SIGTERM / SIGHUP (a closed terminal) unwind like Ctrl-C, so stop() still runs and
        no private dockerd is left behind."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def unwind(signum, frame):
            raise SystemExit(128 + signum)

        self._saved_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._saved_handlers[sig] = signal.signal(sig, unwind)

    def _restore_handlers(self) -> None:
        import signal

        for sig, handler in getattr(self, "_saved_handlers", {}).items():
            signal.signal(sig, handler)
        self._saved_handlers = {}

    def stop(self) -> None:
        running = [what for what, handle in (("Docker", self.docker_engine), ("the GCP emulator", self.gcp_server),
                                             ("moto", self.moto)) if handle is not None]
        if running:
            # quitting waits on these (a private dockerd takes a second or two): say so
            _say(f"stopping {', '.join(running)}…")
        if self.docker_engine is not None:
            if type(self.docker_engine).__name__ == "ExistingDocker":
                self._remove_seeded_from_docker()
            try:
                self.docker_engine.stop()
            except Exception as exc:
                _say(f"stopping the sandbox Docker engine: {exc}")
            self.docker_engine = None
        if self.gcp_server is not None:
            self.gcp_server.shutdown()
            self.gcp_server.server_close()
            self.gcp_server = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        self._restore_env()
        self._restore_handlers()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- the environment the app reads ---------------------------------------------------------
    def export_home(self) -> None:
        """Only the registry folder, before the backends exist (the app starts them); undone by stop()."""
        self._saved_env.setdefault("FUNCTIONS_TUI_HOME", os.environ.get("FUNCTIONS_TUI_HOME"))
        os.environ["FUNCTIONS_TUI_HOME"] = str(self.home)

    def export_env(self) -> dict[str, str]:
        """Point this process (and the app it starts) at the sandbox; undone by stop()."""
        for key, value in self.env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_LAMBDA"):
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.pop(key, None)
        return dict(self.env)

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def _env_applied(self):
        sandbox = self

        class _Applied:
            def __enter__(self_inner):
                sandbox.export_env()

            def __exit__(self_inner, *exc):
                sandbox._restore_env()

        return _Applied()

    # --- seeding ---------------------------------------------------------------------------------
    def write_declarations(self) -> Path:
        import yaml

        src = self.root / "functions"
        for name, fields in SEED_FUNCTIONS.items():
            folder = src / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "main.py").write_text(f"def main(request):\n    return 'hello from {name}'\n")
            targets = {c: dict(t) for c, t in fields["targets"].items()}
            if not self.docker_engine:
                targets.pop("docker", None)
            spec = {"name": name, "runtime": "python3.11", "entry_point": "main",
                    **{k: v for k, v in fields.items() if k != "targets"}, "targets": targets}
            (folder / "function.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        return src

    def seed(self, events: "SandboxEvents | None" = None) -> None:
        """Register the seed functions, then deploy and drift one component at a time (the
        quick ones first), so each is usable as soon as it is done."""
        from functions_tui.app.config import DEFAULT_TEXT
        from functions_tui.app.paths import ensure_config_dir
        from functions_tui.app.service import SyncService

        events = events or _StderrEvents()
        ensure_config_dir(self.home)
        (self.home / "config.yaml").write_text(
            DEFAULT_TEXT.replace("role: null ", f"role: {self.role_arn}").replace(
                "project: null ", f"project: {SANDBOX_PROJECT}"))
        service = SyncService(self.home)
        service.add(self.write_declarations())
        detections = service.detections(refresh=True)
        events.environment_ready()
        clouds = [c for c in ("aws", "gcp") if detections[c].available]
        docker = [c for c in ("docker",) if detections[c].available]
        for component in (*clouds, *docker):
            events.progress(component, f"deploying {len(self._targeting(component))} functions…")
        self._deploy(service, clouds)
        self.make_drift(service, docker=False)
        for component in clouds:
            events.component_ready(component)
        if docker:
            events.progress("docker", f"building {len(self._targeting('docker'))} images…")
            self._deploy(service, docker)
            self._stop_docker_container("hello")
        for component in ("aws", "gcp", "docker"):
            if component not in clouds:   # docker, and any component that is unavailable
                events.component_ready(component)
        _say("ready: drift, a merge, a conflict, a ghost, an unmanaged and a foreign function are waiting for you")

    def _targeting(self, component: str) -> list[str]:
        return [n for n, f in SEED_FUNCTIONS.items() if component in f["targets"]]

    @staticmethod
    def _deploy(service: Any, components: list[str]) -> None:
        if not components:
            return
        result = service.apply(service.plan(components, policy="registry-wins"))
        for failed in result.failed:
            _say(f"seeding {failed.action.function} on {failed.action.component} failed: {failed.error}")

    def make_drift(self, service: Any, *, docker: bool = True) -> None:
        """Out-of-band changes with the providers' own clients, as colleagues would make them,
        and edits to the declarations, as the user would make them."""
        import boto3

        from functions_tui.components.aws import KIND as AWS

        lam = boto3.client("lambda", endpoint_url=self.moto.endpoint, region_name=self.moto.region)
        # 1. Someone raised hello's memory in the AWS console: drift, pulled (component-wins).
        lam.update_function_configuration(FunctionName="hello", MemorySize=1024)
        # 2. reports was deleted by hand: the registry still lists it there, a ghost.
        lam.delete_function(FunctionName="reports")
        # 3. A function this registry deployed, since forgotten by it: unmanaged (adopt or gc).
        mark = {AWS.mark_key: "stray", AWS.owner_key: service.registry_id()}
        lam.create_function(FunctionName="stray", Runtime="python3.11", Role=self.role_arn,
                            Handler="main.main", Code={"ZipFile": _zip_source()}, Tags=mark)
        # 4. A teammate's registry deployed billing here: foreign (shown, never touched).
        lam.create_function(FunctionName="billing", Runtime="python3.11", Role=self.role_arn,
                            Handler="main.main", Code={"ZipFile": _zip_source()},
                            Tags={AWS.mark_key: "billing", AWS.owner_key: TEAMMATE_REGISTRY})
        # 5. A merge: the user gave worker more memory, a colleague raised its timeout on AWS.
        self._edit_declaration(service, "worker", memory=768)
        lam.update_function_configuration(FunctionName="worker", Timeout=300)
        # 6. A true conflict: the user and a colleague both changed greeter's memory, differently.
        self._edit_declaration(service, "greeter", memory=384)
        lam.update_function_configuration(FunctionName="greeter", MemorySize=512)
        # 7. An env var patched on GCP: with greeter's memory edit, another merge (on gcp).
        self._patch_gcp_env("greeter", {"GREETING": "hi there", "DEBUG": "1"})
        # 8. hello's container stopped locally: drift on docker (policy ask: a decision for you).
        if docker and self.docker_engine is not None:
            self._stop_docker_container("hello")

    def _edit_declaration(self, service: Any, name: str, **fields: Any) -> None:
        """Change a seeded function.yaml as the user would, and register it again."""
        import yaml

        path = self.root / "functions" / name / "function.yaml"
        spec = yaml.safe_load(path.read_text())
        spec.update(fields)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        service.add(path)

    def _patch_gcp_env(self, name: str, env: dict[str, str]) -> None:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import functions_v2
        from google.protobuf import field_mask_pb2

        client = functions_v2.FunctionServiceClient(
            transport="rest", client_options=ClientOptions(api_endpoint=self.gcp_server.endpoint),
            credentials=AnonymousCredentials())
        full = f"projects/{SANDBOX_PROJECT}/locations/us-central1/functions/{name}"
        change = functions_v2.Function(name=full, service_config=functions_v2.ServiceConfig(environment_variables=env))
        try:
            client.update_function(function=change, update_mask=field_mask_pb2.FieldMask(
                paths=["service_config.environment_variables"])).result(timeout=30)
        except Exception as exc:  # seeding is best effort: the sandbox still works without it
            _say(f"could not patch {name} on gcp: {exc}")

    def _docker_api(self):
        import docker

        return docker.APIClient(base_url=self.env["DOCKER_HOST"], version="auto", timeout=60)

    def _stop_docker_container(self, name: str) -> None:
        try:
            api = self._docker_api()
            for c in api.containers(filters={"label": f"functions-tui.function={name}"}):
                api.stop(c["Id"], timeout=0)
        except Exception as exc:
            _say(f"could not stop {name}'s container: {exc}")

    def _remove_seeded_from_docker(self) -> None:
        """On a Docker the sandbox did not start, remove what it built (marked, seeded names only)."""
        try:
            api = self._docker_api()
            for name in SEED_FUNCTIONS:
                for c in api.containers(all=True, filters={"label": f"functions-tui.function={name}"}):
                    api.remove_container(c["Id"], force=True)
                for img in api.images(filters={"label": f"functions-tui.function={name}"}):
                    api.remove_image(img["Id"], force=True)
        except Exception as exc:
            _say(f"could not clean the sandbox's functions from Docker: {exc}")


def _zip_source() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", "def main(event, context):\n    return 'stray'\n")
    return buf.getvalue()
