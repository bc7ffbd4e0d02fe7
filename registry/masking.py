"""How secret values are shown: never the value, only whether it is set and whether it changed.

Fingerprints already hold env values as hashes; this turns a (base, registry, component)
triple of hashes into display words, so a FieldDiff for ``env.API_KEY`` reads
``base: set · registry: •••• (changed) · component: unset`` and no secret (nor its hash,
which could be brute-forced for short values) reaches a screen or a JSON report.
"""

from __future__ import annotations

from typing import Any

MASK = "••••"
UNSET = "unset"
SET = "set"
CHANGED = f"{MASK} (changed)"


def mask_base(value: Any) -> str:
    return UNSET if value is None else SET


def mask_side(value: Any, base: Any) -> str:
    """One side (registry or component) relative to the base: unset / set / •••• (changed)."""
    if value is None:
        return UNSET
    return SET if value == base else CHANGED


def mask_triple(base: Any, registry: Any, component: Any) -> tuple[str, str, str]:
    return mask_base(base), mask_side(registry, base), mask_side(component, base)
