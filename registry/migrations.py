"""Schema versions of the registry file and the steps between them.

``MIGRATIONS[v]`` turns the tables of a schema-``v`` file into schema ``v + 1``. Loading
runs every step from the file's version up to SCHEMA_VERSION in memory; the next write
saves the new shape (and keeps the old file as ``.bak``). A file newer than this code is
refused rather than guessed at.

To change the file's shape: bump SCHEMA_VERSION, add ``MIGRATIONS[old] = step`` and a
test that loads a file of the old version.

Schema 2's compact bases (registry.compact) are self-contained: a reference
``[component, state]`` means "that component's base in this same document, with this
state", never "recompute from the spec". So a change to the fingerprint rule
(``registry.fingerprint.normalize``) changes no stored base and needs no migration. A future
form that did store "the spec's fingerprint" instead of a base would: a change of
normalize would then need a schema bump whose step expands those markers with the OLD
rule (a frozen copy of it), in records and in history, before the new rule applies.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

from functions_tui.registry.errors import RegistryError

SCHEMA_VERSION = 3

Tables = dict[str, Any]


def _v0_to_v1(tables: Tables) -> Tables:
    """Schema 0 (pre-release): each function held ``bases`` and ``resource_ids`` maps per
    component and no top-level name; there was no history table.

    Schema 1: ``{"spec", "components": {c: ComponentRecord}}`` plus ``history``.
    """
    functions = {}
    for doc_id, doc in tables["functions"].items():
        if not isinstance(doc, dict) or "components" in doc:
            functions[doc_id] = doc  # already new-shaped (or broken: validation names it)
            continue
        bases = doc.get("bases") or {}
        ids = doc.get("resource_ids") or {}
        components = {
            c: {"component": c, "base": bases.get(c), "resource_id": ids.get(c, ""), "last_sync": ""}
            for c in sorted(set(bases) | set(ids))
        }
        functions[doc_id] = {"spec": doc.get("spec"), "components": components}
    migrated = dict(tables)
    migrated["functions"] = functions
    migrated.setdefault("history", {})
    return migrated


def _v1_to_v2(tables: Tables) -> Tables:
    """Schema 2 may store a component's base as a reference ``[component, state]``
    (registry.compact): the named component's base in the same document with that state.
    A schema-1 file, with every base in full, is already a valid schema-2 file, so nothing
    is rewritten: records turn compact as they are put again. (Compacting them here would also mean rewriting
    history's undo paths, which were worked out on the full form.) The bump itself is what
    matters: it makes older functions-tui refuse a file whose references it would misread.
    """
    return tables


def _v2_to_v3(tables: Tables, keys: Any = None) -> Tables:
    """Schema 3 holds no env value in clear (registry.secrets): spec env values are
    encrypted (``enc:1:...``), history keeps keyed digests instead of values, and the old
    unsalted env hashes (``h:``) become keyed: in declaration snapshots ``k:`` where the spec's
    value matches, and in bases (a docker base is its label's hashes) and otherwise ``l:``, the
    old hash keyed, which the engine still compares with the value it stands for. Needs the
    registry's keys: the store binds them (:func:`with_keys`). The bump also makes an older
    functions-tui refuse the file instead of deploying ciphertext as env values.
    """
    from functions_tui.registry.secrets import active, upgrade_tables

    return upgrade_tables(tables, keys if keys is not None else active())


_v2_to_v3.needs_keys = True  # type: ignore[attr-defined]


#: version -> step to version + 1
MIGRATIONS: dict[int, Callable[[Tables], Tables]] = {
    0: _v0_to_v1,
    1: _v1_to_v2,
    2: _v2_to_v3,
}


def with_keys(migrations: dict[int, Callable[..., Tables]], keys: Any) -> dict[int, Callable[[Tables], Tables]]:
    """``migrations`` with the steps that need a registry's keys (``needs_keys``) bound to ``keys``."""
    return {v: functools.partial(step, keys=keys) if getattr(step, "needs_keys", False) else step
            for v, step in migrations.items()}


def migrate(tables: Tables, version: int, path: Path,
            migrations: dict[int, Callable[[Tables], Tables]] | None = None,
            target: int | None = None) -> Tables:
    """Bring ``tables`` (of schema ``version``) up to ``target`` (default SCHEMA_VERSION)."""
    steps = MIGRATIONS if migrations is None else migrations
    target = SCHEMA_VERSION if target is None else target
    if version > target:
        raise RegistryError(
            f"registry {path} has schema {version}, newer than this functions-tui understands "
            f"({target}); upgrade functions-tui (the file was left untouched)."
        )
    while version < target:
        step = steps.get(version)
        if step is None:
            raise RegistryError(f"registry {path}: no migration from schema {version} to {version + 1}.")
        try:
            tables = step(tables)
        except Exception as exc:
            raise RegistryError(
                f"registry {path}: migrating schema {version} to {version + 1} failed: {exc!r} "
                f"(the file was left untouched)"
            ) from exc
        version += 1
    return tables
