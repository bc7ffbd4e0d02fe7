"""The compact stored form of a record: a base that repeats another component's is a reference.

A function's three component bases (fingerprints recorded at the last sync) are, for a
function in sync everywhere, the same fingerprint three times except ``state`` (docker's
"running", the clouds' "active"): the same runtime, memory, env hashes, labels and code
digest. Stored in full they are about half of every record's bytes, and parsing them half
of every load. So the file stores the first component's base in full and a later base
that equals it but for ``state`` as the reference ``[component, state]``::

    "docker": {"component": "docker", "base": {... "state": "running"}, ...}
    "gcp":    {"component": "gcp", "base": ["docker", "active"], ...}

Every reader of the stored dicts expands references (``expand_doc``, ``expand_record``)
before anyone outside the store sees them: FunctionRecords, ``RecordMap.raw()``, history
before/after. (A JSON array is never a base, which is an object or null, so a reference
cannot be mistaken for one.)

Why this is exact, and safe:

- a reference is written only when ``{**first_base, "state": state} == base``, and reading
  builds exactly that, so what is read back equals what was put (tests/test_store_compact.py);
- it depends on nothing but the document itself: no fingerprint rule is re-applied on
  read, so a later change to ``registry.fingerprint.normalize`` cannot change what a stored
  base means. (Storing a base equal to ``spec_fingerprint(spec, c)`` as a "same as the
  spec" marker would shrink the file further, but checking that equality costs a
  normalize, with its env hashing, per record on every write: that doubled the save of an
  import, while this check is one dict compare per component.)

The in-memory stored form (the store's raw dicts, history's undo paths and deleted
``before`` dicts) is this compact form, so history is walked in it and expanded last.
"""

from __future__ import annotations

from typing import Any, Mapping

from functions_tui.registry.models import ComponentRecord, FunctionRecord


def compact_components(components: Mapping[str, Any]) -> dict[str, Any]:
    """``{c: component}`` with each base that equals the first full base but for ``state``
    stored as a reference ``[first component, state]``.

    Values are ComponentRecords (for orjson, which writes one as its ``to_dict()``) or
    their dicts. A component given a reference is a new dict; any other is passed through
    as it is (never changed: it may be the caller's or the cached file's).
    """
    out: dict[str, Any] = {}
    first_name = first = None
    for name, comp in components.items():
        is_record = type(comp) is ComponentRecord
        if is_record:
            base = comp.base
        elif type(comp) is dict:
            base = comp.get("base")
        else:
            out[name] = comp
            continue
        if type(base) is dict:
            if first is None:
                first_name, first = name, base
            elif "state" in base and _same_but_state(base, first):
                if is_record:
                    comp = {"component": comp.component, "base": [first_name, base["state"]],
                            "resource_id": comp.resource_id, "last_sync": comp.last_sync}
                else:
                    comp = {**comp, "base": [first_name, base["state"]]}
        out[name] = comp
    return out


def _same_but_state(base: dict[str, Any], first: dict[str, Any]) -> bool:
    """``base == {**first, "state": base["state"]}`` (``base`` has a state)."""
    return {**first, "state": base["state"]} == base


_NO_STATE: Any = object()


def compact_record(record: FunctionRecord, keys: Any = None) -> dict[str, Any]:
    """The compact stored form of a record for orjson: the spec stays a dataclass (orjson
    writes it as ``spec.to_dict()`` would), and so do the components kept as they are.
    With ``keys`` (registry.secrets.RegistryKeys) a spec with env is its fields with the env
    encoded (values encrypted, references kept): never a value in clear.

    The same result as ``compact_components`` on the record's components, specialized for
    ComponentRecords because a save runs it on every record put (100k for an import): one
    copy of the first base per record (not one per compared base), reused as the probe
    each later base is compared with (the compare itself, two cold bases read in full, is
    most of the cost and cannot be avoided).
    """
    spec = keys.stored_spec(record.spec) if keys is not None else record.spec
    return {"spec": spec, "components": compact_record_components(record)}


