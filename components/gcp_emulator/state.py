"""The emulator's model of Cloud Functions v2: functions, long-running operations, uploads.

Everything is kept as the JSON the REST API speaks (camelCase, enum names), so the HTTP
layer (server.py) only routes and serialises. Operations settle lazily: whenever state is
read, pending operations whose delay has passed are applied. That keeps the emulator free of
timer threads and makes "never finishes" a plain flag.

Fault injection (for tests and the sandbox): a listing page that fails with an HTTP status
(optionally only a number of times), locations reported as ``unreachable``, operations that
never finish, operations that fail (a failed build leaves the function FAILED). Reached in-process through the ``EmulatorState`` methods or over HTTP through
``POST /_emulator/faults`` (see server.py).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from functions_tui.components.gcp_emulator import validation
from functions_tui.components.gcp_emulator.definition import ALL_LOCATIONS
from functions_tui.components.gcp_emulator.errors import HTTP_TO_STATUS, EmulatorError
from functions_tui.components.gcp_emulator.request_log import RequestLog
FUNCTION_TYPE = "type.googleapis.com/google.cloud.functions.v2.Function"
METADATA_TYPE = "type.googleapis.com/google.cloud.functions.v2.OperationMetadata"
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"

# As the real API: an omitted or larger page_size is replaced by 1,000.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000

def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _split_name(name: str) -> tuple[str, str, str]:
    """``projects/P/locations/L/functions/F`` → (P, L, F)."""
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations" or parts[4] != "functions":
        raise EmulatorError("INVALID_ARGUMENT", f"malformed function name {name!r}")
    return parts[1], parts[3], parts[5]


@dataclass
class ListFault:
    """Page ``page`` (1-based) of every listing fails with HTTP ``http``; ``times`` None = always."""

    page: int
    http: int = 500
    times: int | None = None


@dataclass
class Faults:
    failing_pages: dict[int, ListFault] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)
    stall_operations: bool = False
    fail_operations: str = ""  # non-empty: new operations finish with this error (a failed build)

    def to_dict(self) -> dict[str, Any]:
        return {
            "failing_pages": {str(p): {"http": f.http, "times": f.times} for p, f in self.failing_pages.items()},
            "unreachable": list(self.unreachable),
            "stall_operations": self.stall_operations,
            "fail_operations": self.fail_operations,
        }


@dataclass
class _Pending:
    """What a not-yet-done operation will do when it settles."""

    verb: str  # create | update | delete
    target: str
    result: dict[str, Any] | None
    ready_at: float  # wall-clock seconds; float("inf") = never
    upload: str | None = None
    error: str = ""  # the operation finishes with this error instead of its result


class EmulatorState:
    """All emulated Cloud Functions state, thread-safe, optionally persisted to a JSON file."""

    def __init__(self, operation_delay_s: float = 0.0, path: str | os.PathLike | None = None,
                 request_log: RequestLog | str | os.PathLike | None = None):
        self._lock = threading.RLock()
        self.operation_delay_s = float(operation_delay_s)
        self.path = Path(path) if path else None
        self.functions: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, dict[str, Any]] = {}  # object name -> {"size", "sha256", "generation", "data"?}
        self._last_generation = 0
        self._pending: dict[str, _Pending] = {}
        self.faults = Faults()
        self.requests = 0  # count of API calls served, so tests can check "one call per page"
        #: every request the server answered (server.py records them; ``request_log``: also a file)
        self.request_log = request_log if isinstance(request_log, RequestLog) else RequestLog(request_log)
        if self.path and self.path.exists():
            self.load(json.loads(self.path.read_text() or "{}"))

    # ------------------------------------------------------------------ fault injection
    def fail_list_page(self, page: int, http: int = 500, times: int | None = None) -> None:
        """Make page ``page`` (1-based) of listings fail with ``http``; ``times`` None = forever."""
        with self._lock:
            self.faults.failing_pages[int(page)] = ListFault(int(page), int(http), times)

    def set_unreachable(self, locations: list[str] | tuple[str, ...]) -> None:
        with self._lock:
            self.faults.unreachable = sorted(locations)

    def stall_operations(self, stalled: bool = True) -> None:
        """New operations never finish while set (the function stays DEPLOYING/DELETING)."""
        with self._lock:
            self.faults.stall_operations = bool(stalled)

    def fail_operations(self, message: str = "Build failed: injected by the emulator") -> None:
        """New create/update operations finish with an error and leave the function FAILED
        (like a failed build); deletes still succeed. An empty message turns this off."""
        with self._lock:
            self.faults.fail_operations = message

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = Faults()

    def set_faults(self, spec: dict[str, Any]) -> None:
        """Apply a JSON fault description (the body of ``POST /_emulator/faults``)."""
        with self._lock:
            if spec.get("clear"):
                self.faults = Faults()
            for page, f in (spec.get("failing_pages") or {}).items():
                f = f or {}
                self.fail_list_page(int(page), int(f.get("http", 500)), f.get("times"))
            if "unreachable" in spec:
                self.set_unreachable(list(spec["unreachable"] or []))
            if "stall_operations" in spec:
                self.stall_operations(bool(spec["stall_operations"]))
            if "fail_operations" in spec:
                self.fail_operations(str(spec["fail_operations"] or ""))
            if "operation_delay_s" in spec:
                self.operation_delay_s = float(spec["operation_delay_s"])

    def reset(self) -> None:
        """Forget every function, operation, upload and fault (between tests)."""
        with self._lock:
            self.functions.clear()
            self.operations.clear()
            self.uploads.clear()
            self._pending.clear()
            self.faults = Faults()
            self.requests = 0
            self.request_log.clear()
            self._save()

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            self._settle()
            return {
                "functions": copy.deepcopy(self.functions),
                "operations": {n: op for n, op in copy.deepcopy(self.operations).items() if op.get("done")},
                "uploads": {k: _stored_upload(v) for k, v in self.uploads.items()},
            }

    def load(self, data: dict[str, Any]) -> None:
        """Replace functions/operations/uploads with ``data`` (the shape of ``to_dict``)."""
        functions = {name: self._stored(name, fn) for name, fn in (data.get("functions") or {}).items()}
        with self._lock:
            self.functions = functions
            self.operations = dict(data.get("operations") or {})
            self.uploads = {k: dict(v) for k, v in (data.get("uploads") or {}).items()}
            self._last_generation = max([int(v.get("generation") or 0) for v in self.uploads.values()] + [0])
            self._pending.clear()
            self._save()

    def _save(self) -> None:
        if not self.path:
            return
        data = {
            "functions": self.functions,
            "operations": {n: op for n, op in self.operations.items() if op.get("done")},
            "uploads": {k: _stored_upload(v) for k, v in self.uploads.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a crash never leaves a half-written state file.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    # ------------------------------------------------------------------ out-of-band seeding
    def put_function(self, name: str, function: dict[str, Any]) -> dict[str, Any]:
        """Store a function directly, ACTIVE, no operation (seeding for benches and the sandbox);
        held to the API's definition as a request is (output-only fields may be seeded)."""
        function = self._stored(name, function)
        with self._lock:
            fn = self._complete_function(name, function, state="ACTIVE", created=None,
                                         previous=self.functions.get(name))
            self.functions[name] = fn
            self._save()
            return copy.deepcopy(fn)

    def put_functions(self, functions: dict[str, dict[str, Any]]) -> None:
        """Bulk form of put_function (one save)."""
        functions = {name: self._stored(name, fn) for name, fn in functions.items()}
        with self._lock:
            for name, function in functions.items():
                self.functions[name] = self._complete_function(name, function, state="ACTIVE", created=None,
                                                               previous=self.functions.get(name))
            self._save()

    # ------------------------------------------------------------------ API: functions
    def list_functions(self, project: str, location: str, page_size: int = 0,
                       page_token: str = "", filter: str = "") -> dict[str, Any]:  # noqa: A002 - API name
        with self._lock:
            self.requests += 1
            validation.check_location(location, listing=True)
            self._settle()
            matches = _compile_filter(filter)
            size = min(page_size if page_size > 0 else DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
            offset = self._decode_token(page_token)
            page_number = offset // size + 1
            fault = self.faults.failing_pages.get(page_number)
            if fault is not None and (fault.times is None or fault.times > 0):
                if fault.times is not None:
                    fault.times -= 1
                status = HTTP_TO_STATUS.get(fault.http, "INTERNAL")
                raise EmulatorError(status, f"injected failure of list page {page_number}", fault.http)
            unreachable = list(self.faults.unreachable)
            if location != ALL_LOCATIONS and location in unreachable:
                raise EmulatorError("UNAVAILABLE", f"location {location} is unreachable")
            prefix = f"projects/{project}/locations/"
            names = sorted(
                n for n in self.functions
                if n.startswith(prefix)
                and (location == ALL_LOCATIONS or n.split("/")[3] == location)
                and n.split("/")[3] not in unreachable
                and matches(self.functions[n])
            )
            chunk = names[offset:offset + size]
            body: dict[str, Any] = {"functions": [self.functions[n] for n in chunk]}
            if offset + size < len(names):
                body["nextPageToken"] = self._encode_token(offset + size)
            if location == ALL_LOCATIONS and unreachable:
                body["unreachable"] = unreachable
            # Serialised by the caller while we still hold the lock? No: hand out a deep copy.
            return copy.deepcopy(body)

    def _existing(self, name: str) -> dict[str, Any]:
        """Count the request, settle finished operations, and return the function or 404.
        (Called with the lock held.)"""
        self.requests += 1
        self._settle()
        validation.check_location(_split_name(name)[1])
        current = self.functions.get(name)
        if current is None:
            raise EmulatorError("NOT_FOUND", f"Resource '{name}' was not found")
        return current

    def get_function(self, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._existing(name))

    def create_function(self, parent: str, function_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            self._settle()
            project, location = parent.split("/")[1], parent.split("/")[3]
            validation.check_location(location)
            validation.check_function_id(function_id)
            body = validation.parse_function(body, creating=True)
            name = f"{parent}/functions/{function_id}"
            if name in self.functions:
                raise EmulatorError("ALREADY_EXISTS", f"Function {function_id} in region {location} "
                                    f"in project {project} already exists")
            upload = self._check_source(body)
            fn = self._complete_function(name, body, state="DEPLOYING", created=now_rfc3339())
            self.functions[name] = copy.deepcopy(fn)
            fn["state"] = "ACTIVE"
            op = self._start_operation(parent, "create", name, fn, upload)
            self._save()
            return op

    def patch_function(self, name: str, body: dict[str, Any], update_mask: str = "") -> dict[str, Any]:
        with self._lock:
            # A malformed request is refused before the function is looked up, as Google parses
            # the request before it reaches the function (400 before 404).
            body = validation.parse_function(body)
            paths = validation.parse_update_mask(update_mask)
            current = self._existing(name)
            self._refuse_if_busy(name)
            upload = self._check_source(body)
            updated = copy.deepcopy(current)
            if paths:
                for path in paths:
                    _copy_path(body, updated, path)
            else:  # no mask: every field present in the body replaces the stored one
                for key, value in body.items():
                    if key not in ("name", "state", "updateTime", "createTime"):
                        updated[key] = copy.deepcopy(value)
            updated = self._complete_function(name, updated, state="ACTIVE", created=current.get("createTime"),
                                              previous=current)
            current["state"] = "DEPLOYING"
            parent = name.rsplit("/functions/", 1)[0]
            op = self._start_operation(parent, "update", name, updated, upload)
            self._save()
            return op

    def delete_function(self, name: str) -> dict[str, Any]:
        with self._lock:
            current = self._existing(name)
            self._refuse_if_busy(name)
            current["state"] = "DELETING"
            parent = name.rsplit("/functions/", 1)[0]
            op = self._start_operation(parent, "delete", name, None, None)
            self._save()
            return op

    def generate_upload_url(self, parent: str, base_url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            project, location = parent.split("/")[1], parent.split("/")[3]
            validation.check_location(location)
            validation.parse_message(body or {}, "GenerateUploadUrlRequest", "generate_upload_url_request")
            obj = f"{project}-{location}-{secrets.token_hex(8)}.zip"
            self.uploads[obj] = {"size": 0, "sha256": "", "data": b"", "received": False}
            return {
                "uploadUrl": f"{base_url}/_emulator/uploads/{obj}",
                "storageSource": {"bucket": f"gcf-v2-uploads-{project}", "object": obj},
            }

    def generate_download_url(self, name: str, base_url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """generateDownloadUrl: a URL of the function's source archive (the object its
        buildConfig.source.storageSource names); FAILED_PRECONDITION when the emulator holds
        no bytes for it (a source from a repository, or state loaded without the archive)."""
        with self._lock:
            current = self._existing(name)
            validation.parse_message(body or {}, "GenerateDownloadUrlRequest", "generate_download_url_request")
            storage = ((current.get("buildConfig") or {}).get("source") or {}).get("storageSource") or {}
            obj = storage.get("object") or ""
            if not (obj and (self.uploads.get(obj) or {}).get("data")):
                raise EmulatorError("FAILED_PRECONDITION", f"function {name} has no source archive to download")
            return {"downloadUrl": f"{base_url}/_emulator/downloads/{obj}"}

    def download(self, obj: str) -> bytes | None:
        """The bytes a download URL serves (None: no such object)."""
        with self._lock:
            data = (self.uploads.get(obj) or {}).get("data")
            return bytes(data) if data else None

    def receive_upload(self, obj: str, data: bytes) -> int:
        """The PUT of a zip to an upload URL; returns the object's new generation (GCS answers
        it in the ``x-goog-generation`` header: microseconds, strictly increasing)."""
        with self._lock:
            if obj not in self.uploads:
                raise EmulatorError("NOT_FOUND", f"no upload URL was issued for {obj}")
            generation = max(time.time_ns() // 1000, self._last_generation + 1)
            self._last_generation = generation
            self.uploads[obj] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                 "generation": generation, "data": data, "received": True}
            self._save()
            return generation

    # ------------------------------------------------------------------ API: operations
    def get_operation(self, name: str) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            validation.check_location(name.split("/")[3])
            self._settle()
            if name not in self.operations:
                raise EmulatorError("NOT_FOUND", f"Operation '{name}' was not found")
            return copy.deepcopy(self.operations[name])

    def list_operations(self, parent: str) -> dict[str, Any]:
        with self._lock:
            self.requests += 1
            validation.check_location(parent.split("/")[3], listing=True)
            self._settle()
            ops = [copy.deepcopy(op) for n, op in sorted(self.operations.items()) if n.startswith(parent + "/")]
            return {"operations": ops}

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _stored(name: str, function: dict[str, Any]) -> dict[str, Any]:
        """A function to seed or load, held to the definition (output-only fields kept)."""
        validation.check_location(_split_name(name)[1])
        validation.check_function_id(_split_name(name)[2])
        return validation.parse_function(function, keep_output=True, where=name)

    def _refuse_if_busy(self, name: str) -> None:
        for pending in self._pending.values():
            if pending.target == name:
                raise EmulatorError("ABORTED", f"An operation on function {name} is already in progress. "
                                    "Please try again later.")

    def _check_source(self, body: dict[str, Any]) -> str | None:
        storage = ((body.get("buildConfig") or {}).get("source") or {}).get("storageSource") or {}
        obj = storage.get("object")
        if obj and obj in self.uploads and not self.uploads[obj].get("received", True):
            raise EmulatorError("FAILED_PRECONDITION", f"source object {obj} was never uploaded")
        return obj or None

    def _complete_function(self, name: str, body: dict[str, Any], state: str, created: str | None,
                           previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """The stored form: body plus the output-only fields the real API sets (``previous``:
        the function this replaces, whose source provenance holds while its source does)."""
        fn = copy.deepcopy(body)
        self._resolve_provenance(fn, previous)
        project, location, function_id = _split_name(name)
        stamp = now_rfc3339()
        fn["name"] = name
        fn["state"] = state
        fn["updateTime"] = stamp
        fn["createTime"] = created or fn.get("createTime") or stamp
        fn.setdefault("environment", "GEN_2")
        url = f"https://{location}-{project}.cloudfunctions.net/{function_id}"
        fn["url"] = url
        service = fn.setdefault("serviceConfig", {})
        service.setdefault("availableMemory", "256M")
        service.setdefault("timeoutSeconds", 60)
        service["service"] = f"projects/{project}/locations/{location}/services/{function_id}"
        service["uri"] = url
        return fn

    def _resolve_provenance(self, fn: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """``buildConfig.sourceProvenance``, output only, as the real API fills it: a copy of
        the build's source with the storage generation resolved (the uploaded object's). It
        changes exactly when the source does; a deploy that keeps the source (a runtime or
        label change) keeps it. Whatever a request sends for it is ignored."""
        build = fn.get("buildConfig")
        if not isinstance(build, dict):
            return
        build.pop("sourceProvenance", None)
        source = build.get("source") or {}
        before = (previous or {}).get("buildConfig") or {}
        if previous is not None and source == (before.get("source") or {}):
            if before.get("sourceProvenance"):
                build["sourceProvenance"] = copy.deepcopy(before["sourceProvenance"])
            return
        if source.get("storageSource"):
            storage = source["storageSource"]
            resolved = {k: storage[k] for k in ("bucket", "object") if storage.get(k)}
            uploaded = self.uploads.get(storage.get("object") or "") or {}
            generation = storage.get("generation") or uploaded.get("generation")
            if generation:
                resolved["generation"] = str(generation)  # int64 is a string in proto3 JSON
            build["sourceProvenance"] = {"resolvedStorageSource": resolved}
        elif source.get("repoSource"):
            build["sourceProvenance"] = {"resolvedRepoSource": copy.deepcopy(source["repoSource"])}
        elif source.get("gitUri"):
            build["sourceProvenance"] = {"gitUri": source["gitUri"]}

    def _start_operation(self, parent: str, verb: str, target: str, result: dict[str, Any] | None,
                         upload: str | None) -> dict[str, Any]:
        name = f"{parent}/operations/operation-{int(time.time() * 1000)}-{secrets.token_hex(6)}"
        op = {
            "name": name,
            "metadata": {"@type": METADATA_TYPE, "createTime": now_rfc3339(), "target": target,
                         "verb": verb, "apiVersion": "v2"},
            "done": False,
        }
        self.operations[name] = op
        if self.faults.stall_operations:
            ready_at = float("inf")
        else:
            ready_at = time.time() + self.operation_delay_s
        error = self.faults.fail_operations if verb != "delete" else ""
        self._pending[name] = _Pending(verb, target, result, ready_at, upload, error)
        self._settle()
        return copy.deepcopy(self.operations[name])

    def _settle(self) -> None:
        """Finish every pending operation whose time has come."""
        if not self._pending:
            return
        now = time.time()
        for name, pending in list(self._pending.items()):
            if pending.ready_at > now:
                continue
            del self._pending[name]
            op = self.operations[name]
            op["done"] = True
            op["metadata"]["endTime"] = now_rfc3339()
            if pending.error:
                fn = self.functions.get(pending.target)
                if fn is not None:
                    fn["state"] = "FAILED"
                    fn["stateMessages"] = [{"severity": "ERROR", "type": "BuildFailed", "message": pending.error}]
                    fn["updateTime"] = now_rfc3339()
                op["error"] = {"code": 3, "message": pending.error}
            elif pending.verb == "delete":
                self.functions.pop(pending.target, None)
                op["response"] = {"@type": EMPTY_TYPE}
            else:
                fn = pending.result or {}
                fn["updateTime"] = now_rfc3339()
                self.functions[pending.target] = fn
                op["response"] = {"@type": FUNCTION_TYPE, **copy.deepcopy(fn)}
        self._save()

    @staticmethod
    def _encode_token(offset: int) -> str:
        return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")

    @staticmethod
    def _decode_token(token: str) -> int:
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            kind, _, value = raw.partition(":")
            if kind != "offset":
                raise ValueError(raw)
            return max(0, int(value))
        except Exception:
            raise EmulatorError("INVALID_ARGUMENT", f"invalid page token {token!r}") from None


def _stored_upload(upload: dict[str, Any]) -> dict[str, Any]:
    """An upload as persisted (its bytes are not kept on disk)."""
    return {k: upload[k] for k in ("size", "sha256", "generation") if k in upload}


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: str) -> None:
    """Copy the field at dotted ``path`` from source into target (absent in source = cleared)."""
    keys = path.split(".")
    src: Any = source
    for key in keys[:-1]:
        src = (src or {}).get(key) if isinstance(src, dict) else None
    dst = target
    for key in keys[:-1]:
        dst = dst.setdefault(key, {})
    last = keys[-1]
    if isinstance(src, dict) and last in src:
        dst[last] = copy.deepcopy(src[last])
    else:
        dst.pop(last, None)


_FILTER_TERM = re.compile(r'^(labels\.[a-z0-9_-]+|name|state|buildConfig\.runtime)\s*(=|!=|:)\s*"?([^"]*)"?$')


def _compile_filter(text: str):
    """A small subset of AIP-160: terms ``field=value``, ``field!=value``, ``labels.KEY:*`` joined
    by AND, over ``labels.KEY``, ``name``, ``state`` and ``buildConfig.runtime``. Anything else
    is refused (INVALID_ARGUMENT) rather than silently ignored."""
    terms = [t.strip() for t in re.split(r"\s+AND\s+", text.strip()) if t.strip()] if text.strip() else []
    checks = []
    for term in terms:
        match = _FILTER_TERM.match(term)
        if not match:
            raise EmulatorError("INVALID_ARGUMENT", f"filter term {term!r} is not supported by the emulator "
                                "(supported: labels.KEY=VALUE, labels.KEY:*, name=, state=, buildConfig.runtime=, "
                                "joined by AND)")
        checks.append(match.groups())

    def value_of(fn: dict[str, Any], field_name: str) -> Any:
        if field_name.startswith("labels."):
            return (fn.get("labels") or {}).get(field_name[7:])
        if field_name == "buildConfig.runtime":
            return (fn.get("buildConfig") or {}).get("runtime")
        return fn.get(field_name)

    def matches(fn: dict[str, Any]) -> bool:
        for field_name, op, expected in checks:
            actual = value_of(fn, field_name)
            if op == ":" and (actual is None if expected == "*" else expected not in str(actual or "")):
                return False
            if op == "=" and str(actual) != expected:
                return False
            if op == "!=" and str(actual) == expected:
                return False
        return True

    return matches
