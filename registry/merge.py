"""The field-level three-way merge: git's merge, on a function's fields instead of lines.

For one function on one component, R (the registry's spec), B (the base: the component at
the last sync) and C (the component now) are compared *per field*, env and labels key by
key (``env.API_KEY``, ``labels.team``):

- R = C                 settled: nothing to do (a change made the same way on both sides)
- R = B, C ≠ B          the component changed it: its side is ``component`` (pull)
- C = B, R ≠ B          the registry changed it: its side is ``registry`` (push)
- R ≠ B, C ≠ B, R ≠ C   both changed it differently: ``conflict`` (a person decides)
- no B at all           never synced: every difference is a ``conflict``

A pair whose differing fields all have a side is merged: its component-side fields are
pulled and its registry-side fields pushed, and nothing either side changed is lost. Values
are whatever the fingerprints hold (env values are hashes, never secrets).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

#: Sides a differing field can take.
REGISTRY = "registry"      # changed only in the registry: push it
COMPONENT = "component"    # changed only on the component: pull it
CONFLICT = "conflict"      # changed on both sides, differently
SIDES = (REGISTRY, COMPONENT)

#: Fingerprint fields compared key by key (the others are compared whole).
KEYED_FIELDS = frozenset({"env", "labels"})


def side_of(registry: Any, base: Any, component: Any, has_base: bool = True) -> str | None:
    """The side of one (flat) field, or None when R = C (nothing to do)."""
    if registry == component:
        return None
    if not has_base:
        return CONFLICT
    if registry == base:
        return COMPONENT
    if component == base:
        return REGISTRY
    return CONFLICT


def flat_fields(registry: Mapping[str, Any], base: Mapping[str, Any] | None,
                component: Mapping[str, Any], fields: Iterable[str]) -> Iterator[tuple[str, Any, Any, Any]]:
    """(flat field, B, R, C) for every field (env / labels key by key) where R ≠ C, in a
    stable order: ``fields``' order, keys sorted within a keyed field."""
    base = base or {}
    for name in fields:
        r, c = registry.get(name), component.get(name)
        if r == c:
            continue
        b = base.get(name)
        if name in KEYED_FIELDS:
            r_map, c_map, b_map = r or {}, c or {}, b or {}
            for key in sorted(set(r_map) | set(c_map)):
                rv, cv = r_map.get(key), c_map.get(key)
                if rv != cv:
                    yield f"{name}.{key}", b_map.get(key), rv, cv
        else:
            yield name, b, r, c


def merge(registry: Mapping[str, Any], base: Mapping[str, Any] | None,
          component: Mapping[str, Any], fields: Iterable[str]) -> dict[str, str]:
    """{flat field: side} for every field where R ≠ C."""
    has_base = base is not None
    return {f: side_of(r, b, c, has_base) for f, b, r, c in flat_fields(registry, base, component, fields)}


def merged_values(registry: Mapping[str, Any], base: Mapping[str, Any] | None,
                  component: Mapping[str, Any], fields: Iterable[str],
                  conflicts: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The merge result as flat values ({``memory``: 256, ``env.A``: hash or None}) for every
    field where R ≠ C, and the conflicting fields. ``conflicts`` (``registry`` /
    ``component``) settles conflicts that way; None leaves them out of the values."""
    values: dict[str, Any] = {}
    left: list[str] = []
    has_base = base is not None
    for f, b, r, c in flat_fields(registry, base, component, fields):
        side = side_of(r, b, c, has_base)
        if side == CONFLICT:
            if conflicts is None:
                left.append(f)
                continue
            side = conflicts
        values[f] = r if side == REGISTRY else c
    return values, left


def state_of(sides: Iterable[str]) -> str:
    """How a pair's sides sum up: ``drifted`` (all component), ``pending`` (all registry),
    ``diverged`` (both, no conflict), ``conflict`` (any conflict), ``in_sync`` (none)."""
    seen = set(sides)
    if CONFLICT in seen:
        return "conflict"
    if seen == {COMPONENT}:
        return "drifted"
    if seen == {REGISTRY}:
        return "pending"
    return "diverged" if seen else "in_sync"


def resolved_sides(sides: Mapping[str, str], choices: Mapping[str, str]) -> dict[str, str]:
    """Every field's side once a person's ``choices`` ({flat or whole field: side}) are
    applied: a choice names a flat field (``env.A``) or a whole one (``env``); a field with no
    choice keeps its merge side. Conflicts without a choice stay ``conflict``."""
    out = {}
    for f, side in sides.items():
        choice = choices.get(f, choices.get(f.split(".", 1)[0]))
        out[f] = choice if choice in SIDES else side
    return out


def questioned(sides: Mapping[str, str]) -> list[str]:
    """The fields a pair's question is about: its conflicts when it has any (fields that merge
    cleanly keep both sides' changes), else the component's changes (drift asked about),
    else the registry's."""
    for wanted in (CONFLICT, COMPONENT, REGISTRY):
        fields = [f for f, side in sides.items() if side == wanted]
        if fields:
            return fields
    return []


def decided_sides(sides: Mapping[str, str], choice: str,
                  fields: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every field's side once a person answered: ``choice`` ``registry`` / ``component``
    answers the questioned fields; ``merge`` takes ``fields`` ({field: side}) and leaves
    the rest on their merge side. A conflict left without an answer stays ``conflict``."""
    if choice in SIDES:
        return resolved_sides(sides, dict.fromkeys(questioned(sides), choice))
    return resolved_sides(sides, dict(fields or {}))


#: How one side changed a field (or an env / labels key) since the base.
ADDED, REMOVED, CHANGED = "added", "removed", "changed"


def change_of(base: Any, value: Any) -> str:
    """``added`` / ``removed`` / ``changed`` for one side's (plain) value against the base's,
    "" when that side left it as it was. None is "absent" (a key not set)."""
    if value == base:
        return ""
    if base is None:
        return ADDED
    return REMOVED if value is None else CHANGED


def key_changes(base: Any, registry: Any, component: Any) -> tuple[str, str]:
    """(registry's change, component's change) of one flat field, each as :func:`change_of`
    says: which side touched a key and how, so a person sees *where* an env key differs."""
    return change_of(base, registry), change_of(base, component)
