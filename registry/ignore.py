"""Ignore rules: fingerprint fields (or single env/label keys) whose differences are never drift.

Like Argo CD's ignoreDifferences or driftctl's ``.driftignore``. A rule is one of
``memory`` (a whole field), ``env.API_KEY`` / ``labels.team`` (one key of a mapping field),
or a glob over keys (``env.AWS_*``). Rules come from the function's spec (``spec.ignore``)
plus an optional global list from the config; both are applied to R, B and C alike before
they are compared, so an ignored difference can never make a pair drifted or conflicting.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Iterable, Mapping

from functions_tui.registry.fingerprint import FINGERPRINT_FIELDS

#: Fingerprint fields that are mappings, so ``field.KEY`` rules can address one key.
MAPPING_FIELDS = frozenset({"env", "labels"})


class IgnoreRuleError(ValueError):
    """A rule names no fingerprint field; the message lists the valid ones."""


@lru_cache(maxsize=4096)
def compile_rules(rules: tuple[str, ...]) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """(whole fields, (mapping field, key pattern) pairs). Cached: specs share few rule sets."""
    whole: set[str] = set()
    keyed: list[tuple[str, str]] = []
    for raw in rules:
        rule = str(raw).strip()
        if not rule:
            continue
        head, dot, key = rule.partition(".")
        if head not in FINGERPRINT_FIELDS:
            raise IgnoreRuleError(
                f"ignore rule {rule!r} names no field; use one of {', '.join(FINGERPRINT_FIELDS)}"
                " or env.NAME / labels.NAME")
        if not dot or key in ("", "*"):
            whole.add(head)
        elif head in MAPPING_FIELDS:
            keyed.append((head, key))
        else:
            raise IgnoreRuleError(f"ignore rule {rule!r}: only env and labels have keys")
    return frozenset(whole), tuple(keyed)


def validate_rules(rules: Iterable[str]) -> list[str]:
    """Problems with a list of rules (empty when all are valid), for config checks."""
    problems = []
    for rule in rules:
        try:
            compile_rules((rule,))
        except IgnoreRuleError as exc:
            problems.append(str(exc))
    return problems


def rules_for(spec_ignore: Iterable[str] | None, global_ignore: Iterable[str] | None = ()) -> tuple[str, ...]:
    """The combined rule set for one function, as a hashable tuple (for compile_rules' cache)."""
    if not global_ignore:
        return tuple(spec_ignore or ())
    return tuple(spec_ignore or ()) + tuple(global_ignore)


def apply_ignore(fingerprint: Mapping[str, Any] | None, rules: tuple[str, ...]) -> dict[str, Any] | None:
    """A copy of ``fingerprint`` without the ignored fields and keys (None stays None).

    Returns the input itself when there are no rules, so the common case costs nothing.
    """
    if fingerprint is None or not rules:
        return fingerprint  # type: ignore[return-value]
    whole, keyed = compile_rules(rules)
    out = {k: v for k, v in fingerprint.items() if k not in whole}
    for field_name, pattern in keyed:
        mapping = out.get(field_name)
        if not mapping:
            continue
        if any(ch in pattern for ch in "*?["):
            out[field_name] = {k: v for k, v in mapping.items() if not fnmatchcase(k, pattern)}
        elif pattern in mapping:
            out[field_name] = {k: v for k, v in mapping.items() if k != pattern}
    return out
