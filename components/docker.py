"""The Docker component: functions as local images and containers.

A function ``NAME`` deployed here is

- an image tagged ``functions-tui/NAME:latest`` built from the function's source
  (``FROM`` a base image per runtime), labelled with the ownership mark
  (``functions-tui.function=NAME``), the code digest and ``functions-tui.spec``: compact
  JSON of runtime, entry point, memory, timeout, labels and env *value hashes*;
- optionally a container from that image carrying the same labels plus
  ``functions-tui.deployed-code``: running → state ``running``, present but not running →
  ``stopped``, no container → ``built``.

Containers are addressed by the mark, not by name. The function's container is the one
carrying ``functions-tui.function=NAME`` (its owner, ``functions-tui.registry``, reported
beside it) that is either named ``functions-tui-NAME`` (``container_name()``: what ``create``
names a container it makes, and what older releases made) or carries
``functions-tui.deployed-code`` (which only we write on a container: one ``import`` marked in
place under its own name, say ``web``). Every operation (update, run/stop, claim, delete,
read_env, observe_one, code drift) finds it that way and a recreate keeps its name, so an
imported ``web`` stays ``web``. A container run by hand from our image (``docker run
functions-tui/NAME``) inherits the image's labels but not the deployed-code record: it is not
the function's container (delete removes it with the image it runs, as before). Two
containers that both pass for the function's are never chosen between for a change: observe
reports the one named ``functions-tui-NAME`` (else the first by name) and says so in its
summary, and every change to that function is refused with both names until one is removed
(delete alone goes on: it removes every container carrying the mark, choosing none).
A container named ``functions-tui-NAME`` without our mark is reported as unmarked and never
touched; a function that needs a new container under that name is refused.

A recreate (claim, import, a rebuilt image, an identity to add) stops the old container,
renames it aside to ``NAME-recreating-<its short id>``, creates the new one under the old
name, starts it if the old one ran, and only then removes the old one; a failure removes the
new one and gives the old one back its name and run state (and the function's tag its image:
a new build or relabelling goes). A process killed in between
leaves a container the next change recognises by that name: set aside and alone, it is still
the function's container (stopped; the next change gives it its name back); beside its
successor, it is the leftover of a recreate that had finished but for removing it, and the
next change removes it. Either way the function is neither lost nor doubled.

Why env hashes in a label: observing must be one image listing plus one container
listing (no inspect per function: 1,000 inspects are ~17x the listing; the container listing
is the engine's every container, as a marked one may have any name), and the listings
show labels but not the image's ``Env``. Plain env values must not sit in labels (any
``docker images`` user could read secrets there), and the fingerprint only compares
hashes anyway. So ``observe()`` reports hashed env (``ObservedFunction.env_hashed``) and a
pull that needs the plain values calls :meth:`DockerComponent.read_env` (one inspect for
one function). The plain values live where Docker keeps them: the image config ``Env``
and the container's env.

Ownership: image and container carry ``functions-tui.registry`` (``registry_id``, the identity
of the registry that deployed them) beside the mark; observe() reports it as ``owner`` (None
for a mark from before identities). Labels are immutable, so ``claim()`` adds it by building
``FROM`` the current image with one more label (local, no pull) and recreating the container
with the same config and run state. Code drift: the container records the image id it was
deployed from (``functions-tui.deployed-code``); the image listing shows which image the
function's tag names now, so an image rebuilt or retagged out of band reads as ``code_digest``
``docker:<short image id>`` from the same two listings. A function without a container (state
``built``) has nowhere to record that (an image cannot name its own id), so its code digest
is its image's label, as before.

The docker SDK is imported lazily (``functions-tui --help`` never pays for it) and
``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` / ``DOCKER_CERT_PATH``) is honoured.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import socket
import tarfile
import time
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from functions_tui.registry.component import ApplyError, Detection, Observation, ObservedFunction
from functions_tui.registry.fingerprint import hash_value
from functions_tui.registry.limits import Limits
from functions_tui.registry.kinds import Kind, SandboxBackend, register
from functions_tui.registry.models import FunctionSpec, digest_source, is_managed_label, utc_now
from functions_tui.registry.packaging import PackagingError, source_files, warn_sensitive

COMPONENT = "docker"   # the kind's name, and its default instance's
#: Prefix of the code digest reported when the image under the function's tag is not the one
#: its container was deployed from.
DRIFT_PREFIX = "docker:"

#: Function images live in this repository namespace; containers carry this name prefix.
IMAGE_REPO = "functions-tui"
CONTAINER_PREFIX = "functions-tui-"

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_PORT = 8080
#: Oldest engine we support (API 1.40 = Docker 19.03: init, labels on build, filters we use).
MIN_ENGINE_VERSION = Version("19.03")
MIN_API_VERSION = Version("1.40")

#: Desired run states a spec may ask of Docker (targets.docker.state).
STATES = ("running", "stopped", "built")

#: Command per runtime family for base images that are real runtimes (python:3.12-slim...).
#: Our local busybox base images bring their own command (serve /app over HTTP).
RUNTIME_COMMANDS: dict[str, list[str]] = {
    "python": ["python", "/app/main.py"],
    "nodejs": ["node", "/app/index.js"],
    "node": ["node", "/app/index.js"],
}

#: What a local engine takes (checked at ``add``, registry.limits): Docker's smallest memory
#: limit (6 MB), ``functions-tui/NAME`` as a repository name (at most 255 characters, lowercase
#: components joined by ``.``, ``_``, ``__`` or hyphens), one ``NAME=value`` within Linux's
#: MAX_ARG_STRLEN (128 KiB, or the container cannot start) and the variables the image sets.
LIMITS = Limits(
    provider="Docker",
    memory_mb=(6, None),
    name_max=255 - len(IMAGE_REPO) - 1,
    name_pattern=r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*",
    name_rule=f"at most {255 - len(IMAGE_REPO) - 1} characters: lowercase letters and digits, "
              "joined by single . or _, by __ or by hyphens",
    env_entry_bytes=128 * 1024 - 1,
    env_key_pattern=r"[^=\0]+",
    env_key_rule="any name without = or NUL",
    env_reserved=("FUNCTION_NAME", "FUNCTION_TARGET", "FUNCTION_TIMEOUT"),
    source="https://docs.docker.com/engine/containers/resource_constraints/",
)


def _adapter_arguments(settings: dict[str, Any], env: dict[str, str], default: bool) -> dict[str, Any]:
    """config.yaml's settings of an instance (DOCKER_HOST for the default one)."""
    host = settings.get("host") or (env.get("DOCKER_HOST") if default else None)
    return {"base_url": host or None, "base_images": dict(settings.get("base_images") or {}) or None}


#: Everything the rest of the code knows about Docker (registry/kinds.py).
KIND = register(Kind(
    name=COMPONENT,
    title="Docker",
    docs="a Docker engine: DOCKER_HOST, or host: unix:///…, tcp://…, ssh://… (base_images: runtime -> image)",
    label_separator=".",
    default_state="running",
    states=STATES,
    default_policy="ask",
    target_fields={"port": "int", "state": "str", "image": "str"},
    settings={"host": "str", "base_images": "str_map"},
    example="laptop: {kind: docker, host: ssh://me@laptop}",
    settings_help={"base_images": "runtime -> local image to build from, e.g. python3.11: my-python:3.11"},
    adapter="functions_tui.components.docker:DockerComponent",
    adapter_arguments=_adapter_arguments,
    limits=LIMITS,
    sandbox=SandboxBackend("functions_tui.components.local_backends.dockerd:sandbox_backend",
                           label="Docker", optional=True),
))
MARK = KIND.mark_key
DIGEST = KIND.digest_key
OWNER = KIND.owner_key
DEPLOYED_CODE = KIND.deployed_code_key
SPEC_LABEL = "functions-tui.spec"
RESERVED_LABELS = frozenset({MARK, DIGEST, OWNER, DEPLOYED_CODE, SPEC_LABEL})

