"""Import on Docker: what an unmarked Docker function is, and what of it can be read.

A function deployed here is an image ``functions-tui/NAME:latest`` and maybe a container
carrying its mark (components/docker.py; ``create`` names it ``functions-tui-NAME``, an imported
one keeps its own name). What a person made by hand is a container (any name, any image) or an
image, so ``functions-tui import docker`` offers as candidates:

- every container without the ``functions-tui.function`` label, running or not;
- every tagged image without it that no container runs, that no other local image is built on
  (a base such as ``python:3.12-slim`` is not a function) and whose layers are not those of an
  image marked here already (the one an import relabelled from); our local base images aside.

A candidate's NAME is its container's name, or its image repository's last part, spelled as
Docker function names must be (lowercase; our ``functions-tui-`` prefix dropped); a name an
earlier candidate took gets the short id appended.

What is read: one listing of containers and images, an inspect of every local image (the base
image of a candidate is the local image whose layers are the longest proper prefix of its own)
and of each candidate container. Env and labels: the container's (or the image's), less what
the base image sets to the same value. Entry point: ``FUNCTION_TARGET`` if set, else the
command. Memory: the container's limit. Port: one published on the same host port, else the one
port the image exposes. Run state: the container's (an image alone: ``built``). The code:
components/docker_image_code.py.

The runtime picks the base image a Docker function's next deploy is built on, so a guess
would be registered as in sync and break the first change pushed: it is read, or the import of
that name is refused with the fix (``--runtime``). Read from, in order: the base image, when it
is the one config.yaml's ``base_images`` names for a runtime; ``PYTHON_VERSION`` /
``NODE_VERSION`` (the official images set them); the base image's tag (``python:3.12-slim``,
``node:20``); our local base image's family label.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from functions_tui.components.local_backends.base_image import BASE_LABEL, LOCAL_BASE_REPO

#: Env keys a Docker function's build sets itself (docker.LIMITS.env_reserved): read, never declared.
RESERVED_ENV = ("FUNCTION_NAME", "FUNCTION_TARGET", "FUNCTION_TIMEOUT")
#: Container states whose recreation could not keep them as they are.
UNSETTLED = {"paused": "it is paused: `docker unpause` it first",
             "restarting": "it is restarting (its process keeps exiting): let it settle or stop it first",
             "removing": "it is being removed", "dead": "it is dead (Docker could not remove it): remove it"}


@dataclass
class Candidate:
    """One thing ``import docker`` offers: a container, or an image no container runs."""

    name: str
    image: dict                    # the image's inspect (the one the container runs)
    container: dict | None = None  # the container's inspect
    base: dict | None = None       # its base image's inspect, when that is here

    @property
    def resource_id(self) -> str:
        return (self.container or self.image)["Id"]

    @property
    def config(self) -> dict:
        """What runs: the container's config (the image's merged in), else the image's."""
        return (self.container or self.image).get("Config") or {}


def layers_of(inspected: dict) -> list[str]:
    return list((inspected.get("RootFS") or {}).get("Layers") or [])


def labels_of(inspected: dict) -> dict[str, str]:
    return dict((inspected.get("Config") or {}).get("Labels") or {})


def env_of(config: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)


def tags_of(image: dict) -> list[str]:
    return sorted(t for t in image.get("RepoTags") or [] if t and t != "<none>:<none>")


def short(identifier: str) -> str:
    return identifier.split(":", 1)[-1][:12]


def function_name(text: str, prefix: str) -> str:
    """A container name or repository (its last part) as a Docker function name: lowercase,
    ``prefix`` (ours) dropped, other characters as hyphens, separators as the naming takes
    them (one ``.`` or ``_``, ``__``, or hyphens, between letters and digits); "" if none is left."""
    text = text.strip("/").rsplit("/", 1)[-1].lower()
    if text.startswith(prefix) and len(text) > len(prefix):
        text = text[len(prefix):]
    text = re.sub(r"[^a-z0-9._-]", "-", text)
    text = re.sub(r"[._-]+", lambda m: m.group(0) if m.group(0) in (".", "_", "__") or set(m.group(0)) == {"-"}
                  else "-", text)
    return text.strip("._-")


