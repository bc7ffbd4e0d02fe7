"""Component kinds and their instances: what the engine asks instead of naming a provider.

A **kind** is a sort of place functions live (Docker, Cloud Functions, Lambda). Everything the
code knows about one is declared once, in its module under ``components/`` (``KIND =
register(Kind(...))``), and registered there in display order (``components/__init__.py``).

An **instance** is one place of that kind, named in config.yaml (``aws-prod: {kind: aws,
region: eu-west-1}``); it is what the rest of the code calls a *component*: it has its own
detection, observation, policy, panel and status row, and a function's ``targets`` name
instances. Without a ``components:`` block there is one instance per kind, named as the kind,
exactly as before instances existed. A kind's name in ``targets`` means its default instance.

This module holds no provider knowledge and imports no SDK: the engine (registry/) asks it
``kind_of(component)`` for the few facts it needs (the mark's spelling, the run state a target
wants when it does not say, the policy when config.yaml does not say). A kind's local backend
for ``functions-tui --sandbox`` is named here the same way (``SandboxBackend``) and started by
app/sandbox.py, which names no kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

#: What our own labels/tags record (``functions-tui<sep><what>``): the function's name (the
#: ownership mark), the registry that deployed it, the code digest, the provider's code hash.
MARK, OWNER, DIGEST, DEPLOYED_CODE = "function", "registry", "digest", "deployed-code"


@dataclass(frozen=True)
class SandboxBackend:
    """How ``functions-tui --sandbox`` runs a place of this kind on this machine (moto, the
    Cloud Functions emulator, a private dockerd). Only named here: ``start`` is imported when
    a sandbox starts, since it starts servers and loads SDKs."""

    #: "module:callable": ``(folder) -> RunningBackend``; the folder is the backend's own, under
    #: the sandbox's root (removed with it). For an ``optional`` backend it is
    #: ``(folder, left_out="") -> RunningBackend`` and never raises for a backend that cannot
    #: run here: it returns one whose ``reason`` says why, with an environment that points the
    #: kind's default instance at nothing (so that instance reads as unavailable, and never
    #: reaches a place the sandbox does not own); ``left_out`` is the reason when the sandbox's
    #: caller does not want it at all.
    start: str
    #: What progress messages call it, before and after it runs: "moto (local AWS Lambda)".
    label: str
    #: The sandbox goes on without it (Docker may not be installed: the sandbox still shows the
    #: others, this kind unavailable with the reason). A required backend that cannot start
    #: stops the sandbox.
    optional: bool = False
    #: Modules it imports that are optional extras of the package (moto), checked before
    #: anything starts so the sandbox says which command installs them.
    requires: tuple[str, ...] = ()


@dataclass
class RunningBackend:
    """What a ``SandboxBackend.start`` returns: a backend that runs (or, with ``reason``, one
    that could not), and what points the kind's default instance at it."""

    #: The environment the kind's default instance reads (DOCKER_HOST, AWS_ENDPOINT_URL...); a
    #: None value unsets a variable of the user's that would point elsewhere (AWS_PROFILE).
    env: dict[str, str | None]
    #: Stops it and removes what it keeps on disk; idempotent.
    stop: Callable[[], None] = lambda: None
    #: config.yaml settings of the kind's default instance (the role moto was given, say).
    settings: dict[str, Any] = field(default_factory=dict)
    #: Why it is not there ("" when it runs): an optional backend that could not start.
    reason: str = ""
    #: A place the sandbox found running and did not start (the user's Docker engine): it
    #: outlives the sandbox, so what the sandbox deployed there is removed before it stops.
    borrowed: bool = False


@dataclass(frozen=True)
class Kind:
    name: str                                  # "aws": also its default instance's name
    title: str                                 # "AWS Lambda"
    docs: str                                  # one line: what an instance is, where it points
    #: How the provider lets us spell our label keys: "." (Docker labels, AWS tags) or "_"
    #: (GCP label keys allow only [a-z0-9_-]).
    label_separator: str
    default_state: str                         # a target's run state when it does not say
    states: tuple[str, ...]                    # the run states a target may ask for
    default_policy: str                        # "ask", "component-wins" or "registry-wins"
    #: function.yaml ``targets.<instance>`` keys -> "str" | "int"
    target_fields: Mapping[str, str]
    #: config.yaml ``components.<instance>`` settings -> "str" | "str_map" | "str_list"
    settings: Mapping[str, str]
    #: "module:Class" of the adapter (imported only when an instance is used: it loads an SDK)
    adapter: str
    #: (instance settings, environment, is it the kind's default instance) -> the adapter's
    #: keyword arguments. The environment (AWS_REGION, DOCKER_HOST…) applies to the default
    #: instance only: a named instance says where it points in config.yaml.
    adapter_arguments: Callable[[Mapping[str, Any], Mapping[str, str], bool], dict[str, Any]]
    limits: Any = None                         # registry.limits.Limits
    #: Its local backend for ``functions-tui --sandbox``; None: the kind is absent from the sandbox.
    sandbox: SandboxBackend | None = None
    #: The settings the default config.yaml shows for the default instance, in order, each with
    #: its comment there (where the environment overrides it, what null means).
    settings_help: Mapping[str, str] = field(default_factory=dict)
    #: An instance as config.yaml's ``components:`` names one, for the default file's example:
    #: ``aws-prod: {kind: aws, profile: prod, region: eu-west-1}``.
    example: str = ""

    def label_key(self, what: str) -> str:
        return f"functions-tui{self.label_separator}{what}"

    @property
    def mark_key(self) -> str:
        return self.label_key(MARK)

    @property
    def owner_key(self) -> str:
        return self.label_key(OWNER)

    @property
    def digest_key(self) -> str:
        return self.label_key(DIGEST)

    @property
    def deployed_code_key(self) -> str:
        return self.label_key(DEPLOYED_CODE)