def compact_record_components(record: FunctionRecord) -> dict[str, Any]:
    """The components of ``compact_record(record)``."""
    components = record.components
    out: dict[str, Any] = {}
    first_name = first = probe = None
    for name, comp in components.items():
        if type(comp) is not ComponentRecord:  # a caller's odd value: the general path
            return compact_components(components)
        base = comp.base
        if type(base) is dict:
            if first is None:
                first_name, first = name, base
            else:
                state = base.get("state", _NO_STATE)
                if state is not _NO_STATE:
                    if probe is None:
                        probe = {**first, "state": state}
                    else:
                        probe["state"] = state
                    if probe == base:
                        comp = {"component": comp.component, "base": [first_name, state],
                                "resource_id": comp.resource_id, "last_sync": comp.last_sync}
        out[name] = comp
    return out


def compact_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """The compact form of a stored doc (``{"spec", "components"}``); a new dict, or ``doc``."""
    components = doc.get("components")
    if type(components) is not dict or len(components) < 2:
        return doc
    return {**doc, "components": compact_components(components)}


def has_references(doc: Mapping[str, Any]) -> bool:
    """True if some component of the stored ``doc`` holds a reference."""
    components = doc.get("components")
    return type(components) is dict and any(
        type(comp) is dict and type(comp.get("base")) is list for comp in components.values())


class BadReferenceError(ValueError):
    """A stored reference that names no full base of the same record (a hand-edited file)."""


def _resolve(components: Mapping[str, Any], name: str, reference: Any, get_base) -> dict[str, Any]:
    if len(reference) == 2 and type(reference[0]) is str:
        target = components.get(reference[0])
        if target is not None:
            base = get_base(target)
            if type(base) is dict:
                fingerprint = copy_json(base)
                fingerprint["state"] = copy_json(reference[1])
                return fingerprint
    raise BadReferenceError(f"component {name!r}: its base {reference!r} names no full base of the same record")


def expand_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a stored doc with every reference replaced by the base it stands for."""
    copy = copy_json(doc)
    components = copy.get("components")
    if type(components) is dict:
        for name, comp in components.items():
            if type(comp) is dict and type(comp.get("base")) is list:
                comp["base"] = _resolve(components, name, comp["base"], _dict_base)
    return copy


def expand_record(doc: dict[str, Any], keys: Any = None) -> FunctionRecord:
    """A FunctionRecord from a stored doc, its bases its own (not shared with ``doc``); with
    ``keys`` its env decoded (values decrypted, references resolved: registry.secrets)."""
    record = FunctionRecord.from_dict(doc)
    if keys is not None:
        keys.decode_spec(record.spec)
    components = record.components
    for name, comp in components.items():
        base = comp.base
        if type(base) is list:  # as _resolve, inlined (twice a record, 100k records a load)
            target = components.get(base[0]) if len(base) == 2 and type(base[0]) is str else None
            full = target.base if target is not None else None
            if type(full) is not dict:
                raise BadReferenceError(f"component {name!r}: its base {base!r} names no full base of the same record")
            comp.base = fingerprint = copy_json(full)
            fingerprint["state"] = base[1] if type(base[1]) is str else copy_json(base[1])
        elif base is not None:  # from_dict shares it with the (cached) file data
            comp.base = copy_json(base)
    return record


def _dict_base(comp: Any) -> Any:
    return comp.get("base") if type(comp) is dict else None


_CONTAINERS = (dict, list)


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-shaped data (much faster than copy.deepcopy). Scalars are taken
    as they are without a call: a base is mostly scalars, and building every record of a
    large registry copies every base (half of that build was these calls). A dict is copied
    whole in C, then only its containers are replaced (a third faster than a comprehension
    that stores every key again)."""
    if type(value) is dict:
        out = value.copy()
        for k, v in value.items():
            if type(v) in _CONTAINERS:
                out[k] = copy_json(v)
        return out
    if type(value) is list:
        return [copy_json(v) if type(v) in _CONTAINERS else v for v in value]
    return value
