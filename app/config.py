"""config.yaml in the config dir: component instances, policies, named syncs.

Read strictly (unknown keys, wrong types and bad choices are errors naming file, line and
field, see app.yaml_nodes); a missing file means the defaults. ``functions-tui config
--reset`` writes default_text(), ``--show`` prints the effective settings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions_tui.app import paths
from functions_tui.components import load_kinds
from functions_tui.registry import kinds as kinds_module
from functions_tui.registry.kinds import Instance, Kind
from functions_tui.registry.ordering import find_cycle
from functions_tui.registry.storage import write_atomic, write_temp
from functions_tui.app.yaml_nodes import Reader, SchemaError, compose

load_kinds()   # every kind's module registers its KIND (no SDK is imported)

POLICIES = ("component-wins", "registry-wins", "ask")
DIRECTIONS = ("pull", "push", "two-way")
DEFAULT_INTERVAL_S = 300
DEFAULT_MAX_DELETIONS = 10
DEFAULT_GENERATIONS = 10

def default_text() -> str:
    """The default config.yaml: policies, conflicts, named syncs and the default instances'
    settings of every registered kind (each kind's module says its policy and settings), then
    the rest. Generated, so a kind added is a kind configured."""
    defaults = list(kinds_module.kinds().values())
    lines = ["# functions-tui configuration. `functions-tui config --show` prints the effective values,",
             "# `functions-tui config --reset` puts this file back.", "",
             "# What wins when a component and the registry disagree: component-wins, registry-wins, ask.",
             "policies:"]
    lines += [f"  {k.name}: {k.default_policy}" for k in defaults]
    lines += ["", "# A field changed differently in the registry and on a component is a conflict: always asked",
              "# (headless: listed, exit 2) unless set here (or per sync) to component-wins or registry-wins.",
              "conflicts:"]
    lines += [f"  {k.name}: ask" for k in defaults]
    lines += ["", "# Named syncs: which components, which direction (pull, push, two-way), an optional policy",
              "# (and conflicts setting) overriding the ones above, how often the app runs it (seconds), and",
              "# syncs that must succeed first.", "syncs:"]
    for k in defaults:
        lines += [f"  - name: {k.name}", f"    components: [{k.name}]", "    direction: two-way",
                  f"    interval: {DEFAULT_INTERVAL_S}"]
    lines += ["", "# A plan never deletes more than this many things at once.", f"max_deletions: {DEFAULT_MAX_DELETIONS}",
              "", "# How many earlier versions of the registry to keep for `functions-tui restore` (undo).",
              f"generations: {DEFAULT_GENERATIONS}", "",
              f"# The components: one per kind by default ({', '.join(k.name for k in defaults)}). To have several "
              "(accounts,",
              "# regions, projects, hosts), name each instance with its kind and settings; a function's",
              "# targets then name instances, and a kind's name means its default instance:",
              "# components:"]
    lines += [f"#   {k.example or f'{k.name}-2: {{kind: {k.name}}}'}" for k in defaults]
    lines += ["# Each kind's settings:"] + [f"#   {k.name}: {k.docs}" for k in defaults]
    lines += ["", "# Settings of the default instances (the environment's own variables win over these)."]
    for k in defaults:
        if not k.settings_help:
            continue
        lines.append(f"{k.name}:")
        for setting, comment in k.settings_help.items():
            empty = {"str_map": "{}", "str_list": "[]"}.get(k.settings.get(setting, "str"), "null")
            lines.append(f"  {setting}: {empty}".ljust(20) + f"# {comment}")
        lines.append("")
    lines += ["# The app's keys, remapped by binding id (README, \"Keys\"), e.g. dashboard.sync_all: ctrl+s",
              "keymap: {}", ""]
    return "\n".join(lines)


@dataclass
class SyncConfig:
    name: str
    components: list[str]
    direction: str = "two-way"
    policy: str | None = None
    interval: int = DEFAULT_INTERVAL_S
    after: list[str] = field(default_factory=list)
    conflicts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "components": list(self.components), "direction": self.direction,
                "policy": self.policy, "conflicts": self.conflicts, "interval": self.interval,
                "after": list(self.after)}


def default_instances() -> list[Instance]:
    """One instance per kind, named as the kind: the components before config.yaml names any."""
    return [Instance(name, kind) for name, kind in kinds_module.kinds().items()]


@dataclass
class Config:
    path: Path | None = None
    #: The components, in display order (registry.kinds.Instance: name, kind, settings).
    instances: list[Instance] = field(default_factory=default_instances)
    #: component -> policy given in config.yaml (the kind's default otherwise: policy_for)
    policies: dict[str, str] = field(default_factory=dict)
    #: component -> how conflicting fields are settled; absent = ask (the default, and the safe one).
    conflicts: dict[str, str] = field(default_factory=dict)
    syncs: list[SyncConfig] = field(default_factory=list)
    max_deletions: int = DEFAULT_MAX_DELETIONS
    generations: int = DEFAULT_GENERATIONS
    #: binding id -> key(s), e.g. {"dashboard.sync_all": "ctrl+s"} (Textual's keymap; the ids
    #: are checked by the app, which knows them)
    keymap: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.syncs:
            self.syncs = default_syncs(self.instances)

    @property
    def component_names(self) -> list[str]:
        return [i.name for i in self.instances]

    def instance(self, name: str) -> Instance | None:
        return next((i for i in self.instances if i.name == name), None)

    def activate(self) -> None:
        """Make these instances the process's components (registry.kinds): what the engine
        asks for a component's kind, default run state and order."""
        kinds_module.use_instances(self.instances)

    def policy_for(self, component: str, sync: str | None = None) -> str:
        if sync:
            named = self.sync(sync)
            if named and named.policy:
                return named.policy
        if component in self.policies:
            return self.policies[component]
        instance = self.instance(component)
        return instance.kind.default_policy if instance is not None else "ask"

    def conflicts_for(self, component: str, sync: str | None = None) -> str:
        """How a sync settles conflicting fields on ``component``: ``ask`` unless config.yaml
        explicitly says component-wins or registry-wins (for the named sync, else the component)."""
        if sync:
            named = self.sync(sync)
            if named and named.conflicts:
                return named.conflicts
        return self.conflicts.get(component, "ask")

    def sync(self, name: str) -> SyncConfig | None:
        return next((s for s in self.syncs if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "components": {i.name: {"kind": i.kind.name, **{k: i.settings.get(k) for k in i.kind.settings}}
                           for i in self.instances},
            "policies": {c: self.policy_for(c) for c in self.component_names},
            "conflicts": {c: self.conflicts_for(c) for c in self.component_names},
            "syncs": [s.to_dict() for s in self.syncs],
            "max_deletions": self.max_deletions,
            "generations": self.generations,
            "keymap": dict(self.keymap),
        }


def default_syncs(instances: list[Instance] | None = None) -> list[SyncConfig]:
    """One sync per component, named as it."""
    return [SyncConfig(name=i.name, components=[i.name]) for i in (instances or default_instances())]


def load_config(home: str | Path | None = None) -> Config:
    """The effective config: defaults, overlaid by config.yaml when it exists."""
    path = paths.config_path(home)
    if not path.exists():
        return Config(path=path)
    return parse_config(path)


def parse_config(path: Path, text: str | None = None) -> Config:
    root = compose(path, text)
    r = Reader(path)
    config = Config(path=path)
    if root is None:
        return config
    known_kinds = kinds_module.kinds()
    top = r.mapping(root, "")
    config.instances = instances = _instances(r, top, known_kinds)
    names = [i.name for i in instances]

    def policies(node, name):
        return {k: r.choice(v, f"{name}.{k}", POLICIES)
                for k, v in r.mapping(node, name, allowed={c: 1 for c in names}).items()}

    def components(node, name):
        items = r.string_list(node, name)
        for i, c in enumerate(items):
            if c not in names:
                raise r.error(r.sequence(node, name)[i], f"{name}[{i}]",
                              f"unknown component {c!r} (known: {', '.join(names)})")
        if not items:
            raise r.error(node, name, "a sync needs at least one component")
        return items

    sync_fields = {
        "name": r.string,
        "components": components,
        "direction": lambda n, f: r.choice(n, f, DIRECTIONS),
        "policy": lambda n, f: r.choice(n, f, POLICIES),
        "conflicts": lambda n, f: r.choice(n, f, POLICIES),
        "interval": lambda n, f: r.integer(n, f, minimum=1),
        "after": r.string_list,
    }

    def syncs(node, name):
        out: list[SyncConfig] = []
        seen: dict[str, Any] = {}
        for i, item in enumerate(r.sequence(node, name)):
            values = r.fields(item, f"{name}[{i}]", sync_fields, required=("name", "components"))
            if values["name"] in seen:
                raise r.error(item, f"{name}[{i}].name", f"sync {values['name']!r} is defined twice")
            seen[values["name"]] = item
            out.append(SyncConfig(**values))
        for s in out:
            for dep in s.after:
                if dep not in seen:
                    raise r.error(seen[s.name], f"syncs.{s.name}.after", f"no sync named {dep!r}")
        cycle = find_cycle({s.name: s.after for s in out})
        if cycle:
            raise r.error(seen[cycle[0]], "syncs.after", "cycle: " + " -> ".join(cycle))
        return out

    already_read = lambda node, name: None   # noqa: E731 (components and kind sections: read above)
    readers = {
        "components": already_read,
        **{kind: already_read for kind in known_kinds},
        "policies": policies,
        "conflicts": policies,
        "syncs": syncs,
        "max_deletions": lambda n, f: r.integer(n, f, minimum=0),
        "generations": lambda n, f: r.integer(n, f, minimum=1),
        "keymap": r.string_map,
    }
    values = r.fields(root, "", readers)
    if "policies" in values:
        config.policies.update(values["policies"])
    if "conflicts" in values:
        config.conflicts.update(values["conflicts"])
    config.syncs = values.get("syncs") or default_syncs(instances)
    if "max_deletions" in values:
        config.max_deletions = values["max_deletions"]
    if "generations" in values:
        config.generations = values["generations"]
    config.keymap = dict(values.get("keymap") or {})
    return config


def _settings(r: Reader, node, name: str, kind: Kind, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """An instance's settings, checked against what its kind takes."""
    readers = {"str": r.optional_string, "str_map": r.string_map, "str_list": r.string_list}
    allowed = {key: readers[type_] for key, type_ in kind.settings.items()}
    allowed.update({key: (lambda n, f: None) for key in skip})
    return {k: v for k, v in r.fields(node, name, allowed).items() if k not in skip and v not in (None, {}, [])}


def _instances(r: Reader, top: dict[str, Any], known_kinds: dict[str, Kind]) -> list[Instance]:
    """``components:`` (or one instance per kind), with a kind's top-level section (``aws:``,
    today's form) as the settings of the instance named as the kind."""
    if "components" not in top or r.mapping(top["components"], "components") == {}:
        declared = {name: (kind, {}) for name, kind in known_kinds.items()}
    else:
        declared = {}
        for name, node in r.mapping(top["components"], "components").items():
            field = f"components.{name}"
            if not _INSTANCE_NAME.fullmatch(name):
                raise r.error(node, field, "an instance name is lowercase letters, digits and - "
                                           "(it is a JSON key, a panel title and a sync's name)")
            kind_node = r.mapping(node, field).get("kind")
            if kind_node is None:
                raise r.error(node, f"{field}.kind", f"required field is missing (one of {', '.join(known_kinds)})")
            kind = known_kinds[r.choice(kind_node, f"{field}.kind", tuple(known_kinds))]
            declared[name] = (kind, _settings(r, node, field, kind, skip=("kind",)))
    for kind_name, kind in known_kinds.items():
        if kind_name not in top:
            continue
        if kind_name not in declared or declared[kind_name][0] is not kind:
            raise r.error(top[kind_name], kind_name,
                          f"settings for the default {kind_name} instance, but components: names no {kind.name} "
                          f"instance called {kind_name!r} (move them under components:)")
        legacy = _settings(r, top[kind_name], kind_name, kind)
        declared[kind_name] = (kind, {**legacy, **declared[kind_name][1]})
    return [Instance(name, kind, settings) for name, (kind, settings) in declared.items()]


_INSTANCE_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")


def reset_config(home: str | Path | None = None) -> tuple[Path, Path | None]:
    """Write the default config.yaml (0600); returns it and where the old one was kept.

    Every earlier config.yaml is kept, none ever overwritten: the first as config.yaml.bak,
    then config.yaml.2.bak, .3.bak ... (the highest number is the newest). An old file that
    is the default text already is not kept again. Safe against concurrent runs: copies are
    hard links made under names that must not exist yet, the new file is written to a
    unique temp file and renamed.
    """
    paths.ensure_config_dir(home)
    path = paths.config_path(home)
    kept = None
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        old = None
    if old is not None and old != default_text().encode("utf-8"):
        kept = _keep_copy(path)
    write_atomic(path, default_text().encode("utf-8"), backup=False)
    return path, kept


def write_default_config(home: str | Path | None = None) -> bool:
    """Create config.yaml with the defaults unless it exists (first run); True if written.
    Many processes may start at once on a fresh folder: each writes its own temp file and
    links it to config.yaml only if that name is still free, so it appears whole, once."""
    paths.ensure_config_dir(home)
    path = paths.config_path(home)
    if path.exists():
        return False
    tmp = write_temp(path.parent, path.name, default_text().encode("utf-8"))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _keep_copy(path: Path) -> Path | None:
    """Keep the current ``path`` under the first free name of config.yaml.bak, .2.bak, ...;
    returns that name (None if the file went away meanwhile)."""
    for n in range(1, 100000):
        kept = path.with_name(f"{path.name}.bak" if n == 1 else f"{path.name}.{n}.bak")
        if os.path.lexists(kept):
            continue
        try:
            os.link(path, kept)
        except FileExistsError:
            continue
        except FileNotFoundError:
            return None
        except OSError:  # no hard links here: copy, still never over an existing name
            tmp = write_temp(kept.parent, kept.name, path.read_bytes())
            try:
                os.link(tmp, kept)
            except FileExistsError:
                continue
            finally:
                tmp.unlink(missing_ok=True)
        os.chmod(kept, 0o600)
        return kept
    raise OSError(f"{path.parent}: too many kept configs ({path.name}.*.bak)")


def show_config(config: Config) -> str:
    """The effective config as YAML, headed by where it came from."""
    import yaml

    origin = f"# {config.path}" + ("" if config.path and config.path.exists() else " (not written yet: defaults)")
    return origin + "\n" + yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=False)


__all__ = ["Config", "SyncConfig", "SchemaError", "load_config", "parse_config", "reset_config", "show_config",
           "write_default_config", "default_instances", "POLICIES", "DIRECTIONS"]
