"""Function declarations: ``function.yaml`` beside a function's source, ``functions.yaml``
declaring several; found recursively under a folder.

``function.yaml``::

    name: hello
    runtime: python3.11
    entry_point: main          # default main
    source: .                  # relative to this file; default: the file's folder
    source_outside: false      # true lets source lie outside this file's folder
    memory: 256
    timeout: 60
    env: {GREETING: "${GREETING}"}
    labels: {team: web}
    after: [auth]              # deploy after these functions
    ignore: [env.BUILD_ID]     # differences never counted as drift
    targets:
      docker: {port: 8080, state: running}
      gcp: {project: my-proj, region: europe-west1, trigger: http}
      aws: {region: eu-west-1, role: "arn:aws:iam::123:role/lambda"}
    variables: {GREETING: hi}  # defaults for ${VAR}; the environment wins

A target may run a prebuilt container image instead of a package of the source
(registry.models.IMAGE_PREFIX), where its kind runs images (its ``LIMITS.images``: aws)::

    targets:
      aws: {role: "arn:...", image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello:1.4"}

The image brings its runtime and entry point, so ``runtime`` may be left out when every
target runs an image; the image reference is that target's code (changing it redeploys).

``functions.yaml`` has ``variables:`` and ``functions:`` (a list of the above). The schema is
strict: unknown fields, wrong types and unset variables are errors naming file, line, field;
so is a value a targeted component's provider would refuse (its ``LIMITS``, registry.limits).
The code digest is taken over the function's package (registry.packaging), and a file in it
that looks like a secret is warned about.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from functions_tui.app.yaml_nodes import Reader, SchemaError, compose, line_of
from functions_tui.registry import kinds
from functions_tui.registry.models import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, FunctionSpec, digest_source
from functions_tui.registry.packaging import PackagingError, SourceFiles, source_files, warn_sensitive

SINGLE = "function.yaml"
MULTI = "functions.yaml"
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"}



def target_names() -> dict[str, str]:
    """What ``targets:`` may name -> the component it means: every component (config.yaml's
    instances), and a kind's name for that kind's default instance (registry.kinds)."""
    out = {name: name for name in kinds.component_names()}
    for kind_name in kinds.kinds():
        if kind_name not in out and (default := kinds.default_instance(kind_name)) is not None:
            out[kind_name] = default
    return out

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


class DeclarationError(SchemaError):
    """Bad declaration: ``file:line: field: problem``."""


def find_declarations(root: Path) -> list[Path]:
    """Every function.yaml / functions.yaml under ``root`` (or ``root`` itself), sorted."""
    if root.is_file():
        return [root]
    if not root.exists():
        raise DeclarationError(root, None, "", "no such file or folder")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in (SINGLE, MULTI):
            if name in filenames:
                found.append(Path(dirpath) / name)
    return found


def load_declarations(root: Path, environ: Mapping[str, str] | None = None,
                      known: set[str] | Mapping[str, Iterable[str]] | None = None) -> list[FunctionSpec]:
    """All functions declared under ``root``; duplicate names and cycles in ``after`` are errors.
    ``known``: functions registered already, which ``after`` may name too."""
    environ = os.environ if environ is None else environ
    files = find_declarations(root)
    if not files:
        raise DeclarationError(root, None, "", f"no {SINGLE} or {MULTI} found")
    specs: list[FunctionSpec] = []
    where: dict[str, str] = {}
    for path in files:
        for spec, line in parse_file(path, environ):
            if spec.name in where:
                raise DeclarationError(path, line, "name", f"function {spec.name!r} is already declared at {where[spec.name]}")
            where[spec.name] = f"{path}:{line}"
            specs.append(spec)
    check_after(specs, known=known, where=where)
    return specs


def parse_file(path: Path, environ: Mapping[str, str]) -> list[tuple[FunctionSpec, int | None]]:
    root = compose(path)
    if root is None:
        raise DeclarationError(path, None, "", "the file is empty")
    plain = Reader(path)
    if path.name == MULTI:
        top = plain.mapping(root, "", allowed={"variables": 1, "functions": 1})
        variables = _variables(plain, top.get("variables"), environ)
        reader = Reader(path, variables)
        if "functions" not in top:
            raise reader.error(root, "functions", "required field is missing")
        items = reader.sequence(top["functions"], "functions")
        return [(_function(reader, node, f"functions[{i}]"), line_of(node)) for i, node in enumerate(items)]
    top = plain.mapping(root, "", allowed=dict.fromkeys(_FUNCTION_FIELDS + ("variables",)))
    variables = _variables(plain, top.get("variables"), environ)
    return [(_function(Reader(path, variables), root, "", skip=("variables",)), line_of(root))]


def _variables(reader: Reader, node, environ: Mapping[str, str]) -> dict[str, str]:
    """The file's ``variables:`` as defaults, the environment over them."""
    declared = reader.string_map(node, "variables") if node is not None else {}
    return {**declared, **environ}