def find_candidates(api: Any, mark: str, container_prefix: str, image_repo: str) -> dict[str, Candidate]:
    """Every candidate on the engine behind ``api``, by NAME (see the module docstring)."""
    containers = sorted(api.containers(all=True), key=lambda c: ((c.get("Names") or ["/"])[0], c["Id"]))
    images = {i["Id"]: i for i in api.images()}
    inspected = {image_id: api.inspect_image(image_id) for image_id in images}
    run = {c.get("ImageID") for c in containers}
    marked_layers = {tuple(layers_of(i)) for i in inspected.values() if labels_of(i).get(mark)}
    found: dict[str, Candidate] = {}

    def add(base_name: str, identifier: str, candidate: Candidate) -> None:
        name = base_name or f"{'container' if candidate.container else 'image'}-{short(identifier)}"
        if name in found:
            name = f"{name}-{short(identifier)}"
        candidate.name = name
        found[name] = candidate

    for listed in containers:
        if (listed.get("Labels") or {}).get(mark):
            continue
        container = api.inspect_container(listed["Id"])
        image = inspected.get(container["Image"]) or api.inspect_image(container["Image"])
        add(function_name(container.get("Name") or "", container_prefix), container["Id"],
            Candidate("", image, container, base_of(image, inspected)))
    for image_id, listed in sorted(images.items(), key=lambda item: (tags_of(item[1])[:1], item[0])):
        image, tags = inspected[image_id], tags_of(listed)
        layers = layers_of(image)
        if (not tags or labels_of(image).get(mark) or image_id in run
                or any(t.startswith(LOCAL_BASE_REPO + "/") for t in tags) or tuple(layers) in marked_layers
                or any(len(layers_of(o)) > len(layers) and layers_of(o)[:len(layers)] == layers
                       for o in inspected.values())):
            continue
        add(function_name(tags[0].rsplit(":", 1)[0], image_repo + "/"), image_id,
            Candidate("", image, None, base_of(image, inspected)))
    return found


def base_of(image: dict, inspected: dict[str, dict]) -> dict | None:
    """The local image ``image`` was built on: the one whose layers are the longest proper
    prefix of its own (ties: by tag), or None."""
    layers = layers_of(image)
    best = None
    for other in sorted(inspected.values(), key=lambda o: (tags_of(o)[:1], o["Id"])):
        below = layers_of(other)
        if other["Id"] != image["Id"] and below and len(below) < len(layers) and layers[:len(below)] == below:
            if best is None or len(below) > len(layers_of(best)):
                best = other
    return best


def _same_image_ref(a: str, b: str) -> bool:
    """``python:3.12`` and ``docker.io/library/python:3.12`` name the same image."""
    def canonical(ref: str) -> str:
        ref = ref if ":" in ref.rsplit("/", 1)[-1] else ref + ":latest"
        for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
            if ref.startswith(prefix):
                return ref[len(prefix):]
        return ref
    return canonical(a) == canonical(b)


def runtime_of(candidate: Candidate, base_images: dict[str, str]) -> tuple[str, str]:
    """(runtime, where it was read) or ("", why none could be)."""
    base = candidate.base
    base_tags = tags_of(base) if base else []
    for runtime, ref in base_images.items():
        if any(_same_image_ref(ref, t) for t in base_tags):
            return runtime, f"its base image {ref} is config.yaml's base image for {runtime}"
    env = env_of(candidate.config)
    python = re.match(r"(\d+)\.(\d+)", env.get("PYTHON_VERSION", ""))
    if python:
        return f"python{python[1]}.{python[2]}", f"its PYTHON_VERSION={env['PYTHON_VERSION']}"
    node = re.match(r"(\d+)", env.get("NODE_VERSION", ""))
    if node:
        return f"nodejs{node[1]}", f"its NODE_VERSION={env['NODE_VERSION']}"
    for tag in base_tags:
        repository, _, version = tag.rpartition(":")
        family = {"python": "python", "node": "nodejs", "nodejs": "nodejs"}.get(repository.rsplit("/", 1)[-1])
        number = re.match(r"(\d+)(?:\.(\d+))?", version)
        if family and number:
            runtime = family + (f"{number[1]}.{number[2]}" if family == "python" and number[2] else number[1])
            return runtime, f"its base image {tag}"
    family = labels_of(candidate.image).get(BASE_LABEL)
    if family:
        return family, f"functions-tui's local {family} base image, which it is built on"
    where = f"its base image {base_tags[0] if base_tags else short(base['Id'])}" if base else "no base image of it is here"
    return "", (f"neither config.yaml's base_images, PYTHON_VERSION/NODE_VERSION nor the base image tells it "
                f"({where})")


def _port(candidate: Candidate) -> tuple[int | None, str]:
    """targets.docker.port: a port published on the same host port, else the one exposed."""
    bindings = ((candidate.container or {}).get("HostConfig") or {}).get("PortBindings") or {}
    same = sorted({int(p.split("/")[0]) for p, hosts in bindings.items() if p.endswith("/tcp")
                   and any(str(h.get("HostPort") or "") == p.split("/")[0] for h in hosts or [])})
    others = sorted(f"{h.get('HostPort')}->{p}" for p, hosts in bindings.items() for h in hosts or []
                    if str(h.get("HostPort") or "") != p.split("/")[0])
    note = (f"published {', '.join(others)}: kept by this container, but a functions-tui deploy publishes a"
            " port on the same host port, so it is not declared" if others else "")
    if len(same) == 1:
        return same[0], note
    exposed = sorted(int(p.split("/")[0]) for p in (candidate.config.get("ExposedPorts") or {}) if p.endswith("/tcp"))
    if not same and len(exposed) == 1:
        return exposed[0], note
    return None, note


def state_of(container: dict | None) -> str:
    if container is None:
        return "built"
    return "running" if (container.get("State") or {}).get("Running") else "stopped"


