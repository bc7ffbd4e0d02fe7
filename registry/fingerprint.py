"""Normalized fingerprints: the fields that matter for drift, in one comparable shape.

A fingerprint is a plain dict with exactly FINGERPRINT_FIELDS as keys. Env values are
replaced by short keyed hashes (HMAC-SHA256 under the registry's secret, registry.secrets),
so a fingerprint (and so a base) never holds a secret nor anything a short one could be
brute-forced from, yet a changed value still shows as a difference. Provider churn (update times, revision and
version numbers, ``$LATEST``, our own mark/digest labels) never enters a fingerprint.
"""

from __future__ import annotations

from typing import Any, Mapping

from functions_tui.registry import secrets as _secrets
from functions_tui.registry.models import IMAGE_PREFIX, FunctionSpec, is_managed_label, target_image

FINGERPRINT_FIELDS: tuple[str, ...] = (
    "runtime", "entry_point", "memory", "timeout", "env", "labels", "code_digest", "state",
)

#: Fields whose values are secrets: shown masked everywhere.
SECRET_FIELDS = frozenset({"env"})


def hash_value(value: str) -> str:
    """The keyed hash of one env value: ``k:`` + 16 hex of HMAC-SHA256 under the active
    registry's secret (registry.secrets.activate). Every env hash goes through here (the
    engine's memo in registry.classify included). A ``${VAR}`` reference that cannot be
    resolved here hashes as the value it had when it was last written."""
    if value.__class__ is _secrets.EnvRef:
        if not value.resolved:
            return value.digest
        value = value.plain()
    return _secrets.active().hash(value if value.__class__ is str else str(value))


def hash_matches(stored: Any, value: Any) -> bool:
    """Whether the stored env hash ``stored`` is the hash of the plain ``value``: the keyed
    hash, or (a registry or docker label from before keyed hashes) the old unsalted one or its
    keyed form (``l:``)."""
    if stored is None or value is None:
        return stored is None and value is None
    if stored == hash_value(value):
        return True
    if value.__class__ is _secrets.EnvRef:
        if not value.resolved:
            return False
        value = value.plain()
    if stored.__class__ is not str:
        return False
    if stored.startswith(_secrets.LEGACY):
        return stored == _secrets.legacy_hash(value)
    if stored.startswith(_secrets.LEGACY_KEYED):
        return stored == _secrets.active().legacy_keyed(_secrets.legacy_hash(value))
    return False


def canonical_env(env: Mapping[str, Any] | None) -> dict[str, str]:
    """An env of hashes as a component reported it (docker's labels), in the form the registry
    compares: old unsalted hashes made keyed (registry.secrets.canonical_hash)."""
    canonical = _secrets.canonical_hash
    return {str(k): canonical(str(v)) for k, v in sorted((env or {}).items())}


def normalize(values: Mapping[str, Any]) -> dict[str, Any]:
    """Fingerprint from raw values (as a spec or an observed resource has them).

    ``values`` has the FINGERPRINT_FIELDS keys with env in plain text; missing keys
    become None. Labels the tool manages itself are dropped.
    """
    env = values.get("env") or {}
    labels = values.get("labels") or {}
    memory = values.get("memory")
    timeout = values.get("timeout")
    return {
        "runtime": values.get("runtime") or None,
        "entry_point": values.get("entry_point") or None,
        "memory": int(memory) if memory not in (None, "") else None,
        "timeout": int(timeout) if timeout not in (None, "") else None,
        "env": {str(k): hash_value(v) for k, v in sorted(env.items())},
        "labels": {str(k): str(v) for k, v in sorted(labels.items()) if not is_managed_label(str(k))},
        "code_digest": values.get("code_digest") or None,
        "state": values.get("state") or None,
    }


#: The fields a target running a prebuilt image decides itself (registry.models.IMAGE_PREFIX).
IMAGE_FIELDS = ("runtime", "entry_point", "code_digest")


def image_overrides(target: Any) -> dict[str, Any] | None:
    """R's fields (normalized) a target that runs a prebuilt image has instead of the spec's:
    no runtime and no entry point (the image's own) and the image reference as its code;
    None for a target that runs the source. Applied over R wherever R is built."""
    image = target_image(target)
    if not image:
        return None
    return {"runtime": None, "entry_point": None, "code_digest": IMAGE_PREFIX + image}


def code_identity(spec: FunctionSpec, component: str) -> str:
    """The code ``component`` should run: the image reference for a target with ``image``,
    else the source's digest (what an adapter records in its digest label/tag)."""
    image = spec.image(component)
    return IMAGE_PREFIX + image if image else spec.code_digest


def spec_values(spec: FunctionSpec, component: str) -> dict[str, Any]:
    """The raw values the registry wants on ``component`` (env in plain text)."""
    image = spec.image(component)
    return {
        "runtime": "" if image else spec.runtime,
        "entry_point": "" if image else spec.entry_point,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "env": dict(spec.env),
        "labels": dict(spec.labels),
        "code_digest": IMAGE_PREFIX + image if image else spec.code_digest,
        "state": spec.desired_state(component),
    }


def spec_fingerprint(spec: FunctionSpec, component: str) -> dict[str, Any]:
    """R: the registry's fingerprint for one function on one component."""
    return normalize(spec_values(spec, component))