FIX_START = "start Docker: `sudo systemctl start docker` or `dockerd &`"
FIX_GROUP = "add your user to the docker group: `sudo usermod -aG docker $USER`, then log in again"


# --------------------------------------------------------------------------- naming

def safe_name(name: str) -> str:
    """A function name in the spelling Docker repository and container names allow."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-")
    if cleaned != name:
        # Keep distinct names distinct after cleaning ("My_Fn" vs "my-fn").
        cleaned = f"{cleaned or 'fn'}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    return cleaned


def image_ref(name: str) -> str:
    return f"{IMAGE_REPO}/{safe_name(name)}:latest"


def container_name(name: str) -> str:
    """The name ``create`` gives a container it makes for function ``name`` (an existing one is
    found by its mark and keeps its own name: see the module docstring)."""
    return f"{CONTAINER_PREFIX}{safe_name(name)}"


#: A recreate renames the old container ``NAME`` to ``NAME-recreating-<its short id>`` until
#: the new one runs (an older release wrote ``-claiming-``, recognised as well).
ASIDE_INFIX = "-recreating-"
ASIDE_INFIXES = (ASIDE_INFIX, "-claiming-")


def aside_name(name: str, container_id: str) -> str:
    return f"{name}{ASIDE_INFIX}{_short(container_id)}"


def set_aside_from(names: list[str], container_id: str) -> str | None:
    """The name a container had before a recreate renamed it aside (its names end with an
    aside infix and its own short id), or None when it is not set aside."""
    short = _short(container_id)
    for name in names:
        if name.endswith(short):
            for infix in ASIDE_INFIXES:
                suffix = infix + short
                if name.endswith(suffix) and len(name) > len(suffix):
                    return name[:-len(suffix)]
    return None


def _names(entry: dict) -> list[str]:
    """A container's names: from a listing (``Names``) or an inspect (``Name``), no slash."""
    names = entry.get("Names") or ([entry["Name"]] if entry.get("Name") else [])
    return [n.lstrip("/") for n in names]


def function_containers(entries: list[dict], name: str) -> tuple[list[dict], list[dict]]:
    """Of container listing entries, those that are function ``name``'s container: (live,
    set aside by an unfinished recreate), each in the order observe prefers (the one named
    ``container_name(name)`` first, then by name). One is the function's when it carries the
    mark ``name`` and is named ``container_name(name)``, carries the deployed-code record
    (only we write it on a container) or was set aside by a recreate; a container that only
    inherited the mark from our image (``docker run functions-tui/NAME``) is not."""
    own = container_name(name)
    live, aside = [], []
    for entry in entries:
        labels = entry.get("Labels") or {}
        if labels.get(MARK) != name:
            continue
        names = _names(entry)
        if set_aside_from(names, entry["Id"]) is not None:
            aside.append((names, entry))
        elif own in names or labels.get(DEPLOYED_CODE):
            live.append((names, entry))

    def ordered(found: list[tuple[list[str], dict]]) -> list[dict]:
        if len(found) > 1:
            found.sort(key=lambda item: (own not in item[0], sorted(item[0]), item[1]["Id"]))
        return [entry for _, entry in found]

    return ordered(live), ordered(aside)


def _ambiguous(live: list[dict], aside: list[dict]) -> list[dict]:
    """The containers that pass for the function's when there are several, else []."""
    if len(live) > 1:
        return live
    if not live and len(aside) > 1:
        return aside
    return []


def _listed_names(entries: list[dict]) -> str:
    return ", ".join("/".join(_names(e)) or _short(e["Id"]) for e in entries)


def runtime_family(runtime: str) -> str:
    """``python3.12`` / ``python312`` → ``python``; ``nodejs20`` → ``nodejs``."""
    match = re.match(r"[a-zA-Z]+", runtime or "")
    return match.group(0).lower() if match else "generic"


def spec_label(spec: FunctionSpec) -> str:
    """The ``functions-tui.spec`` label: compact JSON, env as value hashes (never plain)."""
    return json.dumps({
        "runtime": spec.runtime,
        "entry_point": spec.entry_point,
        "memory": spec.memory,
        "timeout": spec.timeout,
        "labels": dict(sorted(spec.labels.items())),
        "env": {k: hash_value(v) for k, v in sorted(spec.env.items())},
    }, separators=(",", ":"), sort_keys=True)


def _version_of(text: str) -> Version | None:
    """``20.10.24+dfsg1`` → 20.10.24; ``28.2.2-ce`` → 28.2.2 (compare versions, not strings)."""
    match = re.match(r"\d+(\.\d+)*", text or "")
    if not match:
        return None
    try:
        return Version(match.group(0))
    except InvalidVersion:
        return None


# --------------------------------------------------------------------------- reachability

def default_base_url() -> str:
    """Where the engine is when DOCKER_HOST is unset: the system socket, else a rootless
    engine's ($XDG_RUNTIME_DIR/docker.sock) or Docker Desktop's (~/.docker/run/docker.sock).
    None there: the system socket, so the reason names the usual place."""
    candidates = [DEFAULT_SOCKET]
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "docker.sock"))
    candidates.append(os.path.expanduser("~/.docker/run/docker.sock"))
    for path in candidates:
        if os.path.exists(path):
            return f"unix://{path}"
    return f"unix://{DEFAULT_SOCKET}"


def _probe_host(base_url: str) -> tuple[str, str] | None:
    """Why the engine at ``base_url`` cannot be reached, as (reason, fix); None if it can.

    A raw connect tells the cases apart precisely (the SDK buries them in wrapped
    exceptions): no socket / refused → the daemon is not running; EACCES → permission.
    """
    if base_url.startswith("unix://"):
        path = base_url[len("unix://"):]
        try:
            os.stat(path)
        except FileNotFoundError:
            return f"Docker daemon is not running (no socket at {path})", FIX_START
        except PermissionError:
            return f"permission denied on the Docker socket {path}", FIX_GROUP
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(path)
        except PermissionError:
            return f"permission denied on the Docker socket {path}", FIX_GROUP
        except ConnectionRefusedError:
            return f"Docker daemon is not running ({path} exists but nothing listens on it)", FIX_START
        except FileNotFoundError:
            return f"Docker daemon is not running (no socket at {path})", FIX_START
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                return f"permission denied on the Docker socket {path}", FIX_GROUP
            return f"cannot connect to the Docker socket {path}: {exc.strerror or exc}", FIX_START
        finally:
            sock.close()
        return None
    if base_url.startswith(("tcp://", "http://", "https://")):
        hostport = base_url.split("://", 1)[1].split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        try:
            socket.create_connection((host or "localhost", int(port or 2375)), timeout=5).close()
        except ConnectionRefusedError:
            return f"Docker daemon is not running at {base_url} (connection refused)", \
                f"{FIX_START}, or point DOCKER_HOST at a running engine"
        except (OSError, ValueError) as exc:
            return f"cannot reach the Docker engine at {base_url}: {exc}", \
                "check DOCKER_HOST and that the engine is reachable"
    return None


