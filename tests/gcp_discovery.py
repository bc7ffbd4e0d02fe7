"""Google's own definition of the Cloud Functions v2 API, and a checker that holds JSON to it.

The definition is the discovery document ``cloudfunctions.v2.json`` that google-api-python-client
ships (a test-only dependency; it is read from the installed package, never copied here).

``method_for(verb, path)`` finds the discovery method a request's URL calls; ``query_problems``,
``body_problems`` and ``response_problems`` list what in a request or response breaks the
document (an empty list: it conforms). The schema checker reads the discovery "schemas"
directly: ``$ref``, ``type`` (string, integer, number, boolean, object, array, any),
``format`` (int32, uint32, int64, uint64, google-datetime, google-duration, google-fieldmask,
byte), ``enum``, ``properties`` (no other field allowed), ``additionalProperties``, ``items``,
``readOnly``.

Two readings, as Google's servers have them (the protobuf JSON mapping,
https://protobuf.dev/programming-guides/json/): a REQUEST is parsed leniently (an int as a
number or a decimal string, an int64 as either, an enum as its name or number, null for unset,
the proto's snake_case field names); a RESPONSE is what Google prints: camelCase, int32 as
numbers, int64 as strings, enum names, no nulls.

What the document says only in words is read from its words where it can be
(``documented_rule_problems``): availableMemory's units, functionId's characters and length,
"Required." fields. What it does not say at all (the list of regions; the error body, which
follows https://cloud.google.com/apis/design/errors) is written here by hand, with its source.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from googleapiclient.discovery_cache import get_static_doc

SERVICE, VERSION = "cloudfunctions", "v2"

#: google.rpc.Code → the HTTP status Google answers with (https://cloud.google.com/apis/design/errors).
RPC_HTTP = {"OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
            "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "RESOURCE_EXHAUSTED": 429,
            "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501,
            "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500, "UNAUTHENTICATED": 401}
RPC_NUMBER = {name: i for i, name in enumerate(RPC_HTTP)}

#: The ``@type`` of an Operation's metadata / response → the discovery schema that describes it
#: (the proto's google.longrunning.operation_info; Empty is the response of a delete).
ANY_TYPES = {
    "type.googleapis.com/google.cloud.functions.v2.OperationMetadata": "GoogleCloudFunctionsV2OperationMetadata",
    "type.googleapis.com/google.cloud.functions.v2.Function": "Function",
    "type.googleapis.com/google.protobuf.Empty": None,
}

_INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
               "uint64": (0, 2**64 - 1)}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")


@functools.lru_cache(maxsize=None)
def document() -> dict[str, Any]:
    text = get_static_doc(SERVICE, VERSION)
    assert text, f"google-api-python-client ships no {SERVICE}.{VERSION}.json"
    return json.loads(text)


def schema(name: str) -> dict[str, Any]:
    return document()["schemas"][name]


# ---------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    id: str
    http_method: str
    flat_path: str
    path: str
    parameters: dict[str, Any]
    request: str | None
    response: str | None
    description: str = ""


@functools.lru_cache(maxsize=None)
def methods() -> tuple[Method, ...]:
    found: list[Method] = []

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for m in resource.get("methods", {}).values():
                found.append(Method(m["id"], m["httpMethod"], m["flatPath"], m["path"], m.get("parameters", {}),
                                    (m.get("request") or {}).get("$ref"), (m.get("response") or {}).get("$ref"), m.get("description", "")))
            walk(resource.get("resources", {}))

    walk(document()["resources"])
    return tuple(found)


def method_for(http_method: str, url_path: str) -> Method | None:
    """The method whose flat path template (``v2/projects/{projectsId}/…``) matches the URL path,
    its path parameters held to their ``pattern``."""
    for method in methods():
        if method.http_method != http_method:
            continue
        regex = "^/" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(method.flat_path)) + "$"
        if not re.match(regex, url_path):
            continue
        # {+name} / {+parent}: the part of the URL the reserved expansion covers, against its pattern.
        template = re.match(r"^(.*)\{\+(\w+)\}(.*)$", method.path)
        if template:
            prefix, param, suffix = template.groups()
            value = url_path[len("/" + prefix):len(url_path) - len(suffix)]
            pattern = method.parameters[param].get("pattern")
            if pattern and not re.match(pattern, value):
                continue
        return method
    return None


def query_problems(method: Method, query: dict[str, str]) -> list[str]:
    """Each query parameter must be one the method defines (``location: query``) or a system
    parameter (the document's top-level ``parameters``, also spelt with a leading ``$``), and
    hold a value of its type."""
    problems = []
    system = document()["parameters"]
    for key, value in query.items():
        spec = method.parameters.get(key)
        if spec is not None and spec.get("location") != "query":
            spec = None
        if spec is None:
            spec = system.get(key) or system.get(key[1:] if key.startswith("$") else "")
        if spec is None:
            problems.append(f"query parameter {key!r} is not defined for {method.id}")
            continue
        if (key.lstrip("$")) == "alt":
            # The client asks for numeric enums with ``json;enum-encoding=int`` (a media-type
            # parameter, https://cloud.google.com/apis/docs/system-parameters): the format itself
            # must be one of the document's.
            media, _, extra = value.partition(";")
            if media not in spec["enum"] or extra not in ("", "enum-encoding=int"):
                problems.append(f"query parameter {key}={value!r} is not one of {spec['enum']}")
            continue
        problems += [f"query parameter {p}" for p in _check_scalar(value, spec, key, request=True, text=True)]
        if spec.get("format") == "google-fieldmask" and method.request:
            problems += mask_problems(value, method.request)
    return problems


def mask_problems(mask: str, schema_name: str) -> list[str]:
    """Each path of a FieldMask (comma separated) names a field a request may set: through
    messages, at most one key into a map. Its JSON form is camelCase; the proto's snake_case
    names are read too, as Google's servers read them in a field's name."""
    problems = []
    for path in filter(None, (p.strip() for p in mask.split(","))):
        node: dict[str, Any] = schema(schema_name)
        parts = [_camel(part) for part in path.split(".")]
        for i, part in enumerate(parts):
            prop = (node.get("properties") or {}).get(part)
            if prop is None:
                problems.append(f"update mask path {path!r}: no field {part!r}")
                break
            if prop.get("readOnly"):
                problems.append(f"update mask path {path!r}: {part!r} is output only")
                break
            rest = parts[i + 1:]
            if not rest:
                break
            if "additionalProperties" in prop and len(rest) == 1:
                break
            if "$ref" not in prop:
                problems.append(f"update mask path {path!r}: {part!r} has no fields")
                break
            node = schema(prop["$ref"])
    return problems


def response_mask_problems(mask: str, schema_name: str) -> list[str]:
    """Each path of a partial-response mask (``X-Goog-FieldMask`` / ``fields``) names a field of
    the response: through messages and the elements of arrays (output-only fields included)."""
    problems = []
    for path in filter(None, (p.strip() for p in mask.split(","))):
        node: dict[str, Any] = schema(schema_name)
        for part in path.split("."):
            prop = (node.get("properties") or {}).get(part)
            if prop is None:
                problems.append(f"field mask path {path!r}: no field {part!r}")
                break
            prop = prop.get("items", prop)
            node = schema(prop["$ref"]) if "$ref" in prop else {}
    return problems


# ---------------------------------------------------------------------- bodies
def body_problems(method: Method, body: Any, *, output_only_allowed: bool = True) -> list[str]:
    """A request body against the method's request schema (none: no body)."""
    if method.request is None:
        return [] if body in (None, {}) else [f"{method.id} takes no body, got {body!r}"]
    return check(body if body is not None else {}, {"$ref": method.request}, "body", request=True,
                 output_only_allowed=output_only_allowed)


def response_problems(method: Method, status: int, body: Any) -> list[str]:
    """A response: the method's response schema (an Operation typed all the way down) on
    success, Google's error body otherwise."""
    if status != 200:
        return error_problems(status, body)
    if method.response is None:
        return [] if body in (None, {}) else [f"{method.id} answers no body, got {body!r}"]
    if method.response == "Operation":
        return operation_problems(body)
    return check(body, {"$ref": method.response}, method.response, request=False)


def operation_problems(op: Any, where: str = "Operation") -> list[str]:
    """A long-running operation: its shape, then ``metadata`` and ``response`` as the types
    their ``@type`` names (AIP-151: metadata always; once done, exactly one of error/response)."""
    problems = check(op, {"$ref": "Operation"}, where, request=False)
    if problems or not isinstance(op, dict):
        return problems
    if not op.get("name", "").count("/operations/"):
        problems.append(f"{where}.name {op.get('name')!r} does not end in operations/ID")
    for key in ("metadata", "response"):
        if key in op:
            problems += any_problems(op[key], f"{where}.{key}")
    if "metadata" not in op:
        problems.append(f"{where} has no metadata")
    elif op["metadata"].get("@type") != "type.googleapis.com/google.cloud.functions.v2.OperationMetadata":
        problems.append(f"{where}.metadata is a {op['metadata'].get('@type')}, not the v2 OperationMetadata")
    finished = [k for k in ("error", "response") if k in op]
    if op.get("done") and len(finished) != 1:
        problems.append(f"{where} is done with {finished or 'neither error nor response'}")
    if not op.get("done") and finished:
        problems.append(f"{where} is not done but has {finished}")
    if "error" in op and isinstance(op["error"], dict):
        code = op["error"].get("code")
        if code not in RPC_NUMBER.values() or code == 0:
            problems.append(f"{where}.error.code {code!r} is not a google.rpc.Code")
    return problems


def any_problems(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict) or "@type" not in value:
        return [f"{where} has no @type"]
    if value["@type"] not in ANY_TYPES:
        return [f"{where}: unknown @type {value['@type']}"]
    rest = {k: v for k, v in value.items() if k != "@type"}
    target = ANY_TYPES[value["@type"]]
    if target is None:
        return [] if not rest else [f"{where}: Empty has fields {sorted(rest)}"]
    return check(rest, {"$ref": target}, where, request=False)


def error_problems(status: int, body: Any) -> list[str]:
    """``{"error": {"code": HTTP, "message", "status", "details"?}}`` with code and status paired
    as Google pairs them."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"error body is not {{'error': {{...}}}}: {body!r}"]
    error = body["error"]
    problems = [f"error has unknown field {k!r}" for k in error if k not in ("code", "message", "status", "details")]
    if error.get("code") != status:
        problems.append(f"error.code {error.get('code')!r} is not the HTTP status {status}")
    if not isinstance(error.get("message"), str) or not error.get("message"):
        problems.append("error.message is missing")
    if RPC_HTTP.get(error.get("status")) != status:
        problems.append(f"error.status {error.get('status')!r} does not go with HTTP {status}")
    for i, detail in enumerate(error.get("details") or []):
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).startswith("type.googleapis.com/"):
            problems.append(f"error.details[{i}] has no @type")
    return problems


# ---------------------------------------------------------------------- the schema checker
def check(value: Any, spec: dict[str, Any], where: str, *, request: bool,
          output_only_allowed: bool = True) -> list[str]:
    """What in ``value`` breaks the discovery schema ``spec``."""
    if "$ref" in spec:
        spec = {**schema(spec["$ref"]), **{k: v for k, v in spec.items() if k != "$ref"}}
    if value is None:
        return [] if request else [f"{where}: null (Google never prints null)"]
    kind = spec.get("type")
    if kind == "any":
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        problems: list[str] = []
        properties = spec.get("properties")
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if properties is not None or extra is None:
                prop = (properties or {}).get(key)
                if prop is None and request:
                    prop = (properties or {}).get(_camel(key))   # proto3 JSON takes the proto's names too
                if prop is None:
                    problems.append(f"{where}: unknown field {key!r}")
                    continue
                if prop.get("readOnly") and request and not output_only_allowed:
                    problems.append(f"{where}.{key}: output only, not for a request")
                problems += check(item, prop, f"{where}.{key}", request=request,
                                  output_only_allowed=output_only_allowed)
            else:
                problems += check(item, extra, f"{where}[{key!r}]", request=request,
                                  output_only_allowed=output_only_allowed)
        return problems
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {value!r}"]
        return [p for i, item in enumerate(value)
                for p in check(item, spec["items"], f"{where}[{i}]", request=request,
                               output_only_allowed=output_only_allowed)]
    return _check_scalar(value, spec, where, request=request)


def _check_scalar(value: Any, spec: dict[str, Any], where: str, *, request: bool, text: bool = False) -> list[str]:
    """One value of a scalar type. ``text``: a query parameter (always a string in the URL)."""
    kind, fmt = spec.get("type"), spec.get("format")
    bad = [f"{where}: {value!r} is not a valid {fmt or kind}"]
    if text:
        if kind == "boolean":
            return [] if value in ("true", "false") else bad
        if kind == "integer":
            kind, value = "string", value   # checked as an int64-style decimal string below
            fmt = fmt or "int32"
    if kind == "boolean":
        return [] if isinstance(value, bool) else bad
    if kind == "integer" or (kind == "string" and fmt in _INT_RANGES):
        if isinstance(value, bool):
            return bad
        if not request:
            # Google prints 32-bit integers as JSON numbers and 64-bit ones as strings.
            wanted = str if kind == "string" else int
            if not isinstance(value, wanted) or (wanted is str and not re.fullmatch(r"-?\d+", value)):
                return bad
        number = _as_int(value)
        if number is None:
            return bad
        low, high = _INT_RANGES[fmt or "int32"]
        return [] if low <= number <= high else [f"{where}: {value!r} is out of the {fmt} range"]
    if kind == "number":
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else bad
    if kind != "string":
        return [f"{where}: the checker does not know type {kind!r}"]
    enum = spec.get("enum")
    if enum is not None:
        if value in enum:
            return []
        if request and not text and isinstance(value, int) and not isinstance(value, bool) \
                and 0 <= value < len(enum):
            return []                                     # proto3 JSON: an enum's number
        return [f"{where}: {value!r} is not one of {enum}"]
    if not isinstance(value, str):
        return bad
    if fmt == "google-datetime" and not _DATETIME.match(value):
        return bad
    if fmt == "google-duration" and not _DURATION.match(value):
        return bad
    if fmt == "byte":
        try:
            base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_") + "=" * (-len(value) % 4))
        except ValueError:
            return bad
    return []


def _as_int(value: Any) -> int | None:
    """proto3 JSON's integers: a number (an integral float too) or a decimal string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


# ---------------------------------------------------------------------- the document's words
def documented_rule_problems(method: Method, query: dict[str, str], body: Any) -> list[str]:
    """The rules the document states in its descriptions rather than its types:
    ``ServiceConfig.availableMemory`` ("Supported units are k, M, G, Mi, Gi. If no unit is
    supplied the value is interpreted as bytes"), create's ``functionId`` ("should be 4-63
    characters, and valid characters are /a-z-/"), fields whose description begins "Required."
    and BuildConfig.runtime ("Required when deploying a new function")."""
    problems: list[str] = []
    if body is not None and not isinstance(body, dict):
        return problems         # the schema check already refuses a body that is not an object
    body = _camel_keys(body)    # proto3 JSON: the proto's own field names are read too
    if method.id.endswith("functions.create"):
        description = method.parameters["functionId"]["description"]
        low, high = map(int, re.search(r"(\d+)-(\d+) characters", description).groups())
        chars = re.search(r"valid characters are /(.+?)/", description).group(1)
        fid = query.get("functionId", "")
        # Digits are left out of the description's class, yet Google's own samples use them
        # (function-1); the minimum of 4 is not Google's practice (Firebase deploys "api").
        if not fid or len(fid) > high or not re.fullmatch(f"[{chars}0-9]+", fid):
            problems.append(f"functionId {fid!r} breaks '{description}'")
        del low
        build = (body or {}).get("buildConfig")
        runtime = build.get("runtime") if isinstance(build, dict) else None
        if "Required when deploying a new function" in schema("BuildConfig")["properties"]["runtime"]["description"] \
                and not runtime:
            problems.append("buildConfig.runtime is required when deploying a new function")
    if isinstance(body, dict) and method.request:
        problems += _required_problems(body, method.request, "body")
        service = body.get("serviceConfig")
        memory = service.get("availableMemory") if isinstance(service, dict) else None
        if memory is not None and not memory_pattern().match(str(memory)):
            problems.append(f"serviceConfig.availableMemory {memory!r} is not a quantity in "
                            f"{', '.join(memory_units())} or bytes")
    return problems


def _camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def memory_units() -> list[str]:
    text = schema("ServiceConfig")["properties"]["availableMemory"]["description"]
    return [u.strip() for u in re.search(r"Supported units are ([^.]+)\.", text).group(1).split(",")]


def memory_pattern() -> re.Pattern[str]:
    units = "|".join(sorted(map(re.escape, memory_units()), key=len, reverse=True))
    return re.compile(rf"^(?:\d+(?:\.\d*)?|\.\d+)(?:{units})?$")


def _required_problems(value: Any, schema_name: str, where: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    problems = []
    for key, prop in (schema(schema_name).get("properties") or {}).items():
        if prop.get("description", "").startswith("Required.") and value.get(key) in (None, ""):
            problems.append(f"{where}.{key} is required")
        item = value.get(key)
        ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref")
        if ref and isinstance(item, list):
            for i, element in enumerate(item):
                problems += _required_problems(element, ref, f"{where}.{key}[{i}]")
        elif ref:
            problems += _required_problems(item, ref, f"{where}.{key}")
    return problems