_FUNCTION_FIELDS = ("name", "runtime", "entry_point", "source", "source_outside", "memory", "timeout", "env",
                    "labels", "after", "ignore", "targets")


def _function(r: Reader, node, prefix: str, skip: tuple[str, ...] = ()) -> FunctionSpec:
    def name_field(n, f):
        value = r.string(n, f)
        if not value or set(value) - _NAME_CHARS or not value[0].isalnum():
            raise r.error(n, f, f"{value!r} is not a valid name (lowercase letters, digits, - and _)")
        return value

    def targets(n, f):
        names = target_names()
        out: dict[str, dict[str, Any]] = {}
        for comp, tnode in r.mapping(n, f, allowed=names).items():
            if names[comp] in out:
                raise r.error(tnode, f"{f}.{comp}", f"{names[comp]} is named twice (as {comp} and {names[comp]})")
            out[names[comp]] = _target(r, names[comp], tnode, f"{f}.{comp}")
        return out

    readers = {
        "name": name_field,
        "runtime": r.string,
        "entry_point": r.string,
        "source": r.string,
        "source_outside": r.boolean,
        "memory": lambda n, f: r.integer(n, f, minimum=1),
        "timeout": lambda n, f: r.integer(n, f, minimum=1),
        "env": lambda n, f: _env_map(r, n, f),
        "labels": r.string_map,
        "after": r.string_list,
        "ignore": r.string_list,
        "targets": targets,
    }
    for key in skip:
        readers[key] = lambda n, f: None
    values = r.fields(node, prefix, readers, required=("name",))
    for key in skip:
        values.pop(key, None)
    if "runtime" not in values:
        # Only an image brings its own runtime: required unless every target runs one.
        targets = values.get("targets") or {}
        if not targets or not all(t.get("image") for t in targets.values()):
            raise r.error(node, f"{prefix}.runtime" if prefix else "runtime",
                          "required field is missing (only a function whose every target runs an image "
                          "may leave it out)")
        values["runtime"] = ""
    source = _source(r, node, prefix, values)
    values["source"] = str(source)
    values.setdefault("memory", DEFAULT_MEMORY_MB)
    values.setdefault("timeout", DEFAULT_TIMEOUT_S)
    check_limits(r, node, prefix, values)
    files = _package(source)
    spec = FunctionSpec(**values, code_digest=files.digest(), declared_in=f"{r.path.resolve()}:{line_of(node)}")
    warn_sensitive(files, spec.name)
    spec.declared = declared_snapshot(spec)
    return spec


def _source(r: Reader, node, prefix: str, values: dict[str, Any]) -> Path:
    """The source folder (or file), resolved; it must exist and, unless ``source_outside:
    true``, lie inside the declaration's folder once symlinks are resolved."""
    field = f"{prefix}.source" if prefix else "source"
    where = _entry(node, "source")[0] or node
    folder = r.path.parent.resolve()
    written = values.get("source", ".")
    source = (folder / written).resolve()
    if not source.exists():
        raise r.error(where, field, f"source {source} does not exist")
    if not values.pop("source_outside", False) and not source.is_relative_to(folder):
        raise r.error(where, field, f"{written} is outside {folder} (set source_outside: true to allow it)")
    return source


def _package(source: Path) -> SourceFiles:
    """The files of the function's package (registry.packaging), or the bad ignore file's line."""
    try:
        return source_files(source)
    except PackagingError as exc:
        raise DeclarationError(exc.file, exc.line, "", exc.problem) from None


