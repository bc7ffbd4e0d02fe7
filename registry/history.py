"""The registry's change history: a bounded TinyDB table in the registry file itself.

Every put/remove in a transaction appends one entry (function, action, source sync|user|
import, component, time, actor). History lives in the same file as the records so a change
and its entry are written by the same atomic replace: never one without the other.

Compact by construction (so history does not double the file and every load): an entry
stores only what cannot be derived from the newer state. Walking from the current record
backwards, each entry's ``after`` is the state after it (the next newer entry's ``before``,
or the current record), so the file keeps:

- a create: nothing (before is None);
- an update: ``undo``, the list of leaf changes that turn ``after`` back into ``before``
  (usually a few fields: a base refreshed by a sync, a memory change);
- a delete: ``before`` in full (there is no after to derive it from).

No env value is ever kept, not even encrypted (registry.secrets): where an undo or a deleted
``before`` holds one, it is replaced by a keyed digest (``~<16 hex>``) of the value's stored
form, so an entry still shows *that* ``env.API_KEY`` changed (the digests differ), never the
value; entries come back with every env value in that form.

``entries()`` rebuilds full HistoryEntry objects with before/after records. This holds
because every change goes through a transaction that records it, and history, records and
any restore move together in one file. A future schema migration that reshapes records
must rewrite ``undo`` paths and ``before`` dicts too. Records are walked in their stored
form, with compact bases (registry.compact), and expanded only in the entries returned:
each undo was worked out between two stored forms, so the walk rebuilds them exactly.

Only the newest HISTORY_LIMIT entries are kept; older ones are dropped on write (the
chain stays valid: it is walked from the newest end). The table is a TinyDB table: entries
are inserted and trimmed with its API (registry.store), and its doc ids keep counting up
across trims, so an id always names the same entry.
"""

from __future__ import annotations

from typing import Any

from functions_tui.registry import secrets as _secrets
from functions_tui.registry.compact import copy_json, expand_doc
from functions_tui.registry.models import HistoryEntry

#: Entries kept in the file; the oldest are dropped beyond this.
HISTORY_LIMIT = 10_000

_MISSING = object()


def undo_ops(after: dict[str, Any], before: dict[str, Any]) -> list[list[Any]]:
    """Leaf changes turning ``after`` into ``before``: ``[path, value]`` sets, ``[path]`` unsets."""
    ops: list[list[Any]] = []

    def walk(path: list[str], new: Any, old: Any) -> None:
        if type(new) is dict and type(old) is dict:
            for key, old_value in old.items():
                new_value = new.get(key, _MISSING)
                if new_value is _MISSING:
                    ops.append([path + [key], old_value])
                elif new_value != old_value:
                    walk(path + [key], new_value, old_value)
            for key in new:
                if key not in old:
                    ops.append([path + [key]])
        elif new != old:
            ops.append([path, old])

    walk([], after, before)
    return ops


def apply_undo(after: dict[str, Any], ops: list[list[Any]]) -> dict[str, Any]:
    """``before`` rebuilt from ``after`` (not modified) and its undo ops."""
    state = copy_json(after)
    for op in ops:
        path = op[0]
        if not path:  # the whole record differed in kind
            state = copy_json(op[1]) if len(op) > 1 else {}
            continue
        parent = state
        for key in path[:-1]:
            child = parent.get(key)
            if type(child) is not dict:
                child = parent[key] = {}
            parent = child
        if len(op) > 1:
            parent[path[-1]] = copy_json(op[1])
        else:
            parent.pop(path[-1], None)
    return state


def compact_entry(entry: dict[str, Any], before: dict[str, Any] | None,
                  after: dict[str, Any] | None, keys: Any = None) -> dict[str, Any]:
    """The stored form of one change (see the module doc); with ``keys``
    (registry.secrets.RegistryKeys) env values are replaced by their keyed digests."""
    if before is not None:
        if after is None:
            entry["before"] = before if keys is None else _secrets.scrub_doc(before, keys)
        else:
            ops = undo_ops(after, before)
            entry["undo"] = ops if keys is None else _secrets.scrub_ops(ops, keys)
    return entry


def entries(table: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]],
            name: str | None = None, limit: int | None = None, keys: Any = None) -> list[HistoryEntry]:
    """Entries (of ``name``, or all), newest first, at most ``limit``, with before/after
    rebuilt by walking back from ``current`` (name -> record dict as stored now); with
    ``keys``, every env value in them is its keyed digest (as history stores them)."""
    def shown(doc: dict[str, Any]) -> dict[str, Any]:
        doc = expand_doc(doc)
        return doc if keys is None else _secrets.scrub_doc(doc, keys)

    state: dict[str, dict[str, Any] | None] = {}
    found: list[HistoryEntry] = []
    for key in sorted(table, key=int, reverse=True):
        doc = table[key]
        function = doc.get("function")
        if name is not None and function != name:
            continue
        after = state[function] if function in state else current.get(function)
        if "before" in doc:
            before = doc["before"]
        elif "undo" in doc and after is not None:
            before = apply_undo(after, doc["undo"])
        else:
            before = None
        state[function] = before
        if doc.get("after") is not None:  # an entry written in full (older format, or by hand)
            after = doc["after"]
        found.append(HistoryEntry(
            function=function, action=doc.get("action", ""), source=doc.get("source", ""),
            # Walked in the stored (compact) form; expanded only for the caller.
            before=shown(before) if before is not None else None,
            after=shown(after) if after is not None else None,
            component=doc.get("component", ""), at=doc.get("at", ""), actor=doc.get("actor", ""),
        ))
        if limit is not None and len(found) >= limit:
            break
    return found


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What one entry changed in the spec, for people: ``["env.API_KEY changed",
    "memory: 128 → 512"]`` (env keys named, never a value), ``["created"]`` / ``["removed"]``."""
    if not before or not after:
        return ["created"] if after else (["removed"] if before else [])
    old, new = before.get("spec") or {}, after.get("spec") or {}
    out = []
    old_env, new_env = old.get("env") or {}, new.get("env") or {}
    for key in sorted(set(old_env) | set(new_env)):
        if key not in old_env:
            out.append(f"env.{key} added")
        elif key not in new_env:
            out.append(f"env.{key} removed")
        elif old_env[key] != new_env[key]:
            out.append(f"env.{key} changed")
    for key in sorted(set(old) | set(new)):
        if key not in ("env", "declared", "name") and old.get(key) != new.get(key):
            out.append(f"{key}: {old.get(key)} → {new.get(key)}")
    return out
