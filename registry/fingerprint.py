"""Normalized fingerprints: the fields that matter for drift, in one comparable shape.

A fingerprint is a plain dict with exactly FINGERPRINT_FIELDS as keys. Env values are
replaced by short hashes, so a fingerprint (and so a base) never holds a secret, yet a
changed value still shows as a difference. Provider churn (update times, revision and
version numbers, ``$LATEST``, our own mark/digest labels) never enters a fingerprint.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

from registry.models import FunctionSpec, is_managed_label

FINGERPRINT_FIELDS: tuple[str, ...] = (
    "runtime", "entry_point", "memory", "timeout", "env", "labels", "code_digest", "state",
)

#: Fields whose values are secrets: shown masked everywhere.
SECRET_FIELDS = frozenset({"env"})


def hash_value(value: str) -> str:
    """A short, stable hash of one env value (16 hex chars of sha256)."""
    return "h:" + hashlib.sha256(str(value).encode()).hexdigest()[:16]


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


def spec_values(spec: FunctionSpec, component: str) -> dict[str, Any]:
    """The raw values the registry wants on ``component`` (env in plain text)."""
    return {
        "runtime": spec.runtime,
        "entry_point": spec.entry_point,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "env": dict(spec.env),
        "labels": dict(spec.labels),
        "code_digest": spec.code_digest,
        "state": spec.desired_state(component),
    }


def spec_fingerprint(spec: FunctionSpec, component: str) -> dict[str, Any]:
    """R: the registry's fingerprint for one function on one component."""
    return normalize(spec_values(spec, component))