def component_limits(component: str):
    """The registry.limits.Limits of a component's kind, or None."""
    kind = kinds.find_kind(component)
    return kind.limits if kind is not None else None


def first_limit_problem(values: Mapping[str, Any],
                        targets: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """The first way ``values`` (name, runtime, memory, timeout, env, labels) breaks the
    documented limits of one of ``targets`` (component -> target settings): (field, problem)."""
    from functions_tui.registry import limits as provider_limits

    for component, target in targets.items():
        limits = component_limits(component)
        if limits is None:
            continue
        problems = provider_limits.check(
            limits, component, name=values["name"], runtime=values["runtime"], memory=values["memory"],
            timeout=values["timeout"], env=values.get("env") or {}, target=target,
            labels=values.get("labels") or {})
        if problems:
            return problems[0]
    return None


def check_limits(r: Reader, node, prefix: str, values: Mapping[str, Any]) -> None:
    """The spec against the documented limits of every component it targets: the first
    problem as ``file:line: field: problem (allowed: ...)``."""
    found = first_limit_problem(values, values.get("targets") or {})
    if found:
        field, problem = found
        head, _, key = field.partition(".")
        where, value = _entry(node, head)  # the line that says it (the function's, for a default)
        if key:
            where = _entry(value, key)[0] or where
        raise r.error(where or node, f"{prefix}.{field}" if prefix else field, problem)


def _entry(node, key: str) -> tuple[Any, Any]:
    """(key node, value node) of ``key`` in a mapping node, or (None, None)."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
    return None, None


def _env_map(r: Reader, node, field: str) -> dict[str, str]:
    """``env:`` as read: each value resolved, and a value written with ``${VAR}`` kept as a
    reference (registry.secrets.EnvRef): the registry stores the reference, never the value,
    and resolves it again whenever the record is read."""
    from functions_tui.registry.secrets import EnvRef, has_reference

    out: dict[str, str] = {}
    for key, value_node in r.mapping(node, field).items():
        value = r.string(value_node, f"{field}.{key}")
        text = getattr(value_node, "value", None)
        if isinstance(text, str) and has_reference(text):
            value = EnvRef(value, text, key=key)
        out[key] = value
    return out


def declared_snapshot(spec: FunctionSpec) -> dict[str, Any]:
    """What a declaration says, as ``FunctionSpec.declared`` keeps it: the values as read,
    env values only as keyed hashes (never in clear), each target's run state (its default
    when the file gives none), the image of each target that runs one and the source
    folder's digest."""
    from functions_tui.registry.fingerprint import hash_value  # keyed: registry.secrets

    snapshot = {
        "runtime": spec.runtime,
        "entry_point": spec.entry_point,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "env": {k: hash_value(v) for k, v in spec.env.items()},
        "labels": dict(spec.labels),
        "targets_state": {c: spec.desired_state(c) for c in spec.targets},
        "code_digest": spec.code_digest,
    }
    images = {c: spec.image(c) for c in spec.targets if spec.image(c)}
    if images:  # (only then: most functions run their source, and records stay as they were)
        snapshot["targets_image"] = images
    return snapshot


