"""A fourth kind, as a contributor would add one: this module and its registration. A real
kind's module calls ``register(Kind(...))`` itself and is listed in components/__init__.py's
``KIND_MODULES``; this one is registered by the tests that use it (tests/test_instances.py),
so the other tests keep the three real kinds. Its adapter is the tests' in-memory component,
so the whole engine (config, detection, plan, apply, status) runs over a kind no code names."""

from __future__ import annotations

from typing import Any

from functions_tui.registry.kinds import Kind
from functions_tui.registry.limits import Limits

#: The functions every instance of this kind holds, by instance name (an adapter is built per
#: command; the places it stands for outlive it, as a real provider's would).
PLACES: dict[str, Any] = {}


class ExampleComponent:
    """A MemoryComponent whose resources live in PLACES[name]."""

    def __new__(cls, name: str, **_: Any):
        from tests.memory_component import MemoryComponent

        if name not in PLACES:
            PLACES[name] = MemoryComponent(name)
        return PLACES[name]


KIND = Kind(
    name="example",
    title="Example store",
    docs="an in-memory place (tests only): nothing to set",
    label_separator="-",
    default_state="active",
    states=("active",),
    default_policy="registry-wins",
    target_fields={"state": "str", "shelf": "str"},
    settings={"shelf": "str"},
    adapter="tests.kind_example:ExampleComponent",
    adapter_arguments=lambda settings, env, default: {},
    limits=Limits(provider="Example store", memory_mb=(64, 1024)),
)
