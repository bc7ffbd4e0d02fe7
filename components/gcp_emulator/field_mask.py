"""Partial responses, as Google's APIs give them: the ``X-Goog-FieldMask`` system parameter.

The header holds a FieldMask in its JSON form: comma-separated paths of camelCase field names
joined by dots (``functions.name,functions.buildConfig.runtime,nextPageToken``). Only the named
fields are returned; a path through a repeated field applies to each of its elements, and a
path that names a map or a message returns all of it. See
https://cloud.google.com/apis/docs/system-parameters.
"""

from __future__ import annotations

from typing import Any

HEADER = "X-Goog-FieldMask"


def parse(mask: str) -> dict[str, Any]:
    """``"a.b,a.c,d"`` → ``{"a": {"b": {}, "c": {}}, "d": {}}`` (an empty dict: the whole field)."""
    tree: dict[str, Any] = {}
    for path in (p.strip() for p in mask.split(",")):
        if not path:
            continue
        node = tree
        parts = path.split(".")
        for i, part in enumerate(parts):
            if part in node and not node[part]:   # the whole field is kept already
                break
            node = node.setdefault(part, {})
            if i == len(parts) - 1:
                node.clear()                       # the whole field: narrower paths add nothing
    return tree


def apply(body: Any, mask: str) -> Any:
    """``body`` with only the fields ``mask`` names (every field when the mask is empty)."""
    tree = parse(mask)
    return _prune(body, tree) if tree else body


def _prune(value: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [_prune(item, tree) for item in value]
    if not isinstance(value, dict):
        return value
    return {key: _prune(value[key], sub) for key, sub in tree.items() if key in value}