def _describe(exc: BaseException) -> str:
    """One line for an SDK error, with the innermost OS error when there is one."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PermissionError):
            return f"permission denied ({current})"
        if isinstance(current, (ConnectionRefusedError, FileNotFoundError)):
            return f"daemon not running ({current})"
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text}"


# --------------------------------------------------------------------------- the adapter

class DockerComponent:
    """The ``docker`` component (see the module docstring for the resource layout)."""

    def __init__(self, base_url: str | None = None, base_images: dict[str, str] | None = None,
                 timeout: int = 120, registry_id: str = "", name: str = COMPONENT) -> None:
        self.name = name   # the instance (config.yaml ``components:``), "docker" by default
        #: The registry's identity, written as OWNER on everything we deploy or claim
        #: (set by the service before any create/update/claim; empty refuses those).
        self.registry_id = registry_id
        self._explicit_url = base_url
        self.base_url = base_url or os.environ.get("DOCKER_HOST") or default_base_url()
        #: runtime (``python3.12``) or runtime family (``python``) → base image reference.
        self.base_images = dict(base_images or {})
        self.timeout = timeout
        self._api: Any = None
        self._has_bridge: bool | None = None
        self._memory_limits: bool | None = None

    # -- client ------------------------------------------------------------------

    @property
    def api(self) -> Any:
        """The low-level ``docker.APIClient`` (created on first use, then reused)."""
        if self._api is None:
            import docker
            from docker.utils import kwargs_from_env

            kwargs: dict[str, Any] = {} if self._explicit_url else kwargs_from_env()
            kwargs["base_url"] = self.base_url
            self._api = docker.APIClient(version="auto", timeout=self.timeout, **kwargs)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # -- detect ------------------------------------------------------------------

    def detect(self) -> Detection:
        details: dict[str, Any] = {"host": self.base_url}
        try:
            import docker  # noqa: F401
        except ImportError:
            return Detection(self.name, False, reason="the docker Python SDK is not installed",
                             fix="pip install docker", details=details)
        problem = _probe_host(self.base_url)
        if problem is not None:
            return Detection(self.name, False, reason=problem[0], fix=problem[1], details=details)
        try:
            info = self._version_info()
        except Exception as exc:  # the SDK raises several unrelated types; all mean "unusable"
            text = _describe(exc)
            fix = FIX_GROUP if text.startswith("permission denied") else FIX_START
            return Detection(self.name, False, reason=f"Docker engine at {self.base_url} does not answer: {text}",
                             fix=fix, details=details)
        engine_text = str(info.get("Version", ""))
        api_text = str(info.get("ApiVersion", ""))
        details.update({"api_version": api_text, "os": info.get("Os", ""), "arch": info.get("Arch", "")})
        engine, api = _version_of(engine_text), _version_of(api_text)
        # The API version is what the SDK needs (Podman & co. report their own engine
        # numbers); the engine version only decides when no API version is given.
        too_old = api < MIN_API_VERSION if api is not None else engine is not None and engine < MIN_ENGINE_VERSION
        if too_old:
            return Detection(self.name, False, version=engine_text,
                             reason=f"Docker Engine {engine_text} (API {api_text}) is older than the "
                                    f"{MIN_ENGINE_VERSION} (API {MIN_API_VERSION}) this tool needs",
                             fix="upgrade Docker Engine (Debian: `apt-get install docker.io` from a newer release)",
                             details=details)
        return Detection(self.name, True, version=engine_text, details=details)

    def _version_info(self) -> dict[str, Any]:
        """``GET /version`` without API-version negotiation (which fails on too-old engines
        before we could say so), on a short-lived client."""
        import docker
        from docker.utils import kwargs_from_env

        kwargs: dict[str, Any] = {} if self._explicit_url else kwargs_from_env()
        kwargs["base_url"] = self.base_url
        probe = docker.APIClient(version=str(MIN_API_VERSION), timeout=10, **kwargs)
        try:
            return probe.version(api_version=False)
        finally:
            probe.close()

    # -- observe -----------------------------------------------------------------

    def observe(self) -> Observation:
        """One image listing + one container listing; never raises."""
        started = time.perf_counter()
        try:
            api = self.api
            # Filtering images by our namespace (not by the mark) returns the marked ones *and*
            # the unmarked ones squatting on our names. A function's container may have any
            # name (an imported one keeps its own) and the engine cannot filter on "this label
            # or that name" in one call, so the container listing is every container;
            # _assemble keeps the marked ones and those squatting on our prefix.
            images = api.images(filters={"reference": f"{IMAGE_REPO}/*"})
            containers = api.containers(all=True)
        except Exception as exc:
            self._api = None if not _is_api_error(exc) else self._api
            return Observation.failed(self.name, f"docker listing failed: {_describe(exc)}")
        try:
            observation = self._assemble(images, containers)
        except Exception as exc:  # a malformed listing is a failed observation, not a crash
            return Observation.failed(self.name, f"docker listing could not be read: {_describe(exc)}")
        observation.observed_at = utc_now()
        observation.duration_s = time.perf_counter() - started
        return observation

    def _assemble(self, images: list[dict], containers: list[dict],
                  only: str | None = None) -> Observation:
        observation = Observation(self.name)
        image_by_name = _pick_marked(
            images, lambda i: [t for t in (i.get("RepoTags") or []) if t.startswith(IMAGE_REPO + "/")],
            "image", image_ref, only, observation.unmarked)
        container_by_name, notes = _pick_containers(containers, only, observation.unmarked)
        # Which image each of our tags names now, marked or not (an image retagged out of band).
        tagged = {tag: image.get("Id") for image in images for tag in image.get("RepoTags") or []
                  if tag.startswith(IMAGE_REPO + "/")}
        for name in sorted(set(image_by_name) | set(container_by_name)):
            observation.items[name] = _observed(self.name, name, image_by_name.get(name),
                                                container_by_name.get(name), tagged.get(image_ref(name)),
                                                note=notes.get(name, ""))
        return observation

    def observe_one(self, name: str) -> ObservedFunction | None:
        """One function as Docker shows it now (label-filtered listings), or None."""
        api = self.api
        images = api.images(filters={"label": f"{MARK}={name}"})
        containers = api.containers(all=True, filters={"label": f"{MARK}={name}"})
        return self._assemble(images, containers, only=name).items.get(name)

    def read_env(self, name: str) -> dict[str, str]:
        """The plain env values of a deployed function (one inspect): for a pull.

        The container's env wins (that is what runs); only the keys the function declared
        (those in its spec label) are returned, not the base image's PATH and the like.
        """
        import docker.errors

        api = self.api
        config = self._function_container(api, name, "read the env of", settle=False)
        if config is None:
            try:
                config = api.inspect_image(image_ref(name))
            except docker.errors.ImageNotFound as exc:
                raise ApplyError(f"docker: {name} is not deployed here") from exc
        labels = (config.get("Config") or {}).get("Labels") or {}
        if labels.get(MARK) != name:
            raise ApplyError(f"docker: {name} is not marked as ours; not reading it")
        declared = _spec_of(labels).get("env") or {}
        env = dict(item.split("=", 1) for item in (config.get("Config") or {}).get("Env") or [] if "=" in item)
        return {k: env[k] for k in declared if k in env}

    # -- apply -------------------------------------------------------------------

    def create(self, spec: FunctionSpec) -> ObservedFunction:
        """Build the image and, unless the desired state is ``built``, the container."""
        return self._deploy(spec, rebuild=True)

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        """Rebuild when anything but the run state differs; then bring the container to state."""
        rebuild = bool(set(fields) - {"state"}) or not fields
        return self._deploy(spec, rebuild=rebuild)

    def claim(self, name: str, resource_id: str = "") -> ObservedFunction:
        """Add this registry's identity label to the function's image and container.

        Docker labels are immutable: the image is rebuilt ``FROM`` itself with the one more
        label (a metadata-only step on the local image, no pull) under the same tag, and the
        container is recreated from it with the same config, labels (plus the identity) and
        run state, under its own name. Code, env, ports and the fingerprint stay as they were.
        Refuses when the function's image or ``functions-tui-NAME`` is not marked, when neither
        its image nor a container carrying its mark exists, or when several containers pass for
        its own (module docstring).
        """
        import docker.errors

        owner = self._owner("claim", name)
        api = self._api_or_apply_error()
        found = self._refuse_unmarked(api, name, "claim")
        image, container = found.get("image"), found.get("container")
        if image is None and container is None:
            raise ApplyError(f"docker: cannot claim {name}: neither {image_ref(name)} nor a container "
                             f"carrying {MARK}={name} exists")
        old_image = image["Id"] if image is not None else None
        new_image = old_image
        try:
            try:
                if image is not None and _labels_of(image).get(OWNER) != owner:
                    new_image = self._relabel_image(api, name, old_image, {OWNER: owner})
                runs_old = new_image != old_image and container is not None and container.get("Image") == old_image
                if container is not None and (_labels_of(container).get(OWNER) != owner or runs_old):
                    extra = {OWNER: owner}
                    if runs_old and _labels_of(container).get(DEPLOYED_CODE) == old_image:
                        extra[DEPLOYED_CODE] = new_image
                    self._recreate_container(api, name, container, extra, image_ref(name) if runs_old else None)
            except BaseException:
                if new_image != old_image:   # the container is as it was: so is the tag
                    _put_tag_back(api, image_ref(name), old_image)
                raise
            observed = self.observe_one(name)
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot claim {name}: {_describe(exc)}") from exc
        if observed is None:
            raise ApplyError(f"docker: {name} was claimed but does not show in the listing")
        return observed

    def delete(self, name: str, resource_id: str = "") -> None:
        """Remove the function's containers and images: every container and image carrying its
        mark (whatever their names; a container run from its image by hand inherits the mark
        and would keep the image), none that does not. Refuses if ``functions-tui/NAME`` or,
        with no container of the function's, ``functions-tui-NAME`` is held by an unmarked one."""
        import docker.errors

        api = self._api_or_apply_error()
        self._refuse_unmarked(api, name, "delete", choose=False)
        try:
            for container in api.containers(all=True, filters={"label": f"{MARK}={name}"}):
                api.remove_container(container["Id"], force=True)
            for image in api.images(filters={"label": f"{MARK}={name}"}):
                ours = [t for t in image.get("RepoTags") or [] if t == image_ref(name)]
                try:
                    # Remove our tag only: a tag someone added by hand (myrepo/x) keeps the image.
                    api.remove_image(ours[0] if ours else image["Id"])
                except docker.errors.NotFound:
                    pass
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot delete {name}: {_describe(exc)}") from exc

    # -- import (functions-tui import: bring a container or image made by hand under management) --

    def _candidates(self) -> dict[str, Any]:
        from functions_tui.components.docker_import import find_candidates

        try:
            return find_candidates(self._api_or_apply_error(), MARK, CONTAINER_PREFIX, IMAGE_REPO)
        except ApplyError:
            raise
        except Exception as exc:
            raise ApplyError(f"docker: listing containers and images failed: {_describe(exc)}") from exc

    def _seen(self, candidate: Any) -> ObservedFunction:
        from functions_tui.components import docker_import

        values = docker_import.read(candidate, self.base_images, RESERVED_LABELS, is_managed_label)
        return ObservedFunction(name=candidate.name, component=self.name, values=values,
                                resource_id=candidate.resource_id, marked=False,
                                summary=docker_import.summary(candidate, values))

    def import_candidates(self) -> dict[str, ObservedFunction]:
        """Every container or image carrying no mark that ``import`` offers, by the NAME it
        takes (components/docker_import.py says which, and how they are named)."""
        return {name: self._seen(c) for name, c in self._candidates().items()}

    def describe_unmarked(self, names: list[str]) -> dict[str, ObservedFunction]:
        """Each named candidate as import reads it (env in clear; see docker_import.read), or,
        for a function marked here already, that one (``marked``, ``owner``: import refuses
        it). A name neither goes by raises ApplyError."""
        candidates = self._candidates()
        api = self._api_or_apply_error()
        found: dict[str, ObservedFunction] = {}
        for name in names:
            if name not in candidates:
                marked = self.observe_one(name)
                if marked is None:
                    raise ApplyError(f"docker: no container or image without a mark goes by {name}"
                                     f" (`functions-tui import {self.name}` lists them)")
                found[name] = marked
                continue
            candidate = candidates[name]
            seen = self._seen(candidate)
            values = seen.values
            values["refusal"] = values["refusal"] or self._import_slot_taken(
                api, name, candidate.image["Id"], candidate.container["Id"] if candidate.container else None)
            ref = (candidate.image.get("RepoTags") or [_short(candidate.image["Id"])])[0]
            if candidate.container is not None:
                values["notes"].append(
                    f"marking recreates container {candidate.container['Name'].lstrip('/')} under the same name"
                    f" (Docker cannot add labels to a container) from {image_ref(name)}: the same layers, env,"
                    " command, host config and run state")
            values["notes"].append(f"marking tags {image_ref(name)}: a build FROM {ref} that adds labels only;"
                                   f" {ref} stays as it is")
            found[name] = seen
        return found

    def _import_slot_taken(self, api: Any, name: str, image_id: str, container_id: str | None) -> str:
        """Why function ``name`` cannot be marked on this candidate here, or "": its image tag
        is another image's, another container carries its mark, or (an image alone, whose
        container a later run creates as ``functions-tui-NAME``) that name is another's. A
        container keeps its own name."""
        import docker.errors

        slots = [("image", api.inspect_image, image_ref(name), image_id)]
        if container_id is None:
            slots.append(("container", api.inspect_container, container_name(name), container_id))
        for kind, inspect, ref, own in slots:
            try:
                found = inspect(ref)
            except docker.errors.NotFound:
                continue
            if found["Id"] != own:
                whose = " (a function marked here)" if _labels_of(found).get(MARK) else ""
                return (f"the {kind} name {ref} it would be marked under is taken by {kind} {_short(found['Id'])}{whose}:"
                        " rename or remove that one first")
        live, aside = function_containers(
            [c for c in api.containers(all=True, filters={"label": f"{MARK}={name}"}) if c["Id"] != container_id], name)
        if live or aside:
            return (f"container {_listed_names(live + aside)} carries the mark {MARK}={name} already (a function"
                    " marked here): remove that one first")
        return ""

    def download_code(self, seen: ObservedFunction, folder: Path) -> str:
        """Write the files the image's layers above its base image put under its WORKDIR into
        ``folder`` (components/docker_image_code.py: read from ``docker save``, nothing created
        on the engine); "" when written, else why not. What was read is added to the notes."""
        import shutil

        from functions_tui.components.docker_image_code import MAX_CODE_BYTES, MAX_CODE_FILES, MAX_IMAGE_BYTES, CodeTooBig, read_workdir

        values = seen.values
        workdir = values.get("workdir") or ""
        if not workdir.strip("/"):
            return ("its image sets no WORKDIR, so its code cannot be told from the rest of its filesystem"
                    " (`docker cp CONTAINER:/PATH DIR` copies a folder out)")
        if values.get("image_size", 0) > MAX_IMAGE_BYTES:
            return f"its image is larger than {MAX_IMAGE_BYTES // 1024 ** 3} GB: not read (`docker cp` copies {workdir} out)"
        base = values.get("base_name")
        above = f"above its base image ({base})" if base else "(no base image of it is here: all of them)"
        try:
            got = read_workdir(self._api_or_apply_error().get_image(values["image_id"]), values["layers"],
                               values["skip_layers"], workdir, folder)
        except CodeTooBig:
            return (f"{workdir} holds more than {MAX_CODE_BYTES // 2 ** 20} MB or {MAX_CODE_FILES} files:"
                    f" not extracted (`docker cp` copies it out)")
        except Exception as exc:   # a failed read writes nothing half: the folder is emptied
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(mode=0o700)
            return f"its image could not be read ({_describe(exc)})"
        if not got.files:
            return f"no file under WORKDIR {workdir} in the image's {got.layers} layer(s) {above}"
        values["notes"].append(
            f"code: {len(got.files)} file(s), {got.size} bytes, from WORKDIR {workdir} in the image's {got.layers}"
            f" layer(s) {above}, read with docker save"
            + (f"; {got.skipped} link(s) or special file(s) not written" if got.skipped else ""))
        return ""

    def mark_imported(self, name: str, code_digest: str, deployed_code: str, resource_id: str = "",
                      spec: FunctionSpec | None = None) -> ObservedFunction:
        """Mark an unmarked container (or image) as function ``name`` of this registry, the way
        claim() adds an identity: labels are immutable, so its image is built again ``FROM``
        itself with the mark, our identity, ``code_digest`` and ``spec``'s label (metadata
        only: checked to have the same layers and config, else undone) under
        ``functions-tui/NAME:latest``, and a container is recreated from it under its own name
        (``docker logs web`` still reaches it) with the same config, host config and run state.
        Refuses one that got a mark, whose image changed since it was read (``deployed_code``)
        or whose image tag (or mark) here is another's."""
        import docker.errors

        owner = self._owner("import", name)
        if spec is None:
            raise ApplyError(f"docker: cannot import {name} without its spec (its labels record it)")
        api = self._api_or_apply_error()
        try:
            try:
                container = api.inspect_container(resource_id)
            except docker.errors.NotFound:
                container = None
            image = api.inspect_image(container["Image"] if container else resource_id)
        except docker.errors.NotFound as exc:
            raise ApplyError(f"docker: cannot import {name}: it is not there any more") from exc
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot import {name}: {_describe(exc)}") from exc
        if _labels_of(container or image).get(MARK):
            raise ApplyError(f"docker: {name} carries the {MARK} label already; not importing it")
        if deployed_code and image["Id"] != deployed_code:
            raise ApplyError(f"docker: {name} runs another image than when it was read; run import again")
        from functions_tui.components.docker_import import Candidate, read

        problem = read(Candidate(name, image, container), self.base_images, RESERVED_LABELS,
                       is_managed_label)["refusal"] or self._import_slot_taken(
            api, name, image["Id"], container["Id"] if container else None)
        if problem:
            raise ApplyError(f"docker: cannot import {name}: {problem}")
        labels = {MARK: name, OWNER: owner, DIGEST: code_digest, SPEC_LABEL: spec_label(spec)}
        previous = _image_id(api, image_ref(name))   # the candidate's own image, if it bore our tag
        try:
            new_image = self._relabel_image(api, name, image["Id"], labels)
            changed = _relabel_changes(image, api.inspect_image(new_image))
            if changed:
                raise ApplyError(f"docker: marking {name} would have changed its image's {', '.join(changed)};"
                                 " undone, not imported")
            if container is not None:
                self._recreate_container(api, name, container, {**labels, DEPLOYED_CODE: new_image}, image_ref(name))
        except BaseException as exc:
            _put_tag_back(api, image_ref(name), previous)
            if isinstance(exc, docker.errors.APIError):
                raise ApplyError(f"docker: cannot import {name}: {_describe(exc)}") from exc
            raise
        observed = self.observe_one(name)
        if observed is None:
            raise ApplyError(f"docker: {name} was marked but does not show in the listing")
        return observed

    # -- apply helpers -------------------------------------------------------------

    def _api_or_apply_error(self) -> Any:
        try:
            return self.api
        except Exception as exc:
            raise ApplyError(f"docker: engine at {self.base_url} unavailable: {_describe(exc)}") from exc

    def _owner(self, action: str, name: str) -> str:
        """The identity to write; never deploy or claim a resource without one."""
        if not self.registry_id:
            raise ApplyError(f"docker: cannot {action} {name}: the registry has no identity yet (registry_id "
                             f"is empty), and functions-tui never deploys a resource without its owner")
        return self.registry_id

    def _refuse_unmarked(self, api: Any, name: str, verb: str, choose: bool = True) -> dict[str, dict]:
        """Our names taken by resources without our mark: never overwrite or remove those.
        Returns what the function has here (``image``: the inspect of ``functions-tui/NAME``;
        ``container``: of the container carrying its mark, whatever its name, see
        _function_container; with ``choose`` False none is chosen, and several are no refusal).
        ``functions-tui-NAME`` matters only to a function without a container of its own (a new
        one would be made under that name)."""
        import docker.errors

        existing: dict[str, dict] = {}
        try:
            found = api.inspect_image(image_ref(name))
        except docker.errors.NotFound:
            found = None
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot inspect image {image_ref(name)}: {_describe(exc)}") from exc
        if found is not None:
            if _labels_of(found).get(MARK) != name:
                raise ApplyError(f"docker: refusing to {verb} {name}: image {image_ref(name)} exists without the "
                                 f"{MARK}={name} mark (not created by functions-tui)")
            existing["image"] = found
        try:
            if choose:
                container = self._function_container(api, name, verb)
                has_own = container is not None
                if has_own:
                    existing["container"] = container
            else:
                live, aside = function_containers(api.containers(all=True, filters={"label": f"{MARK}={name}"}), name)
                has_own = bool(live or aside)
            if not has_own:
                try:
                    squatter = api.inspect_container(container_name(name))
                except docker.errors.NotFound:
                    squatter = None
                if squatter is not None and _labels_of(squatter).get(MARK) != name:
                    raise ApplyError(f"docker: refusing to {verb} {name}: container {container_name(name)} exists"
                                     f" without the {MARK}={name} mark (not created by functions-tui)")
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot inspect the containers of {name}: {_describe(exc)}") from exc
        return existing

    def _function_container(self, api: Any, name: str, verb: str, settle: bool = True) -> dict | None:
        """The inspect of function ``name``'s container (the one carrying its mark, whatever its
        name: see function_containers), or None. Several passing for it: ApplyError naming them
        (never one chosen for a change). With ``settle``, what a recreate killed midway left is
        put right first: beside the container, one set aside is removed (the recreate had made
        its successor); set aside alone, it gets its name back (when that is free)."""
        import docker.errors

        live, aside = function_containers(api.containers(all=True, filters={"label": f"{MARK}={name}"}), name)
        several = _ambiguous(live, aside)
        if several:
            raise ApplyError(f"docker: refusing to {verb} {name}: containers {_listed_names(several)} all carry its"
                             f" mark {MARK}={name}, and which one is the function's cannot be told; remove the"
                             " other(s) (`docker rm`), then sync again")
        if live:
            if settle:
                for leftover in aside:
                    _remove_container_quietly(api, leftover["Id"])
            return api.inspect_container(live[0]["Id"])
        if not aside:
            return None
        leftover = aside[0]
        if settle:
            try:
                api.rename(leftover["Id"], set_aside_from(_names(leftover), leftover["Id"]))
            except docker.errors.APIError:
                pass   # the name is someone else's now: it stays aside (and found) until that is free
        return api.inspect_container(leftover["Id"])

    def _deploy(self, spec: FunctionSpec, rebuild: bool) -> ObservedFunction:
        import docker.errors

        state = spec.desired_state(self.name)
        if state not in STATES:
            raise ApplyError(f"docker: unknown desired state {state!r} for {spec.name} (use {', '.join(STATES)})")
        self._owner("deploy", spec.name)
        api = self._api_or_apply_error()
        found = self._refuse_unmarked(api, spec.name, "deploy")
        try:
            previous = found["image"]["Id"] if "image" in found else None
            # A build of another registry (or from before identities) is rebuilt with ours.
            if "image" in found and _labels_of(found["image"]).get(OWNER) != self.registry_id:
                rebuild = True
            if rebuild or previous is None:
                image_id = self._build(api, spec)
            else:
                image_id = previous
            try:
                self._converge_container(api, spec, image_id, state, found.get("container"))
            except BaseException:
                if previous is not None and previous != image_id:
                    # The container is as it was (_replace_container): so is the tag, and the
                    # new build goes, or the function would read as code changed by hand.
                    _put_tag_back(api, image_ref(spec.name), previous)
                raise
            if previous is not None and previous != image_id:
                _remove_quietly(api, previous)  # the old build, now untagged and unused
            observed = self.observe_one(spec.name)
        except docker.errors.APIError as exc:
            raise ApplyError(f"docker: cannot deploy {spec.name}: {_describe(exc)}") from exc
        if observed is None:
            raise ApplyError(f"docker: {spec.name} was deployed but does not show in the listing")
        return observed

    def base_image_for(self, runtime: str) -> str:
        """The base image of a runtime: configured (exact runtime, then family) or our local one."""
        from functions_tui.components.local_backends.base_image import local_base_ref

        family = runtime_family(runtime)
        return self.base_images.get(runtime) or self.base_images.get(family) or local_base_ref(family)

    def _labels(self, spec: FunctionSpec, digest: str) -> dict[str, str]:
        labels = {k: str(v) for k, v in spec.labels.items() if k not in RESERVED_LABELS and not is_managed_label(k)}
        labels.update({MARK: spec.name, OWNER: self.registry_id, DIGEST: digest, SPEC_LABEL: spec_label(spec)})
        return labels

    @staticmethod
    def _digest(spec: FunctionSpec) -> str:
        if spec.code_digest:
            return spec.code_digest
        return digest_source(spec.source) if spec.source else ""

    def _build(self, api: Any, spec: FunctionSpec) -> str:
        from functions_tui.components.local_backends.base_image import BaseImageError, ensure_base_image, is_local_base_ref

        base = self.base_image_for(spec.runtime)
        if is_local_base_ref(base):
            try:
                ensure_base_image(api, base)
            except BaseImageError as exc:
                raise ApplyError(f"docker: {exc}") from exc
        command = None if is_local_base_ref(base) else RUNTIME_COMMANDS.get(runtime_family(spec.runtime))
        context = build_context(spec, base, command)
        ref = image_ref(spec.name)
        errors: list[str] = []
        for chunk in api.build(fileobj=context, custom_context=True, tag=ref, rm=True, forcerm=True,
                               labels=self._labels(spec, self._digest(spec)), decode=True):
            if "error" in chunk:
                errors.append(str(chunk.get("error")).strip())
        if errors:
            raise ApplyError(f"docker: building {ref} from {base} failed: {errors[-1]}")
        image_id = _image_id(api, ref)
        if image_id is None:
            raise ApplyError(f"docker: build of {ref} finished but the image is missing")
        return image_id

    def _converge_container(self, api: Any, spec: FunctionSpec, image_id: str, state: str,
                            existing: dict | None) -> None:
        """Bring the function's container (``existing``: its inspect, found by the mark) to
        ``state`` on ``image_id``: recreated under its own name when it runs another build or
        lacks our identity or the deployed-code record; made as ``functions-tui-NAME`` when there
        is none; removed for ``built``."""
        labels = _labels_of(existing) if existing is not None else {}
        if state == "built":
            if existing is not None:
                api.remove_container(existing["Id"], force=True)
            return
        if existing is None:
            created = self._create_container(api, spec, container_name(spec.name), image_id)
            if state == "running":
                api.start(created)
            return
        if (existing.get("Image") != image_id or labels.get(OWNER) != self.registry_id
                or labels.get(DEPLOYED_CODE) != image_id):
            self._replace_container(api, existing, lambda cname: self._create_container(api, spec, cname, image_id),
                                    start=state == "running")
            return
        running = bool((existing.get("State") or {}).get("Running"))
        if state == "running" and not running:
            api.start(existing["Id"])
        elif state == "stopped" and running:
            api.stop(existing["Id"], timeout=5)

    def _create_container(self, api: Any, spec: FunctionSpec, cname: str, image_id: str) -> str:
        port = int((spec.targets.get(self.name) or {}).get("port") or 0)
        env = dict(spec.env)
        env["PORT"] = str(port or DEFAULT_PORT)
        host_config: dict[str, Any] = {"init": True}  # tini as PID 1: stops promptly on SIGTERM
        ports = None
        if port and self._bridge_available(api):
            ports = [port]
            host_config["port_bindings"] = {port: port}
        elif not self._bridge_available(api):
            # An engine without the default bridge (e.g. dockerd --bridge=none) can run
            # containers only without a network; nothing to publish then.
            host_config["network_mode"] = "none"
        if spec.memory and self._supports_memory_limits(api):
            host_config["mem_limit"] = f"{int(spec.memory)}m"
        # The container records the image it was deployed from: the image listing then shows
        # whether the function's tag still names it (code replaced out of band, see _observed).
        labels = {**self._labels(spec, self._digest(spec)), DEPLOYED_CODE: image_id}
        created = api.create_container(
            image_ref(spec.name), name=cname, environment=env, ports=ports,
            labels=labels, host_config=api.create_host_config(**host_config),
            stop_timeout=5)
        return created["Id"]

    def _relabel_image(self, api: Any, name: str, image_id: str, extra: dict[str, str]) -> str:
        """Build ``FROM image_id`` plus ``extra`` labels under the function's tag; the new id.
        Metadata only: same layers, env and command; the base is local (never pulled)."""
        dockerfile = f"FROM {image_id}\n".encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            tar.addfile(info, io.BytesIO(dockerfile))
        buf.seek(0)
        ref = image_ref(name)
        errors = [str(chunk["error"]).strip() for chunk in api.build(
            fileobj=buf, custom_context=True, tag=ref, rm=True, forcerm=True, pull=False, labels=extra, decode=True)
            if "error" in chunk]
        if errors:
            raise ApplyError(f"docker: relabelling {ref} failed: {errors[-1]}")
        new_id = _image_id(api, ref)
        if new_id is None:
            raise ApplyError(f"docker: relabelled {ref} but the image is missing")
        return new_id

    def _recreate_container(self, api: Any, name: str, container: dict, extra: dict[str, str],
                            image: str | None) -> str:
        """The container again under its own name, from the same config and host config, with
        the ``extra`` labels, from ``image`` when given (a relabelled build of the image it runs)
        else from the very image it runs; same run state (see _replace_container)."""
        config = dict(container.get("Config") or {})
        config["Labels"] = {**(config.get("Labels") or {}), **extra}
        config["Image"] = image or container.get("Image")
        if config.get("Hostname") == container["Id"][:12]:
            config.pop("Hostname")  # the default (the container's short id): the new one gets its own
        host_config = config["HostConfig"] = container.get("HostConfig") or {}
        # A user-defined network keeps the container's aliases and addresses on it.
        mode = host_config.get("NetworkMode") or ""
        endpoint = ((container.get("NetworkSettings") or {}).get("Networks") or {}).get(mode)
        if endpoint and mode not in ("default", "bridge", "host", "none"):
            kept = {k: endpoint[k] for k in ("IPAMConfig", "Links") if endpoint.get(k)}
            aliases = [a for a in endpoint.get("Aliases") or [] if a != container["Id"][:12]]
            if aliases:
                kept["Aliases"] = aliases
            config["NetworkingConfig"] = {"EndpointsConfig": {mode: kept}}
        running = bool((container.get("State") or {}).get("Running"))
        return self._replace_container(api, container, lambda cname: api.create_container_from_config(config, cname)["Id"],
                                       start=running)

    def _replace_container(self, api: Any, container: dict, create, start: bool) -> str:
        """Replace ``container`` (an inspect) by ``create(its name)`` (the new id), started when
        ``start``, keeping its name: the old one is stopped and renamed aside
        (``NAME-recreating-<short id>``) first and removed only once the new one is made (and
        started); if anything fails, the new one goes and the old one gets its name and run state
        back. A process killed in between leaves what _function_container recognises and puts
        right (module docstring): never no container, never two. A container set aside already
        (by such a crash) comes back under the name it had."""
        old_id = container["Id"]
        current = (container.get("Name") or "").lstrip("/")
        original = set_aside_from([current], old_id) or current
        running = bool((container.get("State") or {}).get("Running"))
        if running and (container.get("HostConfig") or {}).get("AutoRemove"):
            raise ApplyError(f"docker: container {original} runs with --rm: stopping it to recreate it would delete it")
        stop_timeout = int((container.get("Config") or {}).get("StopTimeout") or 10)   # (10: Docker's default)
        aside = aside_name(original, old_id)
        renamed = False
        new_id = None
        try:
            if running:
                api.stop(old_id, timeout=stop_timeout)
            if current != aside:
                api.rename(old_id, aside)
                renamed = True
            new_id = create(original)
            if start:
                api.start(new_id)
        except BaseException:  # put the old container back as it was (each step best effort)
            for undo in ((lambda: api.remove_container(new_id, force=True)) if new_id else None,
                         (lambda: api.rename(old_id, original)) if renamed or current != original else None,
                         (lambda: api.start(old_id)) if running else None):
                if undo is not None:
                    try:
                        undo()
                    except Exception:
                        pass   # what is left is recognised by the next change (module docstring)
            raise
        try:
            api.remove_container(old_id, force=True)
        except Exception:
            pass   # the new one is in place: the old one, set aside, goes at the next change
        return new_id

    def _bridge_available(self, api: Any) -> bool:
        if self._has_bridge is None:
            self._has_bridge = any(n.get("Name") == "bridge" for n in api.networks(names=["bridge"]))
        return self._has_bridge

    def _supports_memory_limits(self, api: Any) -> bool:
        if self._memory_limits is None:
            self._memory_limits = bool(api.info().get("MemoryLimit", False))
        return self._memory_limits


