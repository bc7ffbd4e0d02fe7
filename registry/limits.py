"""What a provider accepts, declared once per component kind and checked at ``add``.

Each component module (components/aws.py, gcp.py, docker.py) declares ``LIMITS``, a
:class:`Limits` with its provider's documented bounds, without importing its SDK, so the
declaration loader can refuse a spec no target would take (``memory: 99999999``, runtime
``cobol85``, a 5,000-character name, a 50 MB env value) before anything is registered.
:func:`check` returns the problems as (field, problem) with the allowed values spelled out;
the loader turns the first into ``file:line: field: problem (allowed: ...)``.

Runtimes: one declaration names one runtime for all its targets, and Lambda spells a
version ``python3.12`` / ``nodejs20.x`` where Cloud Functions spells it ``python312`` /
``nodejs20``; a runtime is accepted when it names one the provider lists in either spelling
(:func:`runtime_key`), each adapter sends its provider's own spelling
(:func:`provider_runtime`), and the engine compares runtimes by that key, so a provider
reporting ``python312`` for a declared ``python3.12`` is in sync.

Labels: each provider's rules for user labels (GCP: lowercase keys and values, 63
characters, at most 64 labels with ours), checked at ``add`` like the rest.

A target that runs a prebuilt image (``targets.<c>.image``) takes no
runtime from the declaration, so none is checked there; whether a provider runs such images,
and how it spells their references, is its ``images`` / ``image_pattern``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Limits:
    """One provider's documented limits (None / empty: no limit of that kind)."""

    provider: str                                    # "AWS Lambda"
    memory_mb: tuple[int, int | None] | None = None  # (minimum, maximum or None)
    timeout_s: tuple[int, int] | None = None         # (minimum, maximum)
    #: A lower maximum timeout for event-driven functions (target ``trigger`` other than http).
    event_timeout_s: int | None = None
    runtimes: tuple[str, ...] = ()                   # the provider's runtime identifiers
    name_max: int | None = None
    name_pattern: str = ""                           # a full match of the function name
    name_rule: str = ""                              # name_pattern in words
    env_total_bytes: int | None = None               # names and values together (UTF-8)
    env_entry_bytes: int | None = None               # one NAME=value
    env_count: int | None = None
    env_key_pattern: str = ""
    env_key_rule: str = ""
    env_reserved: tuple[str, ...] = ()
    env_reserved_prefixes: tuple[str, ...] = ()
    label_key_pattern: str = ""                      # a full match of a user label's key
    label_value_pattern: str = ""                    # a full match of its value
    label_rule: str = ""                             # both patterns in words
    labels_max: int | None = None                    # user labels (ours take the rest)
    #: Whether the provider runs a prebuilt image a declaration names (``targets.<c>.image``),
    #: a full match of an acceptable reference, and that pattern in words.
    images: bool = False
    image_pattern: str = ""
    image_rule: str = ""
    source: str = ""                                 # where the numbers are documented


def runtime_key(runtime: str) -> str:
    """A runtime's identity across spellings: ``python3.12`` and ``python312`` → ``python312``,
    ``nodejs20.x`` and ``nodejs20`` → ``nodejs20``, ``go1.22`` → ``go122``."""
    key = runtime.strip().lower()
    if key.endswith(".x"):
        key = key[:-2]
    return key.replace(".", "")


def provider_runtime(limits: Limits, runtime: str) -> str:
    """``runtime`` as the provider spells it (``python3.12`` -> ``python312`` on Cloud
    Functions, ``nodejs20`` -> ``nodejs20.x`` on Lambda); unchanged when the provider lists no
    such runtime (``add`` refuses those, so only a value pulled from elsewhere gets here)."""
    key = runtime_key(runtime)
    return next((r for r in limits.runtimes if runtime_key(r) == key), runtime)


def _clip(value: str, width: int = 40) -> str:
    return repr(value) if len(value) <= width else repr(value[:width]) + f"... ({len(value)} characters)"


def _range(low: int, high: int | None, unit: str) -> str:
    return f"{low} to {high} {unit}" if high is not None else f"at least {low} {unit}"


def _size(value: Any) -> int:
    """UTF-8 bytes of a value (a str subclass such as registry.secrets.EnvRef is measured
    as the text it holds, without turning it into text)."""
    return len(value.encode() if isinstance(value, str) else str(value).encode())


