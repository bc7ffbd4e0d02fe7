"""A local AWS (moto's ThreadedMotoServer) on a free port, for tests, the bench and ``--sandbox``.

boto3 reaches it over real HTTP, so the adapter under test runs exactly the code it runs
against AWS: only the endpoint differs. moto is imported lazily so importing this module
costs nothing on the normal CLI path.
"""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions_tui.registry.kinds import RunningBackend

#: Fake credentials moto accepts; exported by ``MotoHandle.env()`` so boto3's own chain finds them.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

#: Trust policy letting Lambda assume the role (moto stores it; real AWS would check it).
LAMBDA_TRUST_POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)


@dataclass
class MotoHandle:
    """A running moto server: its ``endpoint`` (``http://127.0.0.1:PORT``) and ``stop()``."""

    endpoint: str
    port: int
    region: str = "us-east-1"
    _server: Any = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """Environment that points boto3's own resolution at this server."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": self.region}

    def reset(self) -> None:
        """Forget every resource (moto's reset API), so tests start from an empty account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def create_lambda_role(self, name: str = "functions-tui-lambda") -> str:
        """Create (or find) an IAM role Lambda can assume; returns its ARN."""
        import boto3

        iam = boto3.client("iam", endpoint_url=self.endpoint, region_name=self.region,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        try:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"]["Arn"]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "MotoHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _memoize_moto_module_listing() -> None:
    """Make moto's per-request service lookup stop scanning its own package directory.

    moto's dispatcher calls ``moto.backends.list_of_moto_modules()`` on every request, which
    lists and stats ~180 folders each time: about half of moto's overhead per request. The
    folders cannot change while the process runs, so list them once. This only touches the
    local emulator (no real AWS endpoint does anything like it); without it, every extra
    page request (e.g. tag pages) costs several times what it would against AWS.
    """
    from moto import backends

    if getattr(backends.list_of_moto_modules, "_functions_tui_memoized", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules._functions_tui_memoized = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules


def start_moto(port: int = 0, host: str = "127.0.0.1", region: str = "us-east-1") -> MotoHandle:
    """Start moto's server in a daemon thread; ``port=0`` picks a free port.

    Bound to loopback only: it accepts any credentials, so it must not face a network.
    """
    from moto.server import ThreadedMotoServer

    _memoize_moto_module_listing()

    # werkzeug logs every request at INFO on stderr: noise in tests and in the TUI's terminal.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return MotoHandle(endpoint=f"http://{bound_host}:{bound_port}", port=bound_port, region=region, _server=server)


#: The user's own AWS settings that would send boto3 to a real account (or past the endpoint
#: the sandbox gives) if they were left in the sandbox's environment.
_USERS_AWS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_LAMBDA")


def sandbox_backend(folder: Path) -> RunningBackend:
    """``functions-tui --sandbox``'s AWS Lambda (components/aws.py, ``KIND.sandbox``): moto on
    a free port, an execution role for the functions the sandbox deploys (the default
    instance's ``role``), and boto3's own variables pointed at it. moto keeps everything in
    memory: ``folder`` stays empty."""
    moto = start_moto(port=0)
    try:
        role = moto.create_lambda_role()
    except BaseException:
        moto.stop()
        raise
    return RunningBackend(env={**moto.env(), **dict.fromkeys(_USERS_AWS)}, stop=moto.stop,
                          settings={"role": role})
