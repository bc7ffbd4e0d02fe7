"""The registry file's layout, checked on every read so a damaged file fails closed.

The file is a TinyDB database (an object of tables, each an object of doc-id -> document):

- ``meta``: one document ``{"schema", "serial", "lineage", "created", "updated", "updated_by"}``
  and ``key``, the id of the registry's key (registry.secrets: kept outside this file)
- ``functions``: one document per function, ``{"spec", "components"}``: FunctionRecord.to_dict()
  without its redundant top-level "name" (the name is ``spec.name``; a "name" key, if
  present, must agree), its env values encrypted (``enc:1:...``) or references
  (``ref:1:<keyed hash>:${VAR}``), never in clear (registry.secrets); env hashes in bases
  and the declaration snapshot keyed (``k:``, ``l:``), a base that repeats another component's but for its state
  stored as ``[component, state]`` (registry.compact). That a reference names a full base
  is checked when the record is read (CorruptRegistryError then), not here: a crash cannot
  produce a bad one (writes are atomic), and checking every component costs 40% more here
- ``history``: HistoryEntry dicts, oldest first, bounded (see registry.history)

Other tables (e.g. a journal added later) are carried through writes untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions_tui.registry.errors import corrupt

META, FUNCTIONS, HISTORY = "meta", "functions", "history"
REQUIRED_TABLES = (META, FUNCTIONS, HISTORY)


@dataclass
class Contents:
    """A validated registry file, as raw dicts (FunctionRecords are built on demand)."""

    meta: dict[str, Any]
    functions: dict[str, dict[str, Any]]  # name -> record dict, in file order
    history: dict[str, dict[str, Any]]  # doc id -> entry dict, oldest first
    ids: dict[str, str] = field(default_factory=dict)  # name -> its doc id in the functions table
    tables: dict[str, Any] = field(default_factory=dict)  # the file's tables, as TinyDB reads them

    @property
    def serial(self) -> int:
        return int(self.meta.get("serial", 0))

    @property
    def lineage(self) -> str:
        return str(self.meta.get("lineage", ""))


def file_schema(tables: dict[str, Any], path: Path) -> int:
    """The schema version a parsed file declares (0 when its meta predates versioning)."""
    meta_table = tables.get(META)
    if not isinstance(meta_table, dict) or len(meta_table) != 1:
        raise corrupt(path, "the 'meta' table is missing or does not hold exactly one document")
    meta = next(iter(meta_table.values()))
    if not isinstance(meta, dict):
        raise corrupt(path, "the 'meta' document is not an object")
    schema = meta.get("schema", 0)
    if type(schema) is not int or schema < 0:
        raise corrupt(path, f"the schema version {schema!r} is not a non-negative integer")
    return schema


def check(tables: dict[str, Any], path: Path) -> Contents:
    """Validate the shape of a (migrated) file; any deviation raises CorruptRegistryError."""
    for name in REQUIRED_TABLES:
        if name not in tables:
            raise corrupt(path, f"the '{name}' table is missing")
        if not isinstance(tables[name], dict):
            raise corrupt(path, f"the '{name}' table is a {type(tables[name]).__name__}, expected an object")
    meta = next(iter(tables[META].values()), None)
    if not isinstance(meta, dict):
        raise corrupt(path, "the 'meta' document is missing")
    serial, lineage = meta.get("serial"), meta.get("lineage")
    if type(serial) is not int or serial < 1:
        raise corrupt(path, f"meta.serial {serial!r} is not a positive integer")
    if not isinstance(lineage, str) or not lineage:
        raise corrupt(path, f"meta.lineage {lineage!r} is not a non-empty string")
    functions, ids = _index_functions(tables[FUNCTIONS], path)
    history = tables[HISTORY]
    for doc_id, entry in history.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("function"), str):
            raise corrupt(path, f"history entry {doc_id} is not a history entry")
    return Contents(meta=meta, functions=functions, history=history, ids=ids, tables=tables)


def _index_functions(table: dict[str, Any], path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    # One tight loop: at 100k records every check here costs ~10 ms, so keep it lean. The
    # common, well-formed case runs on plain subscripts inside one try; anything odd
    # (a missing key, a wrong type) falls to _describe, which names the problem.
    index: dict[str, dict[str, Any]] = {}
    ids: dict[str, str] = {}
    for doc_id, doc in table.items():
        try:
            spec = doc["spec"]
            name = spec["name"]
            if (type(doc) is not dict or type(spec) is not dict or type(name) is not str or not name
                    or type(spec["runtime"]) is not str or name in index):
                raise _describe(doc_id, doc, index, path)
            components = doc.get("components")
            if components is not None:
                if type(components) is not dict:
                    raise _describe(doc_id, doc, index, path)
                for comp in components.values():
                    if type(comp) is not dict or "component" not in comp:
                        raise _describe(doc_id, doc, index, path)
            if "name" in doc and doc["name"] != name:
                raise _describe(doc_id, doc, index, path)
        except (KeyError, TypeError, IndexError):
            raise _describe(doc_id, doc, index, path) from None
        index[name] = doc
        ids[name] = doc_id
    return index, ids


def _describe(doc_id: str, doc: Any, index: dict[str, Any], path: Path) -> Exception:
    """The CorruptRegistryError naming what is wrong with function document ``doc_id``."""
    if type(doc) is not dict:
        return corrupt(path, f"function document {doc_id} is not an object")
    spec = doc.get("spec")
    if type(spec) is not dict:
        return corrupt(path, f"function document {doc_id} has no 'spec'")
    name = spec.get("name")
    if type(name) is not str or not name or type(spec.get("runtime")) is not str:
        return corrupt(path, f"function document {doc_id} has a spec without a name or runtime")
    if doc.get("name", name) != name:
        return corrupt(path, f"function document {doc_id} is named {doc.get('name')!r} but its spec says {name!r}")
    components = doc.get("components")
    if components is not None:
        if type(components) is not dict:
            return corrupt(path, f"function {name!r}: 'components' is not an object")
        for comp in components.values():
            if type(comp) is not dict or "component" not in comp:
                return corrupt(path, f"function {name!r}: a component record is not a component record")
    if name in index:
        return corrupt(path, f"function {name!r} appears twice")
    return corrupt(path, f"function document {doc_id} is not a function record")

