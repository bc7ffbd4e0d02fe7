"""Hold a request to the API's definition (definition.py) before anything is stored.

``parse_function`` reads a Function as Google's JSON parser does (proto3 JSON: camelCase or
the proto's snake_case names, ints as numbers or decimal strings, enums as names or numbers,
null = unset) and returns it in the canonical form the API answers with (camelCase, int32 as
numbers, int64 as strings, enum names). Anything Google would refuse is an EmulatorError
(400 INVALID_ARGUMENT naming the field, in Google's wording): an unknown field, a value of the
wrong type, an unknown enum value, an int32 out of range, a malformed memory quantity, a
missing required field. The other checks here: function ids, locations, update masks and
query parameters. So nothing invalid is ever stored, and so never served back to a client
whose parser would then fail on every later listing.
"""

from __future__ import annotations

import re
from typing import Any

from functions_tui.components.gcp_emulator import definition as d
from functions_tui.components.gcp_emulator.errors import EmulatorError, invalid

_INT_RANGES = {d.I32: (-2**31, 2**31 - 1), d.I64: (-2**63, 2**63 - 1)}
_TYPE_NAMES = {d.S: "TYPE_STRING", d.I32: "TYPE_INT32", d.I64: "TYPE_INT64", d.BOOL: "TYPE_BOOL",
               d.TIME: "google.protobuf.Timestamp", d.MAP: "map<string, string>"}
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def snake(name: str) -> str:
    """``timeoutSeconds`` → ``timeout_seconds`` (Google names fields this way in its errors)."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def camel(name: str) -> str:
    """``timeout_seconds`` → ``timeoutSeconds`` (proto3 JSON accepts either spelling)."""
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


# ---------------------------------------------------------------------- bodies
def parse_function(body: Any, *, creating: bool = False, keep_output: bool = False,
                   where: str = "function") -> dict[str, Any]:
    """``body`` as a canonical Function, or EmulatorError. ``creating``: also what a create
    requires. ``keep_output``: keep output-only fields (a stored function being loaded or
    seeded); a request's are dropped, as Google ignores them."""
    fn = parse_message(body, "Function", where, keep_output)
    if creating:
        for path in d.REQUIRED_ON_CREATE:
            node: Any = fn
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node in (None, ""):
                field = ".".join([where, *map(snake, path)])
                raise invalid(field, f"Invalid value at '{field}': required when deploying a new function")
    return fn