def read(candidate: Candidate, base_images: dict[str, str], reserved_labels: frozenset[str],
         managed: Any) -> dict[str, Any]:
    """What import declares of ``candidate`` (observe()'s raw values, env in clear) and what it
    needs besides: ``target``, ``deployed_code`` (the image id), the code's whereabouts
    (``workdir``, ``layers``, ``skip_layers``), ``notes`` (what was read from where, what was
    left out), ``refusal`` (why it cannot be imported as it is, or "") and, with no runtime,
    ``runtime_unknown``."""
    image, container, base = candidate.image, candidate.container, candidate.base
    config = candidate.config
    notes = []
    where = (f"container {(container.get('Name') or '').lstrip('/')} ({(container.get('State') or {}).get('Status')}),"
             f" image {(tags_of(image) or [short(image['Id'])])[0]}" if container else
             f"image {(tags_of(image) or [short(image['Id'])])[0]} (no container runs it)")
    base_name = ((tags_of(base) or [short(base["Id"])])[0]) if base else ""
    notes.append(f"read {where}" + (f", built on {base_name}" if base else ", whose base image is not here"))

    everything = env_of(config)
    from_base = env_of((base or {}).get("Config") or {})
    env = {k: v for k, v in everything.items() if from_base.get(k) != v and k not in RESERVED_ENV}
    left = sorted(k for k, v in everything.items() if from_base.get(k) == v)
    if left:
        notes.append(f"env {', '.join(left)} left out: its base image sets {'it' if len(left) == 1 else 'them'}"
                     " to the same value")
    base_labels = labels_of(base) if base else {}
    labels = {k: v for k, v in (config.get("Labels") or {}).items()
              if base_labels.get(k) != v and k not in reserved_labels and k != BASE_LABEL and not managed(k)}

    entry = everything.get("FUNCTION_TARGET") or shlex.join((config.get("Entrypoint") or []) + (config.get("Cmd") or []))
    timeout = everything.get("FUNCTION_TIMEOUT", "")
    memory = int(((container or {}).get("HostConfig") or {}).get("Memory") or 0)
    if memory and memory % 2 ** 20:
        notes.append(f"memory limit {memory} bytes is not a whole number of MB: declared as {memory // 2 ** 20}")
    elif not memory:
        notes.append("no memory limit is set" + ("" if container else " (an image has none)")
                     + ": the declaration's default applies from its next deploy")
    state = state_of(container)
    port, port_note = _port(candidate)
    if port_note:
        notes.append(port_note)
    target: dict[str, Any] = {"port": port} if port else {}
    target["state"] = state

    runtime, runtime_where = runtime_of(candidate, base_images)
    if runtime:
        notes.append(f"runtime {runtime}: read from {runtime_where}")
    refusal = ""
    status = (container.get("State") or {}).get("Status") if container else ""
    if status in UNSETTLED:
        refusal = f"container {(container.get('Name') or '').lstrip('/')}: {UNSETTLED[status]}"
    elif container and (container.get("HostConfig") or {}).get("AutoRemove") and state == "running":
        refusal = (f"container {(container.get('Name') or '').lstrip('/')} runs with --rm: stopping it to recreate"
                   " it with the mark would delete it")
    elif (image.get("Config") or {}).get("OnBuild"):
        refusal = (f"image {short(image['Id'])} has ONBUILD triggers: the one-step build that adds the mark"
                   " would run them and change it")
    workdir = (image.get("Config") or {}).get("WorkingDir") or ""
    values = {
        "runtime": runtime,
        "runtime_inferred": True,   # read from the image, not recorded by Docker (--runtime may say otherwise)
        "entry_point": entry,
        "memory": memory // 2 ** 20 if memory else None,
        "timeout": int(timeout) if timeout.isdigit() else None,
        "env": env,
        "labels": labels,
        "state": state,
        "target": target,
        "deployed_code": image["Id"],
        "image_id": image["Id"],
        "image_size": int(image.get("Size") or 0),
        "workdir": workdir,
        "layers": layers_of(image),
        "skip_layers": len(layers_of(base)) if base else 0,
        "base_name": base_name,
        "notes": notes,
        "refusal": refusal,
    }
    if not runtime:
        values["runtime_unknown"] = runtime_where
    return values


def summary(candidate: Candidate, values: dict[str, Any]) -> str:
    """One line of the listing: what it is, its state, runtime, command and port."""
    image = candidate.image
    ref = (tags_of(image) or [short(image["Id"])])[0]
    if candidate.container:
        what = f"container {(candidate.container.get('Name') or '').lstrip('/')} ({values['state']}) · image {ref}"
    else:
        what = f"image {ref} · no container"
    command = shlex.join((candidate.config.get("Entrypoint") or []) + (candidate.config.get("Cmd") or []))
    parts = [what, values["runtime"] or "runtime unknown"]
    if command:
        parts.append("cmd " + (command if len(command) <= 40 else command[:37] + "..."))
    if values["target"].get("port"):
        parts.append(f":{values['target']['port']}")
    return " · ".join(parts)