# --------------------------------------------------------------------------- helpers

def _is_api_error(exc: BaseException) -> bool:
    """An error the engine answered with (keep the client) vs a transport failure (drop it)."""
    try:
        import docker.errors
    except ImportError:
        return False
    return isinstance(exc, docker.errors.APIError)


def _spec_of(labels: dict[str, str]) -> dict[str, Any]:
    try:
        spec = json.loads(labels.get(SPEC_LABEL) or "{}")
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}



def _pick_containers(entries: list[dict], only: str | None,
                     unmarked: list[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """Each function's container, keyed by its mark (function_containers decides which is the
    function's), and a note per function whose containers need one: several passing for its
    own (the one named ``functions-tui-NAME``, else the first by name, is reported; changes
    are refused), or one left aside by an interrupted recreate. A container named with our
    prefix but without a mark (or a mark blanked by hand) is reported in ``unmarked``; other
    unmarked containers are none of ours and not mentioned."""
    marked: dict[str, list[dict]] = {}
    for entry in entries:
        name = (entry.get("Labels") or {}).get(MARK)
        if not name:
            unmarked.extend(f"container {n}" for n in _names(entry) if n.startswith(CONTAINER_PREFIX))
            continue
        if only is None or name == only:
            marked.setdefault(name, []).append(entry)
    chosen: dict[str, dict] = {}
    notes: dict[str, str] = {}
    for name, listed in marked.items():
        live, aside = function_containers(listed, name)
        if not live and not aside:
            continue
        several = _ambiguous(live, aside)
        chosen[name] = (live or aside)[0]
        if several:
            notes[name] = (f"{len(several)} containers carry its mark ({_listed_names(several)}): changes refused"
                           " until one is removed")
        elif live and aside:
            notes[name] = f"container {_listed_names(aside)}: left by an interrupted recreate, removed by the next change"
    return chosen, notes


def _pick_marked(entries: list[dict], names_of, kind: str, own_name, only: str | None,
                 unmarked: list[str]) -> dict[str, dict]:
    """One listing entry per function, keyed by its mark.

    An entry without our mark (or with a mark blanked by hand) is reported in ``unmarked`` by
    its names and never managed. Of several entries for one function, the one under the
    function's own name (``own_name(name)``) wins over old, dangling builds.
    """
    chosen: dict[str, dict] = {}
    for entry in entries:
        names = names_of(entry)
        name = (entry.get("Labels") or {}).get(MARK)
        if not name:
            unmarked.extend(f"{kind} {n}" for n in names)
            continue
        if only is not None and name != only:
            continue
        if name not in chosen or own_name(name) in names:
            chosen[name] = entry
    return chosen

#: Image config an import's relabelling must leave as it was (everything but Labels that runs).
RELABEL_KEPT = ("Env", "Cmd", "Entrypoint", "WorkingDir", "ExposedPorts", "User", "Volumes", "StopSignal",
                "Healthcheck", "Shell")


#: The PATH Docker gives a process whose image sets none (the daemon's DefaultPathEnv); a build
#: writes it into the config of an image FROM one without PATH (``docker import`` makes those).
DOCKER_DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _relabel_changes(before: dict, after: dict) -> list[str]:
    """What a labels-only build changed besides labels (nothing, unless something is wrong).
    The default PATH a build adds to an image that had none is no change: its containers ran
    with that very PATH already."""
    changed = ["layers"] if (before.get("RootFS") or {}).get("Layers") != (after.get("RootFS") or {}).get("Layers") else []
    old, new = dict(before.get("Config") or {}), dict(after.get("Config") or {})
    if not any(e.startswith("PATH=") for e in old.get("Env") or []):
        new["Env"] = [e for e in new.get("Env") or [] if e != DOCKER_DEFAULT_PATH]
    return changed + [k for k in RELABEL_KEPT if (old.get(k) or None) != (new.get(k) or None)]


def _put_tag_back(api: Any, ref: str, previous: str | None) -> None:
    """Undo a relabelling (or a rebuild whose container could not be replaced): ``ref`` names
    ``previous`` again (or nothing); the new build, then unused and untagged, goes."""
    import docker.errors

    try:
        current = _image_id(api, ref)
        if current is None or current == previous:
            return
        if previous:
            repository, _, tag = ref.rpartition(":")
            api.tag(previous, repository, tag, force=True)
        else:
            api.remove_image(ref)
        _remove_quietly(api, current)
    except docker.errors.APIError:
        pass   # best effort: the journal reports the interrupted import


def _labels_of(inspected: dict) -> dict[str, str]:
    """The labels of an inspect result (image or container)."""
    return (inspected.get("Config") or {}).get("Labels") or {}


def _code_digest(labels: dict[str, str], container: dict | None, tagged_id: str | None) -> str | None:
    """Our digest label, unless the code changed out of band: the container records the image
    it was deployed from; the function's tag now naming another image (rebuilt or retagged by
    hand), or the container running another one, reads as ``docker:<short id>`` of that image."""
    recorded = labels.get(DEPLOYED_CODE) if container is not None else None
    if recorded:
        for current in (tagged_id, (container or {}).get("ImageID")):
            if current and current != recorded:
                return DRIFT_PREFIX + _short(current)
    return labels.get(DIGEST) or None


def _observed(component: str, name: str, image: dict | None, container: dict | None,
              tagged_id: str | None = None, note: str = "") -> ObservedFunction:
    """Raw values from labels: the container's when there is one (that is what is deployed).
    ``tagged_id``: the image the function's tag names now (marked or not); ``note``: appended
    to the summary."""
    source = container if container is not None else image
    assert source is not None
    labels = source.get("Labels") or {}
    spec = _spec_of(labels)
    if container is None:
        state = "built"
    else:
        state = "running" if container.get("State") == "running" else "stopped"
    values = {
        "runtime": spec.get("runtime"),
        "entry_point": spec.get("entry_point"),
        "memory": spec.get("memory"),
        "timeout": spec.get("timeout"),
        "env": dict(spec.get("env") or {}),
        "labels": dict(spec.get("labels") or {}),
        "code_digest": _code_digest(labels, container, tagged_id),
        "state": state,
    }
    image_id = (image or {}).get("Id") or (container or {}).get("ImageID") or ""
    resource_id = image_id or (container or {}).get("Id", "")
    return ObservedFunction(name=name, component=component, values=values, resource_id=resource_id,
                            marked=True, summary=_summary(image, container) + (f"; {note}" if note else ""),
                            env_hashed=True,
                            owner=labels.get(OWNER) or None)


def _summary(image: dict | None, container: dict | None) -> str:
    image_part = f"image {_short(image['Id'])}" if image else "image missing"
    if container is None:
        return f"{image_part} built, no container"
    ports = [f":{p['PublicPort']}" for p in container.get("Ports") or [] if p.get("PublicPort")]
    where = f" on {', '.join(ports)}" if ports else ""
    stale = " (older build)" if image and container.get("ImageID") not in (None, image["Id"]) else ""
    named = f" ({', '.join(_names(container))})" if _names(container) else ""
    return (f"container {_short(container['Id'])}{named} {container.get('Status') or container.get('State')}{where};"
            f" {image_part}{stale}")


def _short(identifier: str) -> str:
    return identifier.split(":", 1)[-1][:12]


def _image_id(api: Any, ref: str) -> str | None:
    import docker.errors

    try:
        return api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound:
        return None


def _remove_container_quietly(api: Any, container_id: str) -> None:
    """Remove a container of ours left aside by a recreate that made its successor; one gone
    already, or that will not go now, is no failure (it is recognised again next time)."""
    import docker.errors

    try:
        api.remove_container(container_id, force=True)
    except docker.errors.APIError:
        pass


def _remove_quietly(api: Any, image_id: str) -> None:
    import docker.errors

    try:
        api.remove_image(image_id)
    except docker.errors.APIError:
        pass  # still used by a container someone kept, or already gone: not ours to force


def build_context(spec: FunctionSpec, base: str, command: list[str] | None) -> io.BytesIO:
    """The build context as an in-memory tar: a generated Dockerfile and the source as ``src/``.

    Labels are passed to the build API (not as LABEL lines), which saves a build step and
    any quoting trouble.
    """
    from functions_tui.components.local_backends.base_image import is_local_base_ref

    # Every metadata line is one more builder step (~1 s each on the vfs driver), so our
    # local base images already carry WORKDIR and CMD, and env is one ENV line.
    lines = [f"FROM {base}", "COPY src/ /app/"]
    if not is_local_base_ref(base):
        lines.append("WORKDIR /app")
    env = {k: v for k, v in spec.env.items() if "\n" not in str(v)}
    env.update({"FUNCTION_NAME": spec.name, "FUNCTION_TARGET": spec.entry_point,
                "FUNCTION_TIMEOUT": str(spec.timeout)})
    lines.append("ENV " + " ".join(f"{k}={_dockerfile_quote(str(v))}" for k, v in env.items()))
    if command:
        lines.append("CMD " + json.dumps(command))
    dockerfile = ("\n".join(lines) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        src = tarfile.TarInfo("src")
        src.type = tarfile.DIRTYPE
        src.mode = 0o755
        tar.addfile(src)
        if spec.source:
            root = Path(spec.source)
            if not root.exists():
                raise ApplyError(f"docker: source {spec.source} of {spec.name} does not exist")
            # The function's package (registry.packaging): ignore files honoured, secrets out.
            try:
                listing = source_files(root)
            except PackagingError as exc:
                raise ApplyError(f"docker: cannot package {spec.name}: {exc}") from exc
            warn_sensitive(listing, spec.name, COMPONENT)
            tar.dereference = True  # a linked file goes in as the file, as in the zip uploads
            for folder in listing.folders():
                tar.add(str(root / folder), arcname=f"src/{folder}", recursive=False)
            for rel, path in listing.files:
                tar.add(str(path), arcname=f"src/{rel}", recursive=False)
    buf.seek(0)
    return buf


def _dockerfile_quote(value: str) -> str:
    """A double-quoted Dockerfile word: escape backslash, quote and ``$`` (no substitution)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
