"""Build the component adapters from config + environment, lazily.

Each adapter module imports its cloud SDK; importing them all costs ~0.5 s, so nothing
here is imported until a component is actually used (``--help`` and ``status --cached``
never pay it). Endpoints follow DESIGN.md: DOCKER_HOST, AWS_ENDPOINT_URL(_LAMBDA),
FUNCTIONS_TUI_GCP_ENDPOINT or ``gcp.endpoint``, GOOGLE_CLOUD_PROJECT or ``gcp.project``.
"""

from __future__ import annotations

import os
from typing import Any

from functions_tui.app.config import Config
from functions_tui.registry.component import Detection, Observation

GCP_ENDPOINT_ENV = "FUNCTIONS_TUI_GCP_ENDPOINT"


def adapter_settings(name: str, config: Config) -> dict[str, Any]:
    """The keyword arguments each adapter is built with (environment over config.yaml)."""
    env = os.environ
    if name == "docker":
        return {"base_url": env.get("DOCKER_HOST") or None, "base_images": dict(config.docker_base_images) or None}
    if name == "aws":
        return {
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or config.aws_region,
            "profile": env.get("AWS_PROFILE") or config.aws_profile,
            # None on purpose: boto3 applies AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> per
            # client itself, so the tagging client is not sent to a Lambda-only endpoint.
            "endpoint_url": None,
            "role_arn": config.aws_role,
        }
    if name == "gcp":
        return {
            "project": env.get("GOOGLE_CLOUD_PROJECT") or config.gcp_project,
            "endpoint": env.get(GCP_ENDPOINT_ENV) or config.gcp_endpoint,
        }
    raise KeyError(name)


class MissingAdapter:
    """Stands in for an adapter that cannot even be imported: always unavailable, says why."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        self.registry_id = ""  # set by the service like any adapter's; never used here

    def detect(self) -> Detection:
        return Detection(self.name, False, reason=self.reason,
                         fix="reinstall functions-tui: pip install -e '.[test]'")

    def observe(self) -> Observation:
        return Observation.failed(self.name, self.reason)

    def _refuse(self, *_: Any, **__: Any):
        from functions_tui.registry.component import ApplyError

        raise ApplyError(f"{self.name}: {self.reason}")

    create = update = delete = claim = _refuse


def build_component(name: str, config: Config):
    """One adapter, constructed (its SDK imported) now."""
    settings = adapter_settings(name, config)
    try:
        if name == "docker":
            from functions_tui.components.docker import DockerComponent

            return DockerComponent(**settings)
        if name == "aws":
            from functions_tui.components.aws import AwsComponent

            return AwsComponent(**settings)
        if name == "gcp":
            from functions_tui.components.gcp import GcpComponent

            return GcpComponent(**settings)
    except ImportError as exc:
        return MissingAdapter(name, f"the {name} adapter cannot be loaded ({exc})")
    raise KeyError(name)