def check(limits: Limits, component: str, *, name: str, runtime: str, memory: int, timeout: int,
          env: Mapping[str, str], target: Mapping[str, Any] | None = None,
          labels: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Every way the spec breaks ``limits``, as (field, problem) with the allowed values;
    ``field`` is ``name``, ``runtime``, ``memory``, ``timeout``, ``env``, ``env.KEY``,
    ``labels`` or ``labels.KEY``."""
    where = f"{component} ({limits.provider})"
    problems: list[tuple[str, str]] = []
    if limits.name_max is not None or limits.name_pattern:
        too_long = limits.name_max is not None and len(name) > limits.name_max
        if too_long or (limits.name_pattern and not re.fullmatch(limits.name_pattern, name)):
            problems.append(("name", f"{_clip(name)} is not a valid function name on {where} "
                                     f"(allowed: {limits.name_rule})"))
    if limits.runtimes and not (target or {}).get("image") \
            and runtime_key(runtime) not in {runtime_key(r) for r in limits.runtimes}:
        problems.append(("runtime", f"{_clip(runtime)} is not a runtime of {where} "
                                    f"(allowed: {', '.join(limits.runtimes)})"))
    if limits.memory_mb is not None:
        low, high = limits.memory_mb
        if memory < low or (high is not None and memory > high):
            problems.append(("memory", f"{memory} MB is outside what {where} allows "
                                       f"(allowed: {_range(low, high, 'MB')})"))
    if limits.timeout_s is not None:
        low, high = limits.timeout_s
        trigger = str((target or {}).get("trigger") or "http")
        note = ""
        if limits.event_timeout_s is not None and trigger != "http":
            high, note = limits.event_timeout_s, f" for an event trigger ({trigger})"
        elif limits.event_timeout_s is not None:
            note = f" for an http trigger; {limits.event_timeout_s} s for an event trigger"
        if timeout < low or timeout > high:
            problems.append(("timeout", f"{timeout} s is outside what {where} allows "
                                        f"(allowed: {low} to {high} s{note})"))
    for key, value in env.items():
        if limits.env_key_pattern and not re.fullmatch(limits.env_key_pattern, key):
            problems.append((f"env.{key}", f"{_clip(key)} is not a valid variable name on {where} "
                                           f"(allowed: {limits.env_key_rule})"))
        elif key in limits.env_reserved or any(key.startswith(p) for p in limits.env_reserved_prefixes):
            reserved = ", ".join([*limits.env_reserved, *(p + "*" for p in limits.env_reserved_prefixes)])
            problems.append((f"env.{key}", f"{key} is reserved by {where} "
                                           f"(allowed: any other name; reserved: {reserved})"))
        elif limits.env_entry_bytes is not None:
            size = len(key.encode()) + 1 + _size(value)
            if size > limits.env_entry_bytes:
                problems.append((f"env.{key}", f"{key}=value is {size} bytes, more than {where} takes "
                                               f"(allowed: at most {limits.env_entry_bytes} bytes)"))
    if limits.env_count is not None and len(env) > limits.env_count:
        problems.append(("env", f"{len(env)} variables are more than {where} takes "
                                f"(allowed: at most {limits.env_count})"))
    if limits.env_total_bytes is not None:
        total = sum(len(k.encode()) + _size(v) for k, v in env.items())
        if total > limits.env_total_bytes:
            problems.append(("env", f"{total} bytes of names and values are more than {where} takes "
                                    f"(allowed: at most {limits.env_total_bytes} bytes in all)"))
    problems += _label_problems(limits, where, labels or {})
    return problems


def _label_problems(limits: Limits, where: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for key, value in labels.items():
        key, value = str(key), str(value)
        if limits.label_key_pattern and not re.fullmatch(limits.label_key_pattern, key):
            problems.append((f"labels.{key}", f"the key {_clip(key)} is not a valid label key on {where} "
                                              f"(allowed: {limits.label_rule})"))
        elif limits.label_value_pattern and not re.fullmatch(limits.label_value_pattern, value):
            problems.append((f"labels.{key}", f"{_clip(value)} is not a valid label value on {where} "
                                              f"(allowed: {limits.label_rule})"))
    if limits.labels_max is not None and len(labels) > limits.labels_max:
        problems.append(("labels", f"{len(labels)} labels are more than {where} takes beside functions-tui's "
                                   f"own (allowed: at most {limits.labels_max})"))
    return problems


def image_problem(limits: Limits, component: str, image: str) -> str:
    """Why ``component`` cannot run the prebuilt ``image`` a declaration names, or ""."""
    where = f"{component} ({limits.provider})"
    if not limits.images:
        return (f"{where} builds each function from its source and runs no prebuilt image "
                f"(remove image, or run the image on a component that takes one)")
    if limits.image_pattern and not re.fullmatch(limits.image_pattern, image):
        return f"{_clip(image, 80)} is not an image reference {where} takes (allowed: {limits.image_rule})"
    return ""


def describe(limits: Limits) -> dict[str, str]:
    """The limits in words, one entry per kind (for docs and ``--help``-like listings)."""
    out: dict[str, str] = {}
    if limits.memory_mb:
        out["memory"] = _range(*limits.memory_mb, "MB")
    if limits.timeout_s:
        out["timeout"] = f"{limits.timeout_s[0]} to {limits.timeout_s[1]} s" + (
            f" (event triggers: at most {limits.event_timeout_s} s)" if limits.event_timeout_s else "")
    if limits.runtimes:
        out["runtime"] = ", ".join(limits.runtimes)
    if limits.name_rule:
        out["name"] = limits.name_rule
    if limits.label_rule:
        out["labels"] = limits.label_rule + (f"; at most {limits.labels_max}" if limits.labels_max else "")
    env = [f"at most {limits.env_total_bytes} bytes in all" if limits.env_total_bytes else "",
           f"at most {limits.env_count} variables" if limits.env_count else "",
           f"NAME=value at most {limits.env_entry_bytes} bytes" if limits.env_entry_bytes else "",
           f"names: {limits.env_key_rule}" if limits.env_key_rule else "",
           "reserved: " + ", ".join([*limits.env_reserved, *(p + "*" for p in limits.env_reserved_prefixes)])
           if limits.env_reserved or limits.env_reserved_prefixes else ""]
    if any(env):
        out["env"] = "; ".join(e for e in env if e)
    return out
