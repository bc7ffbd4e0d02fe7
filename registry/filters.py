"""The filter language of the app's filter bar and ``status --where``.

Plain words match a function's name (and, in the app, its state and summary), as before.
Words of the form ``field:value`` are qualifiers, like a search box's (GitHub's ``label:bug``,
k9s' ``-l app=web``), and each becomes a TinyDB query over the registry's stored functions:

    runtime:python3.12      the runtime
    entry:main.handler      the entry point
    memory:512  memory:>256  timeout:<=30   numbers, with =, >, >=, <, <=
    label:team=payments  label:team        a label's value, or that the label is there
    env:API_KEY                            that an environment variable is set (never its value:
                                           values are secrets, encrypted in the file)
    target:aws                             the function targets that component

Qualifiers are combined with "and". A word whose field is not one of these is a plain word
(a name may hold a colon). A qualifier that cannot be read (``memory:lots``) is an error that
says what the field takes.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable

from tinydb import Query
from tinydb.queries import QueryLike

NUMERIC = {"memory": "spec.memory in MB", "timeout": "spec.timeout in seconds"}
TEXT = {"runtime": "runtime", "entry": "entry_point"}
FIELDS = ("runtime", "entry", "memory", "timeout", "label", "env", "target")

_COMPARISONS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    (">=", operator.ge), ("<=", operator.le), (">", operator.gt), ("<", operator.lt), ("=", operator.eq))


class FilterError(ValueError):
    """A qualifier that cannot be read; the message names it and what it takes."""


@dataclass
class Filter:
    """``free``: the plain words, lower case, as one piece of text (``in sync`` is a state);
    ``query``: the qualifiers as one TinyDB query over the functions table (None: no
    qualifier); ``text``: as typed."""

    text: str = ""
    free: str = ""
    query: QueryLike | None = None

    @property
    def empty(self) -> bool:
        return not self.free and self.query is None


def parse(text: str) -> Filter:
    """``text`` as typed into the filter bar → a Filter; raises FilterError on a bad qualifier."""
    words: list[str] = []
    query: QueryLike | None = None
    for token in text.split():
        key, sep, value = token.partition(":")
        key = key.lower()
        if not sep or key not in FIELDS:
            words.append(token.lower())
            continue
        if not value:
            raise FilterError(f"filter {token!r}: give a value after the colon ({_takes(key)})")
        cond = _qualifier(key, value, token)
        query = cond if query is None else (query & cond)
    return Filter(text=text, free=" ".join(words), query=query)


def _qualifier(key: str, value: str, token: str) -> QueryLike:
    spec = Query().spec
    if key in TEXT:
        return spec[TEXT[key]] == value
    if key in NUMERIC:
        for symbol, compare in _COMPARISONS:
            if value.startswith(symbol):
                value = value[len(symbol):]
                break
        else:
            compare = operator.eq
        try:
            number = int(value)
        except ValueError:
            raise FilterError(f"filter {token!r}: {key} takes a whole number, optionally after "
                              f"=, >, >=, < or <= ({_takes(key)})") from None
        return spec[key].test(lambda stored, c=compare, n=number: isinstance(stored, (int, float)) and c(stored, n))
    if key == "label":
        name, has_value, wanted = value.partition("=")
        if not name or (has_value and not wanted):
            raise FilterError(f"filter {token!r}: give a label name, and a value after '=' if you want one "
                              f"({_takes(key)})")
        if has_value:
            return spec.labels.test(lambda labels, k=name, v=wanted: isinstance(labels, dict) and labels.get(k) == v)
        return spec.labels.test(lambda labels, k=name: isinstance(labels, dict) and k in labels)
    if key == "env":
        return spec.env.test(lambda env, k=value: isinstance(env, dict) and k in env)
    return targeting(value)   # target


def targeting(component: str) -> QueryLike:
    """The functions whose spec targets ``component``."""
    return Query().spec.targets.test(lambda targets, c=component: isinstance(targets, dict) and c in targets)


def on_component(component: str) -> QueryLike:
    """The functions the registry knows anything of on ``component``: a target or a record."""
    return targeting(component) | Query().components.test(
        lambda components, c=component: isinstance(components, dict) and c in components)


def _takes(key: str) -> str:
    return {"runtime": "runtime:python3.12", "entry": "entry:main.handler", "memory": "memory:>256",
            "timeout": "timeout:<=30", "label": "label:team=payments or label:team", "env": "env:API_KEY",
            "target": "target:aws"}[key]


def name_matches(name: str, free: str) -> bool:
    """The plain words are part of ``name`` (case-insensitive)."""
    return free in name.lower()
