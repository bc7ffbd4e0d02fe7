"""A fourth kind, as a contributor would add one: this module and its registration. A real
kind's module calls ``register(Kind(...))`` itself and is listed in components/__init__.py's
``KIND_MODULES``; this one is registered by the tests that use it (tests/test_instances.py),
so the other tests keep the three real kinds. Its adapter is the tests' in-memory component,
so the whole engine (config, detection, plan, apply, status) runs over a kind no code names,
and ``sandbox_backend`` is what ``functions-tui --sandbox`` starts for it (tests/test_sandbox_kinds.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from functions_tui.registry.kinds import Kind, RunningBackend, SandboxBackend
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


#: Where the sandbox's example store keeps its shelf: its backend points the default instance
#: there, as DOCKER_HOST or AWS_ENDPOINT_URL point the real kinds' at theirs.
SHELF_ENV = "FUNCTIONS_TUI_EXAMPLE_SHELF"


def sandbox_backend(folder: Path) -> RunningBackend:
    """The example store's local backend: a folder of its own under the sandbox's root (a real
    kind starts its emulator or daemon here), removed when the sandbox stops."""
    folder.mkdir(parents=True)
    (folder / "shelf").write_text("the example store's sandbox shelf\n")
    return RunningBackend(env={SHELF_ENV: str(folder)}, stop=lambda: shutil.rmtree(folder, ignore_errors=True),
                          settings={"shelf": "sandbox"})


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
    sandbox=SandboxBackend("tests.kind_example:sandbox_backend", label="the example store"),
)