@dataclass(frozen=True)
class Instance:
    name: str
    kind: Kind
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return self.name == self.kind.name


_kinds: dict[str, Kind] = {}
_instances: dict[str, Instance] | None = None   # None: one per kind, named as the kind
#: The instance table the lookups read (the engine asks per pair, so it is built once, not per
#: question); dropped whenever a kind registers or config.yaml's instances are set.
_table: dict[str, Instance] | None = None

#: Every label/tag key the tool sets itself, in every kind's spelling (never user drift).
#: One set object, filled as kinds register (registry.classify keeps a reference to it).
MANAGED_LABEL_KEYS: set[str] = set()


class UnknownComponentError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register(kind: Kind) -> Kind:
    """Called by the kind's own module; registering the same kind again is a no-op."""
    global _table
    _kinds[kind.name] = kind
    _table = None
    MANAGED_LABEL_KEYS.update(kind.label_key(what) for what in (MARK, OWNER, DIGEST, DEPLOYED_CODE))
    return kind


def unregister(name: str) -> None:
    """Forget a kind registered for a while (a test's); its label keys stay managed."""
    global _table
    _kinds.pop(name, None)
    _table = None


def kinds() -> dict[str, Kind]:
    if not _kinds:
        raise UnknownComponentError("no component kinds are registered: import functions_tui.components")
    return dict(_kinds)


def use_instances(instances: Iterable[Instance] | None) -> None:
    """The instances config.yaml names (None: one per kind, the default)."""
    global _instances, _table
    _instances = None if instances is None else {i.name: i for i in instances}
    _table = None


def _current() -> dict[str, Instance]:
    global _table
    if _table is None:
        _table = (_instances if _instances is not None
                  else {name: Instance(name, kind) for name, kind in kinds().items()})
    return _table


def instances() -> dict[str, Instance]:
    """Every instance, in display order."""
    return dict(_current())


def component_names() -> tuple[str, ...]:
    return tuple(_current())


def instance(name: str) -> Instance:
    found = _current().get(name)
    if found is None:
        raise UnknownComponentError(f"unknown component {name!r} (known: {', '.join(component_names())})")
    return found


def find_kind(component: str) -> Kind | None:
    """The kind of an instance (or of a kind's own name, for a registry written before the
    instance existed); None for a component no kind knows (a test's)."""
    found = _current().get(component)
    if found is not None:
        return found.kind
    return _kinds.get(component)


def kind_of(component: str) -> Kind:
    """find_kind, or UnknownComponentError naming the known components."""
    kind = find_kind(component)
    if kind is None:
        raise UnknownComponentError(f"unknown component {component!r} (known: {', '.join(component_names())})")
    return kind


def default_instance(kind_name: str) -> str | None:
    """The instance a kind's name stands for in ``targets``: the one named as the kind, else
    the kind's only instance (None when there are several and none is named as the kind)."""
    of_kind = [i.name for i in _current().values() if i.kind.name == kind_name]
    if kind_name in of_kind:
        return kind_name
    return of_kind[0] if len(of_kind) == 1 else None


def default_state(component: str) -> str:
    """The run state a target of ``component`` wants when it does not say ("active" for a
    component no kind knows: no state to want)."""
    kind = find_kind(component)
    return kind.default_state if kind is not None else "active"


def default_policy(component: str) -> str:
    """The policy when config.yaml gives none: the kind's (Docker's local copies are often
    mid-edit, so a person decides; the clouds are the truth)."""
    kind = find_kind(component)
    return kind.default_policy if kind is not None else "ask"


def states_of(component: str) -> tuple[str, ...]:
    """The run states a target of ``component`` may ask for (none for an unknown component)."""
    kind = find_kind(component)
    return kind.states if kind is not None else ()


def rank(component: str) -> int:
    """Display (and apply) order of a component."""
    names = component_names()
    return names.index(component) if component in names else len(names)
