"""An in-memory component implementing registry.component.Component fully.

Used by the engine's tests and by anyone who needs a component without a backend. It
behaves like a real one where it matters to the engine: resources carry the ownership mark
and the code digest as labels, observe() returns copies (so a test mutating the component
afterwards does not change an observation already taken), values carry provider churn
(revision, update time, ``$LATEST``) that must never read as drift, and failures can be
switched on: a failed or partial listing, or an apply error for chosen functions.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Iterable, Mapping

from functions_tui.registry.component import ApplyError, Detection, Observation, ObservedFunction
from functions_tui.registry.fingerprint import spec_values
from functions_tui.registry.kinds import kind_of
from functions_tui.registry.models import FunctionSpec, utc_now


def _key(component: str, which: str) -> str:
    """Our label key in the spelling of ``component``'s kind ("." for one no kind knows)."""
    try:
        return getattr(kind_of(component), which)
    except KeyError:
        return {"mark_key": "functions-tui.function", "owner_key": "functions-tui.registry",
                "digest_key": "functions-tui.digest", "deployed_code_key": "functions-tui.deployed-code"}[which]


class MemoryComponent:
    """A component whose resources live in a dict.

    ``items`` maps a function name to its raw values (as ``spec_values`` gives them; missing
    keys take defaults) or to a ready ObservedFunction. ``fail_observe`` (True or a message)
    makes observe() a failed listing; ``partial`` a listing marked incomplete that still
    shows what it got. ``fail_apply`` maps function names to the ApplyError message their
    create/update/delete raises. ``unmarked`` names resources without our ownership mark.
    """

    def __init__(self, name: str, items: Mapping[str, Any] | None = None, *,
                 fail_observe: bool | str = False, partial: bool = False,
                 available: bool = True, fail_apply: Mapping[str, str] | None = None,
                 unmarked: Iterable[str] = (), version: str = "1.0.0") -> None:
        self.name = name
        self.fail_observe = fail_observe
        self.partial = partial
        self.available = available
        self.fail_apply = dict(fail_apply or {})
        self.version = version
        self.calls: list[tuple[str, str]] = []  # (operation, function) in call order
        self._ids = itertools.count(1)
        self.resources: dict[str, ObservedFunction] = {}
        unmarked = set(unmarked)
        for fname, values in (items or {}).items():
            if isinstance(values, ObservedFunction):
                self.resources[fname] = copy.deepcopy(values)
            else:
                self.put(fname, values, marked=fname not in unmarked)

    # --- test helpers ------------------------------------------------------------------
    #: Set by the engine before it applies (the registry's lineage); tests that create
    #: resources directly get this one.
    registry_id: str = "memory-test-registry"

    def put(self, name: str, values: Mapping[str, Any] | None = None, *, marked: bool = True,
            owner: str | None = None) -> ObservedFunction:
        """Place a resource directly (as if made out of band), with provider churn added.
        ``owner``: the registry identity its mark names (None: an old name-only mark)."""
        full = {"runtime": "python3.12", "entry_point": "main", "memory": 256, "timeout": 60,
                "env": {}, "labels": {}, "code_digest": "", "state": "active"}
        full.update(copy.deepcopy(dict(values or {})))
        labels = dict(full.get("labels") or {})
        if marked:
            labels[_key(self.name, 'mark_key')] = name
            if owner:
                labels[_key(self.name, 'owner_key')] = owner
        if full.get("code_digest"):
            labels[_key(self.name, 'digest_key')] = str(full["code_digest"])
        full["labels"] = labels
        self._churn(full)
        item = ObservedFunction(name=name, component=self.name, values=full,
                                resource_id=f"{self.name}/{name}/{next(self._ids)}", marked=marked,
                                summary=f"{name} ({full.get('state')}) in memory", owner=owner if marked else None)
        self.resources[name] = item
        return item

    def change(self, name: str, **values: Any) -> None:
        """Edit a resource out of band (a console change): drift."""
        item = self.resources[name]
        for key, value in values.items():
            item.values[key] = copy.deepcopy(value)
        self._churn(item.values)

    def remove(self, name: str) -> None:
        """Delete a resource out of band: a ghost for the registry."""
        del self.resources[name]

    @staticmethod
    def _churn(values: dict[str, Any]) -> None:
        """Provider bookkeeping that changes on every write and must never be drift."""
        values["revision"] = int(values.get("revision", 0)) + 1
        values["update_time"] = utc_now()
        values["version"] = "$LATEST"

    # --- the Component interface ---------------------------------------------------------
    def detect(self) -> Detection:
        if not self.available:
            return Detection(self.name, False, reason=f"{self.name} is switched off in this test",
                             fix="construct MemoryComponent(available=True)")
        return Detection(self.name, True, version=self.version)

    def observe(self) -> Observation:
        self.calls.append(("observe", ""))
        if not self.available:
            return Observation.failed(self.name, f"{self.name} is unavailable")
        if self.fail_observe:
            message = self.fail_observe if isinstance(self.fail_observe, str) else "listing failed"
            return Observation.failed(self.name, message)
        items = {n: copy.deepcopy(i) for n, i in self.resources.items() if i.marked}
        unmarked = sorted(n for n, i in self.resources.items() if not i.marked)
        if self.partial:
            return Observation(self.name, items=items, complete=False, errors=["page 2 of the listing failed"],
                               unmarked=unmarked, observed_at=utc_now())
        return Observation(self.name, items=items, complete=True, unmarked=unmarked, observed_at=utc_now())

    def _check(self, op: str, name: str) -> None:
        self.calls.append((op, name))
        if name in self.fail_apply:
            raise ApplyError(self.fail_apply[name])

    def create(self, spec: FunctionSpec) -> ObservedFunction:
        self._check("create", spec.name)
        if spec.name in self.resources:
            raise ApplyError(f"{spec.name} already exists on {self.name}")
        if not self.registry_id:
            raise ApplyError(f"{self.name}: no registry identity to mark {spec.name} with")
        return copy.deepcopy(self.put(spec.name, spec_values(spec, self.name), owner=self.registry_id))

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        self._check("update", spec.name)
        item = self.resources.get(spec.name)
        if item is None:
            raise ApplyError(f"{spec.name} does not exist on {self.name}")
        if not item.marked:
            raise ApplyError(f"{spec.name} on {self.name} is not ours (no ownership mark)")
        wanted = spec_values(spec, self.name)
        for field_name in fields or list(wanted):
            value = copy.deepcopy(wanted[field_name])
            if field_name == "labels":  # keep our own mark/digest labels
                value.update({k: v for k, v in item.values["labels"].items()
                              if k in (_key(self.name, 'mark_key'), _key(self.name, 'digest_key'))})
            item.values[field_name] = value
        self._own(item)
        if "code_digest" in (fields or []) and item.values.get("code_digest"):
            item.values["labels"][_key(self.name, 'digest_key')] = item.values["code_digest"]
        self._churn(item.values)
        return copy.deepcopy(item)

    def _own(self, item: ObservedFunction) -> None:
        if not self.registry_id:
            raise ApplyError(f"{self.name}: no registry identity to mark {item.name} with")
        item.owner = self.registry_id
        item.values["labels"][_key(self.name, 'owner_key')] = self.registry_id

    def claim(self, name: str, resource_id: str = "") -> ObservedFunction:
        self._check("claim", name)
        item = self.resources.get(name)
        if item is None or not item.marked:
            raise ApplyError(f"{name} on {self.name} carries no ownership mark: not claimed")
        self._own(item)
        return copy.deepcopy(item)

    def delete(self, name: str, resource_id: str = "") -> None:
        self._check("delete", name)
        item = self.resources.get(name)
        if item is None:
            raise ApplyError(f"{name} does not exist on {self.name}")
        if not item.marked:
            raise ApplyError(f"refusing to delete {name} on {self.name}: it has no ownership mark")
        del self.resources[name]
