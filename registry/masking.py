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


def masked_change(base: str, side: str) -> str:
    """What :func:`mask_side` words say about one side, as registry.merge.change_of does for
    plain values: ``added`` / ``removed`` / ``changed`` / "" (left as it was). Only the words
    are read, so nothing about the value is needed."""
    if side == UNSET:
        return "" if base == UNSET else "removed"
    if side == CHANGED:
        return "added" if base == UNSET else "changed"
    return ""


def masked_changes(base: str, registry: str, component: str) -> tuple[str, str]:
    """(registry's change, component's change) of one masked key (see :func:`masked_change`)."""
    return masked_change(base, registry), masked_change(base, component)


#: A base value that cannot be told: the base keeps only a keyed hash of it, matching neither side.
NOT_KEPT = object()


class Revealed:
    """The clear values of one secret key, fetched on a person's request (the conflict
    screen's reveal key): never stored in a FieldDiff or a plan, never logged. ``repr`` shows
    no value, so an accidental log line or traceback prints only the key."""

    __slots__ = ("key", "base", "registry", "component")

    def __init__(self, key: str, base: Any, registry: Any, component: Any) -> None:
        self.key = key
        self.base = base            # None: not set at the base; NOT_KEPT: set, value not known
        self.registry = registry    # None: not set there
        self.component = component

    def __repr__(self) -> str:
        return f"Revealed({self.key!r}, {MASK})"

    @property
    def base_known(self) -> bool:
        return self.base is not NOT_KEPT


def reveal_key(key: str, base_hash: Any, registry: Any, component: Any, matches: Any) -> Revealed:
    """One key's clear values: the base is kept as a hash only, so its value is the side's
    whose hash it is (``matches(hash, value)``), else :data:`NOT_KEPT` (None when unset)."""
    if base_hash is None:
        base = None
    elif registry is not None and matches(base_hash, registry):
        base = registry
    elif component is not None and matches(base_hash, component):
        base = component
    else:
        base = NOT_KEPT
    return Revealed(key, base, registry, component)
