"""The domain vocabulary: functions, their per-component records, history entries.

Plain dataclasses that round-trip through JSON-safe dicts (``to_dict`` / ``from_dict``),
because the store keeps raw dicts (fast at 100k records) and converts on demand.
Nothing here imports Textual or a cloud SDK (tests/test_layering.py holds that line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from functions_tui.registry.kinds import MANAGED_LABEL_KEYS, default_state

#: A target may run a prebuilt container image instead of a package of the source folder
#: (``targets.<component>.image``, e.g. an ECR image for a Lambda function). Such a target's
#: code is the image: R's ``code_digest`` there is this prefix plus the image reference (so
#: changing the reference is a code change and the source folder's digest is none), and it
#: has no runtime or entry point of its own (the image brings them: nothing to compare there
#: and nothing to deploy). Which kinds run images is the kind's to say (registry.limits).
IMAGE_PREFIX = "image:"

DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_S = 60


def target_image(target: Any) -> str:
    """The image reference a target runs (``targets.<component>.image``), or "" when it runs a
    package of the function's source."""
    image = target.get("image") if target.__class__ is dict else None
    return str(image) if image else ""


def utc_now() -> str:
    """ISO-8601 UTC timestamp, second precision: what history and bases record."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def is_managed_label(key: str) -> bool:
    """True for labels the tool itself sets (marks, digests), in any kind's spelling: never
    part of user drift (registry.kinds.MANAGED_LABEL_KEYS)."""
    return key in MANAGED_LABEL_KEYS


@dataclass
class FunctionSpec:
    """What the registry says a function should be: the user's declaration.

    ``targets`` maps a component name to its settings, e.g.
    ``{"docker": {"port": 8080, "state": "running"}, "gcp": {"project": "p", "region":
    "europe-west1", "trigger": "http"}, "aws": {"region": "eu-west-1", "role": "arn:..."}}``;
    a component absent from ``targets`` is not a place this function is deployed to. A target
    with ``image`` runs that prebuilt image, not the source (IMAGE_PREFIX).
    ``ignore`` lists fingerprint fields (or ``env.NAME`` / ``labels.NAME``) whose
    differences are never drift, like Argo CD's ignoreDifferences.

    ``declared`` is the snapshot of the declaration's values as last read by ``add`` (or
    last written back into it by a sync), so ``add`` can tell a field the user edited
    since from one a pull changed meanwhile (app.writeback)::

        {"runtime": "python3.11", "entry_point": "main", "memory": 256, "timeout": 60,
         "env": {"API_KEY": "k:<hash_value>"},  # keyed hashes, never a value in clear
         "labels": {"team": "web"}, "targets_state": {"docker": "running"},
         "code_digest": "sha256:..."}

    Empty for a function with no declaration (adopted) or registered by an older version.
    """

    name: str
    runtime: str
    entry_point: str = "main"
    source: str = ""
    memory: int = DEFAULT_MEMORY_MB
    timeout: int = DEFAULT_TIMEOUT_S
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore: list[str] = field(default_factory=list)
    code_digest: str = ""
    declared_in: str = ""
    declared: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "runtime": self.runtime,
            "entry_point": self.entry_point,
            "source": self.source,
            "memory": self.memory,
            "timeout": self.timeout,
            "env": dict(self.env),
            "labels": dict(self.labels),
            "after": list(self.after),
            "targets": {k: dict(v) for k, v in self.targets.items()},
            "ignore": list(self.ignore),
            "code_digest": self.code_digest,
            "declared_in": self.declared_in,
            "declared": _copy_plain(self.declared),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FunctionSpec":
        # Positional, in field order (checked below the class), and no int() of an int:
        # building every record of a large registry calls this 100k times (a third faster).
        get = data.get
        memory, timeout = get("memory", DEFAULT_MEMORY_MB), get("timeout", DEFAULT_TIMEOUT_S)
        return cls(
            data["name"],
            data["runtime"],
            get("entry_point", "main"),
            get("source", ""),
            memory if type(memory) is int else int(memory),
            timeout if type(timeout) is int else int(timeout),
            dict(get("env") or {}),
            dict(get("labels") or {}),
            list(get("after") or []),
            {k: dict(v or {}) for k, v in (get("targets") or {}).items()},
            list(get("ignore") or []),
            get("code_digest", ""),
            get("declared_in", ""),
            _copy_plain(get("declared") or {}),
        )

    def image(self, component: str) -> str:
        """The prebuilt image ``component`` runs (its target's ``image``), or "" (see IMAGE_PREFIX)."""
        return target_image(self.targets.get(component))

    def desired_state(self, component: str) -> str:
        return str(self.targets.get(component, {}).get("state", default_state(component)))


# FunctionSpec.from_dict passes the fields by position.
assert [f.name for f in fields(FunctionSpec)] == [
    "name", "runtime", "entry_point", "source", "memory", "timeout", "env", "labels", "after", "targets",
    "ignore", "code_digest", "declared_in", "declared"], "FunctionSpec's fields changed: update from_dict"


def _copy_plain(value: Any) -> Any:
    """A copy of nested dicts (the declared snapshot is two levels deep)."""
    if type(value) is dict:
        return {k: _copy_plain(v) for k, v in value.items()}
    return value


@dataclass
class ComponentRecord:
    """The registry's memory of one function on one component.

    ``base`` is the normalized fingerprint (see registry.fingerprint) the component had at
    the last successful sync: the B of the three-way comparison. ``None`` means this
    function was never seen there (so a missing resource is "not deployed", not a ghost).
    """

    component: str
    base: dict[str, Any] | None = None
    resource_id: str = ""
    last_sync: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "base": self.base,
            "resource_id": self.resource_id,
            "last_sync": self.last_sync,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ComponentRecord":
        get = data.get  # (positional: 3 a record, 100k records a load)
        return cls(data["component"], get("base"), get("resource_id", ""), get("last_sync", ""))


@dataclass
class FunctionRecord:
    """One registry entry: the spec and, per component, the record with its base."""

    spec: FunctionSpec
    components: dict[str, ComponentRecord] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "spec": self.spec.to_dict(),
            "components": {k: v.to_dict() for k, v in self.components.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FunctionRecord":
        return cls(
            spec=FunctionSpec.from_dict(data["spec"]),
            components={k: ComponentRecord.from_dict(v) for k, v in (data.get("components") or {}).items()},
        )


#: Where a change came from, recorded in history.
HISTORY_SOURCES = ("sync", "user", "import")


@dataclass
class HistoryEntry:
    """One change to the registry: what, before/after, who (source + pid/user), when."""

    function: str
    action: str
    source: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    component: str = ""
    at: str = field(default_factory=utc_now)
    actor: str = field(default_factory=lambda: f"{os.environ.get('USER', 'unknown')}@pid{os.getpid()}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "action": self.action,
            "source": self.source,
            "before": self.before,
            "after": self.after,
            "component": self.component,
            "at": self.at,
            "actor": self.actor,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HistoryEntry":
        return cls(**{k: data.get(k) for k in ("function", "action", "source", "before", "after")},
                   component=data.get("component", ""), at=data.get("at", ""), actor=data.get("actor", ""))


def digest_source(path: str | Path) -> str:
    """A stable sha256 over a source folder (relative names + contents, sorted).

    Used as the function's code digest: the same tree gives the same digest on every
    machine, so a rebuilt-but-unchanged function is not drift. It covers exactly the files
    an upload holds (registry.packaging.source_files: ignore files and the default
    exclusions honoured), so a change to an ignored file is no code change.
    """
    from functions_tui.registry.packaging import digest

    return digest(path)