def parse_message(value: Any, message: str, where: str, keep_output: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(where, f"Invalid value at '{where}' (type.googleapis.com/google.cloud.functions.v2."
                             f"{message}), {_show(value)}: expected a JSON object")
    fields = d.MESSAGES[message]
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in fields else camel(key)
        field = fields.get(name) if isinstance(key, str) else None
        if field is None:
            raise invalid(where, f"Invalid JSON payload received. Unknown name {_show(key)} at '{where}': "
                                 "Cannot find field.")
        path = f"{where}.{snake(name)}"
        if item is None:    # proto3 JSON: null leaves the field unset
            continue
        parsed = _parse_field(item, field, path, keep_output)
        if field.out and not keep_output:
            continue        # checked (Google's parser would refuse a bad one), then ignored (AIP-203)
        out[name] = parsed
    for name in d.REQUIRED.get(message, ()):
        if out.get(name) in (None, ""):
            field_path = f"{where}.{snake(name)}"
            raise invalid(field_path, f"Invalid value at '{field_path}': required")
    if message == "ServiceConfig" and "availableMemory" in out:
        _check_memory(out["availableMemory"], f"{where}.available_memory")
    if message == "BuildConfig" and out.get("runtime"):
        _check_runtime(out["runtime"], f"{where}.runtime")
    return out


def _parse_field(value: Any, field: d.Field, path: str, keep_output: bool) -> Any:
    if field.many:
        if not isinstance(value, list):
            raise invalid(path, f"Invalid value at '{path}', {_show(value)}: expected a JSON array")
        return [_parse_single(item, field.kind, f"{path}[{i}]", keep_output) for i, item in enumerate(value)]
    return _parse_single(value, field.kind, path, keep_output)


def _parse_single(value: Any, kind: str, path: str, keep_output: bool) -> Any:
    if kind in d.MESSAGES:
        return parse_message(value, kind, path, keep_output)
    if kind in d.ENUMS:
        return _parse_enum(value, kind, path)
    if kind == d.MAP:
        if not isinstance(value, dict):
            raise _bad(path, kind, value)
        for key, item in value.items():
            if not isinstance(item, str):
                raise _bad(f"{path}[{key}]", d.S, item)
        return dict(value)
    if kind in _INT_RANGES:
        number = _parse_int(value, kind, path)
        return str(number) if kind == d.I64 else number    # proto3 JSON writes int64 as a string
    if kind == d.BOOL:
        if not isinstance(value, bool):
            raise _bad(path, kind, value)
        return value
    if not isinstance(value, str):
        raise _bad(path, kind, value)
    if kind == d.TIME and not _TIMESTAMP.match(value):
        raise _bad(path, kind, value)
    return value


def _parse_int(value: Any, kind: str, path: str) -> int:
    # proto3 JSON: a number (an integral float too) or a decimal string, nothing else.
    if isinstance(value, bool):
        raise _bad(path, kind, value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if not isinstance(value, int):
        raise _bad(path, kind, value)
    low, high = _INT_RANGES[kind]
    if not low <= value <= high:
        raise invalid(path, f"Invalid value at '{path}' ({_TYPE_NAMES[kind]}), {value}: out of range "
                            f"[{low}, {high}]")
    return value


def _parse_enum(value: Any, enum: str, path: str) -> str:
    values = d.ENUMS[enum]
    if isinstance(value, str) and value in values:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(values):
        return values[value]
    raise invalid(path, f"Invalid value at '{path}' (type.googleapis.com/google.cloud.functions.v2.{enum}), "
                        f"{_show(value)}: one of {', '.join(values)}")


def _check_memory(value: str, path: str) -> None:
    if not d.MEMORY.match(value):
        raise invalid(path, f"Invalid value at '{path}', {_show(value)}: a memory quantity with an optional "
                            "unit k, M, G, Mi or Gi (256M, 512Mi, 1Gi; no unit means bytes)")


def _check_runtime(value: str, path: str) -> None:
    if value not in d.RUNTIMES:
        raise invalid(path, f"Invalid value at '{path}', {_show(value)}: not a Cloud Functions runtime "
                            f"(one of {', '.join(sorted(d.RUNTIMES))}; Lambda's python3.12 is python312 here)")


def _bad(path: str, kind: str, value: Any) -> EmulatorError:
    return invalid(path, f"Invalid value at '{path}' ({_TYPE_NAMES.get(kind, kind)}), {_show(value)}")


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


# ---------------------------------------------------------------------- names and masks
def check_location(location: str, *, listing: bool = False) -> None:
    """A real Cloud Functions region (``-``, all of them, only where listing allows it)."""
    if location == d.ALL_LOCATIONS:
        if not listing:
            raise invalid("parent", "Invalid location '-': a function must be created, read or changed in one "
                                    "location, not '-' (which only listing takes)")
        return
    if location not in d.LOCATIONS:
        raise invalid("parent", f"Invalid location {location!r}: not a Cloud Functions region "
                                "(see https://cloud.google.com/functions/docs/locations)")


def check_function_id(function_id: str) -> None:
    if not function_id:
        raise invalid("function_id", "Invalid value at 'function_id': functionId is required")
    if not d.FUNCTION_ID.match(function_id):
        raise invalid("function_id", f"invalid function id {function_id!r} (functionId): a lowercase letter "
                                     "first, then lowercase letters, digits and hyphens, ending with a letter or "
                                     "digit, at most 63 characters")


def parse_update_mask(mask: str) -> list[str]:
    """The mask's paths (camelCase), each a field of Function a request may set; a map field's
    path may go one key further (``labels.team``)."""
    paths = []
    for raw in mask.split(","):
        raw = raw.strip()
        if not raw:
            continue
        path = ".".join(camel(part) for part in raw.split("."))
        _check_mask_path(path, raw)
        paths.append(path)
    return paths


def _check_mask_path(path: str, raw: str) -> None:
    message = "Function"
    parts = path.split(".")
    for i, part in enumerate(parts):
        field = d.MESSAGES[message].get(part)
        if field is None:
            raise invalid("update_mask", f"invalid update mask path {raw!r}: {message} has no field {part!r}")
        if field.out:
            raise invalid("update_mask", f"invalid update mask path {raw!r}: {part!r} is output only")
        rest = parts[i + 1:]
        if not rest:
            return
        if field.kind == d.MAP and len(rest) == 1 and rest[0]:
            return
        if field.many or field.kind not in d.MESSAGES:
            raise invalid("update_mask", f"invalid update mask path {raw!r}: {part!r} has no fields to name")
        message = field.kind


def check_query(method: str, query: dict[str, str]) -> None:
    """Only the parameters the method defines (or a system parameter); ints must be int32."""
    allowed = d.QUERY_PARAMETERS[method]
    for key, value in query.items():
        if key in allowed:
            if key in d.INT32_PARAMETERS:
                _parse_int(value, d.I32, key)
            continue
        if key.lstrip("$") in d.SYSTEM_PARAMETERS or key in d.SYSTEM_PARAMETERS:
            continue
        raise invalid(key, f"Invalid JSON payload received. Unknown name {_show(key)}: Cannot bind query "
                           f"parameter. Field {key!r} could not be found in request message.")
