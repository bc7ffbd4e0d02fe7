"""The sandbox's sample data: the functions ``functions-tui --sandbox`` declares and deploys,
and the out-of-band changes it then makes the way colleagues do (a memory edit in the
console, an env var patched, a function deleted, one created by hand with our mark), so the
first screen already shows drift, a merge, a conflict, a ghost, an unmanaged and a foreign
function.

Sample data names the default kinds (their targets, their providers' own clients): it is
what a newcomer sees. app/sandbox.py runs it only on the components whose backend runs, so a
kind without a sandbox backend, or with one that could not start, simply gets none of it;
a kind it does not know gets its functions deployed and no drift.
"""

from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from functions_tui.registry.kinds import RunningBackend

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

#: What a component's panel says while its functions are deployed, where "deploying" is not
#: the word (Docker builds an image per function: the slowest step of the start).
_DEPLOY_STEP = {"docker": "building {n} images…"}


def say(message: str) -> None:
    try:
        print(f"sandbox: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass   # the terminal is gone (a closed window hangs us up): stopping must still go on


def targeting(component: str) -> list[str]:
    return [n for n, f in SEED_FUNCTIONS.items() if component in f["targets"]]


def deploying(component: str) -> str:
    return f"deploying {len(targeting(component))} functions…"


def deploy_step(component: str) -> str:
    return _DEPLOY_STEP.get(component, "deploying {n} functions…").format(n=len(targeting(component)))


def write_declarations(folder: Path, components: Iterable[str]) -> Path:
    """A function.yaml per seed function under ``folder``, targeting only ``components`` (the
    ones whose backend runs)."""
    import yaml

    present = set(components)
    for name, fields in SEED_FUNCTIONS.items():
        source = folder / name
        source.mkdir(parents=True, exist_ok=True)
        (source / "main.py").write_text(f"def main(request):\n    return 'hello from {name}'\n")
        targets = {c: dict(t) for c, t in fields["targets"].items() if c in present}
        spec = {"name": name, "runtime": "python3.11", "entry_point": "main",
                **{k: v for k, v in fields.items() if k != "targets"}, "targets": targets}
        (source / "function.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


@dataclass
class Drift:
    """What one component's out-of-band changes are made with."""

    service: Any              # the sandbox's SyncService
    backend: RunningBackend   # the component's backend (its environment says where it is)
    folder: Path              # the seeded declarations (write_declarations)

    def edit_declaration(self, name: str, **fields: Any) -> None:
        """Change a seeded function.yaml as the user would, and register it again."""
        import yaml

        path = self.folder / name / "function.yaml"
        spec = yaml.safe_load(path.read_text())
        spec.update(fields)
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        self.service.add(path)


def make_drift(component: str, drift: Drift) -> None:
    """``component``'s out-of-band changes (none for a kind the sample does not know)."""
    _DRIFT.get(component, lambda d: None)(drift)


def _aws(d: Drift) -> None:
    import boto3

    from functions_tui.components.aws import KIND as AWS

    env, role = d.backend.env, d.backend.settings["role"]
    lam = boto3.client("lambda", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"])
    # 1. Someone raised hello's memory in the AWS console: drift, pulled (component-wins).
    lam.update_function_configuration(FunctionName="hello", MemorySize=1024)
    # 2. reports was deleted by hand: the registry still lists it there, a ghost.
    lam.delete_function(FunctionName="reports")
    # 3. A function this registry deployed, since forgotten by it: unmanaged (adopt or gc).
    mark = {AWS.mark_key: "stray", AWS.owner_key: d.service.registry_id()}
    lam.create_function(FunctionName="stray", Runtime="python3.11", Role=role,
                        Handler="main.main", Code={"ZipFile": _zip_source()}, Tags=mark)
    # 4. A teammate's registry deployed billing here: foreign (shown, never touched).
    lam.create_function(FunctionName="billing", Runtime="python3.11", Role=role,
                        Handler="main.main", Code={"ZipFile": _zip_source()},
                        Tags={AWS.mark_key: "billing", AWS.owner_key: TEAMMATE_REGISTRY})
    # 5. A merge: the user gave worker more memory, a colleague raised its timeout on AWS.
    d.edit_declaration("worker", memory=768)
    lam.update_function_configuration(FunctionName="worker", Timeout=300)
    # 6. A true conflict: the user and a colleague both changed greeter's memory, differently.
    d.edit_declaration("greeter", memory=384)
    lam.update_function_configuration(FunctionName="greeter", MemorySize=512)
    # 7. A function made by hand before anyone used functions-tui: no mark at all, so in no
    #    list; the panel counts it, and `functions-tui import aws legacy-cron` brings it in.
    lam.create_function(FunctionName="legacy-cron", Runtime="python3.11", Role=role,
                        Handler="main.main", Code={"ZipFile": _zip_source()}, Tags={"team": "ops"})


def _gcp(d: Drift) -> None:
    """8. An env var patched on GCP: with greeter's memory edit, another merge (on gcp)."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import functions_v2
    from google.protobuf import field_mask_pb2

    name, env = "greeter", {"GREETING": "hi there", "DEBUG": "1"}
    client = functions_v2.FunctionServiceClient(
        transport="rest", client_options=ClientOptions(api_endpoint=d.backend.env["FUNCTIONS_TUI_GCP_ENDPOINT"]),
        credentials=AnonymousCredentials())
    full = f"projects/{d.backend.settings['project']}/locations/us-central1/functions/{name}"
    change = functions_v2.Function(name=full, service_config=functions_v2.ServiceConfig(environment_variables=env))
    try:
        client.update_function(function=change, update_mask=field_mask_pb2.FieldMask(
            paths=["service_config.environment_variables"])).result(timeout=30)
    except Exception as exc:  # seeding is best effort: the sandbox still works without it
        say(f"could not patch {name} on gcp: {exc}")


def _docker(d: Drift) -> None:
    """9. hello's container stopped locally: drift on docker (policy ask: a decision for you)."""
    import docker

    name = "hello"
    try:
        api = docker.APIClient(base_url=d.backend.env["DOCKER_HOST"], version="auto", timeout=60)
        for c in api.containers(filters={"label": f"functions-tui.function={name}"}):
            api.stop(c["Id"], timeout=0)
    except Exception as exc:
        say(f"could not stop {name}'s container: {exc}")


_DRIFT: dict[str, Callable[[Drift], None]] = {"aws": _aws, "gcp": _gcp, "docker": _docker}


def _zip_source() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", "def main(event, context):\n    return 'stray'\n")
    return buf.getvalue()