def merge_declared(declared: FunctionSpec, registered: FunctionSpec | None) -> FunctionSpec:
    """The spec ``add`` registers for a function read from its file (``declared``, with its
    snapshot in ``declared.declared``) that the registry already holds as ``registered``.

    Field by field (env and labels key by key): a value the user did not edit since the
    declaration was last read (file == ``registered.declared``) keeps the registry's value,
    which a pull may have changed meanwhile; an edited one takes the file's (and so is
    pending until the next sync pushes it). Without a snapshot (first add, or a registry
    written by an older version) the file is taken as it is. Everything that is not a
    component value (source, after, ignore, targets' settings) comes from the file.
    """
    import copy

    from functions_tui.registry.fingerprint import hash_matches

    snap = registered.declared if registered is not None else None
    if not snap:
        return declared
    now = declared.declared
    merged = copy.deepcopy(declared)
    for name in ("runtime", "entry_point", "memory", "timeout", "code_digest"):
        if name in snap and now.get(name) == snap[name]:
            setattr(merged, name, getattr(registered, name))
    for name in ("env", "labels"):
        before = snap.get(name)
        if not isinstance(before, dict):
            continue
        read = now.get(name) or {}
        theirs = getattr(registered, name)
        ours = getattr(merged, name)
        for key in dict.fromkeys([*ours, *theirs, *before]):
            untouched = read.get(key) == before.get(key) or (
                # a snapshot from before keyed hashes: compared with the file's value itself
                name == "env" and hash_matches(before.get(key), declared.env.get(key)))
            if untouched:   # untouched in the file: the registry's stands
                if key in theirs:
                    ours[key] = theirs[key]
                else:
                    ours.pop(key, None)
    states = snap.get("targets_state")
    if isinstance(states, dict):
        for component, target in merged.targets.items():
            if (component in states and component in registered.targets
                    and (now.get("targets_state") or {}).get(component) == states[component]):
                state = registered.desired_state(component)
                if state != merged.desired_state(component):
                    target["state"] = state
    images = snap.get("targets_image")
    if isinstance(images, dict):
        # An image the file still names as it did when last read keeps the registry's (a pull
        # may have taken the one the component runs since); an edited one is the file's.
        for component, target in merged.targets.items():
            if (component in images and registered.image(component)
                    and (now.get("targets_image") or {}).get(component) == images[component]
                    and target.get("image")):
                target["image"] = registered.image(component)
    return merged


def code_digest(source: Path) -> str:
    """registry.models.digest_source: over exactly the files an upload holds
    (registry.packaging), so the declaration files (the usual layout keeps function.yaml
    inside the source folder: a memory edit there is not a code change), ignored files and
    secrets left out of the package are no part of it."""
    return digest_source(source)


def _target(r: Reader, component: str, node, field: str) -> dict[str, Any]:
    kind = kinds.kind_of(component)
    types = kind.target_fields
    out: dict[str, Any] = {}
    for key, value in r.mapping(node, field, allowed=types).items():
        name = f"{field}.{key}"
        if key == "state":
            out[key] = r.choice(value, name, kind.states)
        elif types[key] == "int":
            out[key] = r.integer(value, name, minimum=1)
        else:
            out[key] = r.string(value, name)
        if key == "image":
            _check_image(r, component, value, name, out[key])
    return out


def _check_image(r: Reader, component: str, node, field: str, image: str) -> None:
    """A prebuilt image only where the kind runs one, spelled as its provider names images."""
    from functions_tui.registry.limits import image_problem

    limits = component_limits(component)
    problem = image_problem(limits, component, image) if limits is not None else ""
    if problem:
        raise r.error(node, field, problem)


def check_after(specs: Iterable[FunctionSpec], known: set[str] | Mapping[str, Iterable[str]] | None = None,
                where: Mapping[str, str] | None = None) -> None:
    """Every ``after`` names a function (declared here or already registered); no cycles, also
    none closed through registered functions (``known`` as name -> its ``after``: b after a,
    registered, then a declared after b)."""
    specs = list(specs)
    names = {s.name for s in specs} | set(known or ())
    where = where or {s.name: s.declared_in for s in specs}
    for s in specs:
        for dep in s.after:
            if dep not in names:
                file, line = _split(where.get(s.name, ""))
                raise DeclarationError(file, line, f"{s.name}.after", f"no function named {dep!r}")
    from functions_tui.registry.ordering import find_cycle

    graph = {name: list(after) for name, after in known.items()} if isinstance(known, Mapping) else {}
    graph.update({s.name: list(s.after) for s in specs})   # a declaration replaces what was registered
    cycle = find_cycle(graph)
    if cycle and cycle[0] not in where:   # report it at a declaration being added
        cycle = next(([*cycle[i:-1], *cycle[:i], cycle[i]] for i, n in enumerate(cycle[:-1]) if n in where), cycle)
    if cycle:
        file, line = _split(where.get(cycle[0], ""))
        raise DeclarationError(file, line, f"{cycle[0]}.after", "cycle in after: " + " -> ".join(cycle))


def _split(location: str) -> tuple[str, int | None]:
    file, _, line = location.rpartition(":")
    if file and line.isdigit():
        return file, int(line)
    return location or "(declarations)", None
