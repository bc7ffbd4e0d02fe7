"""Function declarations: ``function.yaml`` beside a function's source, ``functions.yaml``
declaring several; found recursively under a folder.

``function.yaml``::

    name: hello
    runtime: python3.11
    entry_point: main          # default main
    source: .                  # relative to this file; default: the file's folder
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

``functions.yaml`` has ``variables:`` and ``functions:`` (a list of the above). The schema is
strict: unknown fields, wrong types and unset variables are errors naming file, line, field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from app.yaml_nodes import Reader, SchemaError, compose, line_of
from registry.models import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, FunctionSpec, digest_source

SINGLE = "function.yaml"
MULTI = "functions.yaml"
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox"}

TARGET_FIELDS: dict[str, dict[str, str]] = {
    "docker": {"port": "int", "state": "str", "image": "str"},
    "gcp": {"project": "str", "region": "str", "trigger": "str", "state": "str", "service_account": "str"},
    "aws": {"region": "str", "role": "str", "state": "str", "architecture": "str"},
}
STATES = {"docker": ("running", "stopped", "built"), "gcp": ("active",), "aws": ("active",)}
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
                      known: set[str] | None = None) -> list[FunctionSpec]:
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


_FUNCTION_FIELDS = ("name", "runtime", "entry_point", "source", "memory", "timeout", "env", "labels",
                    "after", "ignore", "targets")


def _function(r: Reader, node, prefix: str, skip: tuple[str, ...] = ()) -> FunctionSpec:
    def name_field(n, f):
        value = r.string(n, f)
        if not value or set(value) - _NAME_CHARS or not value[0].isalnum():
            raise r.error(n, f, f"{value!r} is not a valid name (lowercase letters, digits, - and _)")
        return value

    def targets(n, f):
        out: dict[str, dict[str, Any]] = {}
        for comp, tnode in r.mapping(n, f, allowed=TARGET_FIELDS).items():
            out[comp] = _target(r, comp, tnode, f"{f}.{comp}")
        return out

    readers = {
        "name": name_field,
        "runtime": r.string,
        "entry_point": r.string,
        "source": r.string,
        "memory": lambda n, f: r.integer(n, f, minimum=1),
        "timeout": lambda n, f: r.integer(n, f, minimum=1),
        "env": r.string_map,
        "labels": r.string_map,
        "after": r.string_list,
        "ignore": r.string_list,
        "targets": targets,
    }
    for key in skip:
        readers[key] = lambda n, f: None
    values = r.fields(node, prefix, readers, required=("name", "runtime"))
    for key in skip:
        values.pop(key, None)
    folder = r.path.parent
    source = (folder / values.get("source", ".")).resolve()
    if not source.exists():
        field = f"{prefix}.source" if prefix else "source"
        raise r.error(node, field, f"source {source} does not exist")
    values["source"] = str(source)
    values.setdefault("memory", DEFAULT_MEMORY_MB)
    values.setdefault("timeout", DEFAULT_TIMEOUT_S)
    spec = FunctionSpec(**values, code_digest=code_digest(source), declared_in=f"{r.path.resolve()}:{line_of(node)}")
    spec.declared = declared_snapshot(spec)
    return spec


def declared_snapshot(spec: FunctionSpec) -> dict[str, Any]:
    """What a declaration says, as ``FunctionSpec.declared`` keeps it: the values as read,
    env values only as keyed hashes (never in clear), each target's run state (its default
    when the file gives none) and the source folder's digest."""
    from registry.fingerprint import hash_value

    return {
        "runtime": spec.runtime,
        "entry_point": spec.entry_point,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "env": {k: hash_value(v) for k, v in spec.env.items()},
        "labels": dict(spec.labels),
        "targets_state": {c: spec.desired_state(c) for c in spec.targets},
        "code_digest": spec.code_digest,
    }


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
            if read.get(key) == before.get(key):   # untouched in the file: the registry's stands
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
    return merged


def code_digest(source: Path) -> str:
    """registry.models.digest_source, minus the declaration files: the usual layout keeps
    function.yaml inside the source folder, and a memory edit there is not a code change."""
    import hashlib

    if source.is_file():
        return digest_source(source)
    h = hashlib.sha256()
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = file.relative_to(source).as_posix()
        if rel.startswith((".git/", "__pycache__/")) or "/__pycache__/" in rel or file.name in (SINGLE, MULTI):
            continue
        h.update(rel.encode() + b"\0")
        h.update(file.read_bytes())
        h.update(b"\0")
    return "sha256:" + h.hexdigest()


def _target(r: Reader, component: str, node, field: str) -> dict[str, Any]:
    kinds = TARGET_FIELDS[component]
    out: dict[str, Any] = {}
    for key, value in r.mapping(node, field, allowed=kinds).items():
        name = f"{field}.{key}"
        if key == "state":
            out[key] = r.choice(value, name, STATES[component])
        elif kinds[key] == "int":
            out[key] = r.integer(value, name, minimum=1)
        else:
            out[key] = r.string(value, name)
    return out


def check_after(specs: Iterable[FunctionSpec], known: set[str] | None = None,
                where: Mapping[str, str] | None = None) -> None:
    """Every ``after`` names a function (declared here or already registered); no cycles."""
    specs = list(specs)
    names = {s.name for s in specs} | (known or set())
    where = where or {s.name: s.declared_in for s in specs}
    for s in specs:
        for dep in s.after:
            if dep not in names:
                file, line = _split(where.get(s.name, ""))
                raise DeclarationError(file, line, f"{s.name}.after", f"no function named {dep!r}")
    from app.config import _find_cycle

    cycle = _find_cycle({s.name: list(s.after) for s in specs})
    if cycle:
        file, line = _split(where.get(cycle[0], ""))
        raise DeclarationError(file, line, f"{cycle[0]}.after", "cycle in after: " + " -> ".join(cycle))


def _split(location: str) -> tuple[str, int | None]:
    file, _, line = location.rpartition(":")
    if file and line.isdigit():
        return file, int(line)
    return location or "(declarations)", None
