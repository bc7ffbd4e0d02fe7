"""The one interface every component adapter implements (detect, observe, apply).

The sync engine (registry.engine) only ever talks to this interface; the real adapters
live in components/ (docker, gcp, aws) and tests use an in-memory one. Nothing here
imports a cloud SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from functions_tui.registry.fingerprint import canonical_env, normalize
from functions_tui.registry.models import FunctionSpec


@dataclass
class Detection:
    """Whether a component can be used here, and if not why and how to fix it."""

    component: str
    available: bool
    version: str = ""
    reason: str = ""
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # e.g. {"profile": "dev"}; never secrets

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "available": self.available, "version": self.version,
                "reason": self.reason, "fix": self.fix, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Detection":
        return cls(**{k: data.get(k) for k in ("component", "available")},
                   version=data.get("version", ""), reason=data.get("reason", ""),
                   fix=data.get("fix", ""), details=dict(data.get("details") or {}))


@dataclass
class ObservedFunction:
    """One resource as a component shows it now.

    ``values`` are raw (env in plain text, so a pull can copy them into the registry);
    ``fingerprint()`` is the normalized, secret-free form the engine compares.
    ``marked`` says whether it carries our ownership mark; only marked resources are
    ever deleted.
    """

    name: str
    component: str
    values: dict[str, Any]
    resource_id: str = ""
    marked: bool = True
    summary: str = ""  # one human line, e.g. "container abc123 running on :8080"
    #: True when ``values["env"]`` already holds value hashes (registry.fingerprint.hash_value),
    #: not plain values: a component whose cheap listing cannot show env (docker's image list)
    #: reports hashes; a pull that needs plain values asks the adapter (e.g. DockerComponent.read_env).
    env_hashed: bool = False
    #: The registry identity the ownership mark names (its kind's owner_key, registry.kinds), or None
    #: when the mark names only the function (a legacy mark, from before identities). Only
    #: meaningful when ``marked``; the engine compares it with its own registry id.
    owner: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        fingerprint = normalize(self.values)
        if self.env_hashed:  # old unsalted hashes (labels from before keyed hashes) made keyed
            fingerprint["env"] = canonical_env(self.values.get("env"))
        return fingerprint


@dataclass
class Observation:
    """What one observe() call saw on one component.

    ``complete`` is False when any page failed, the provider reported unreachable
    locations, or the listing was otherwise partial; the engine then plans no prune and
    no delete for this component (the safety rule).
    """

    component: str
    items: dict[str, ObservedFunction] = field(default_factory=dict)
    complete: bool = True
    errors: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)  # names of resources without our mark (shown, never touched)
    observed_at: str = ""
    duration_s: float = 0.0

    @classmethod
    def failed(cls, component: str, error: str) -> "Observation":
        return cls(component=component, complete=False, errors=[error])


class ApplyError(Exception):
    """An adapter could not carry out one action; the message says what and why."""


@runtime_checkable
class Component(Protocol):
    """A source of truth that holds deployed copies of functions."""

    name: str
    #: This registry's identity (its lineage), set by the service before any create / update /
    #: claim: written into the ownership mark of every resource the adapter creates or changes.
    registry_id: str

    def detect(self) -> Detection:
        """Availability, version (compared as a version), reason and fix when unavailable."""
        ...

    def observe(self) -> Observation:
        """List every function we own here (one listing, never one call per function)."""
        ...

    def create(self, spec: FunctionSpec) -> ObservedFunction:
        """Deploy a function that is not there yet, carrying the ownership mark."""
        ...

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        """Bring an existing resource to ``spec``; ``fields`` are the fingerprint fields that differ."""
        ...

    def delete(self, name: str, resource_id: str = "") -> None:
        """Remove a marked resource. Must refuse (ApplyError) an unmarked one."""
        ...

    def claim(self, name: str, resource_id: str = "") -> ObservedFunction:
        """Write this registry's identity (``registry_id``) into the ownership mark of an
        existing marked resource (a legacy mark's migration, or an adoption the user named),
        leaving everything else as it is. Must refuse (ApplyError) an unmarked one."""
        ...
