"""Build the component adapters from config + environment, lazily.

Each adapter imports its cloud SDK; importing them all costs ~0.5 s, so no SDK is imported
until a component is actually used (``--help`` and ``status --cached`` never pay it). What
an instance's adapter is built with is its kind's business (``Kind.adapter_arguments``, in
the kind's module): endpoints follow DESIGN.md (DOCKER_HOST, AWS_ENDPOINT_URL(_LAMBDA),
FUNCTIONS_TUI_GCP_ENDPOINT, GOOGLE_CLOUD_PROJECT for the default instances; config.yaml's
settings for every instance).
"""

from __future__ import annotations

import os
from typing import Any

from functions_tui.app.config import Config
from functions_tui.registry.component import Detection, Observation

def adapter_settings(name: str, config: Config) -> dict[str, Any]:
    """The keyword arguments an instance's adapter is built with: its kind turns the
    instance's config.yaml settings (and, for a kind's default instance, the environment)
    into them."""
    instance = config.instance(name)
    if instance is None:
        raise KeyError(name)
    return instance.kind.adapter_arguments(instance.settings, os.environ, instance.is_default)


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
    """One instance's adapter, constructed (its kind's SDK imported) now."""
    import importlib

    instance = config.instance(name)
    if instance is None:
        raise KeyError(name)
    module, _, cls = instance.kind.adapter.partition(":")
    try:
        adapter = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        return MissingAdapter(name, f"the {instance.kind.name} adapter cannot be loaded ({exc})")
    return adapter(**adapter_settings(name, config), name=name)
