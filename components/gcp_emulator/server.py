"""HTTP front of the Cloud Functions v2 emulator: routes the REST surface to EmulatorState.

Served paths (what ``google.cloud.functions_v2.FunctionServiceClient(transport="rest")``
calls, see its ``transports/rest_base.py``):

  GET    /v2/projects/P/locations/L/functions            list (pageSize, pageToken; L may be "-")
  POST   /v2/projects/P/locations/L/functions?functionId create → Operation
  POST   /v2/projects/P/locations/L/functions:generateUploadUrl
  GET    /v2/projects/P/locations/L/functions/F          get
  POST   /v2/projects/P/locations/L/functions/F:generateDownloadUrl   → {downloadUrl} of its source archive
  PATCH  /v2/projects/P/locations/L/functions/F?updateMask → Operation
  DELETE /v2/projects/P/locations/L/functions/F          → Operation
  GET    /v2/projects/P/locations/L/operations[/ID]      operations
  PUT    /_emulator/uploads/OBJECT                        the upload URL (accepts a zip; answers
                                                          x-goog-generation as Cloud Storage does)
  GET    /_emulator/downloads/OBJECT                      the download URL (the zip uploaded there)

Every answer honours the ``X-Goog-FieldMask`` header and the ``fields`` system parameter
(partial responses, field_mask.py). Requests are held to the API's definition first (query
parameters here, bodies in state.py; both through validation.py), and every request is
recorded in ``state.request_log`` (request_log.py).

The upload URL answers as a Cloud Storage signed URL for a PUT with ``content-type:
application/zip`` and no credentials (what generateUploadUrl's documentation asks): another
content type or an ``Authorization`` header is refused with 403 and Cloud Storage's XML error.

Control surface (not part of the Google API): ``GET /_emulator/health``, ``POST
/_emulator/reset``, ``POST /_emulator/faults`` (JSON, see EmulatorState.set_faults),
``GET /_emulator/state`` and ``PUT /_emulator/state`` (dump / load all functions).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from functions_tui.components.gcp_emulator import field_mask, validation
from functions_tui.components.gcp_emulator.definition import QUERY_PARAMETERS
from functions_tui.components.gcp_emulator.errors import EmulatorError
from functions_tui.components.gcp_emulator.state import EmulatorState

UPLOAD_CONTENT_TYPE = "application/zip"

_LOC = r"projects/[^/]+/locations/[^/]+"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(rf"^/v2/({_LOC})/functions$"), "list_functions"),
    ("POST", re.compile(rf"^/v2/({_LOC})/functions$"), "create_function"),
    ("POST", re.compile(rf"^/v2/({_LOC})/functions:generateUploadUrl$"), "generate_upload_url"),
    ("GET", re.compile(rf"^/v2/({_LOC}/functions/[^/:]+)$"), "get_function"),
    ("POST", re.compile(rf"^/v2/({_LOC}/functions/[^/:]+):generateDownloadUrl$"), "generate_download_url"),
    ("PATCH", re.compile(rf"^/v2/({_LOC}/functions/[^/:]+)$"), "patch_function"),
    ("DELETE", re.compile(rf"^/v2/({_LOC}/functions/[^/:]+)$"), "delete_function"),
    ("GET", re.compile(rf"^/v2/({_LOC}/operations/[^/]+)$"), "get_operation"),
    ("GET", re.compile(rf"^/v2/({_LOC})/operations$"), "list_operations"),
    ("PUT", re.compile(r"^/_emulator/uploads/([^/]+)$"), "put_upload"),
    ("GET", re.compile(r"^/_emulator/downloads/([^/]+)$"), "get_download"),
    ("GET", re.compile(r"^/_emulator/health$"), "health"),
    ("POST", re.compile(r"^/_emulator/reset$"), "reset"),
    ("POST", re.compile(r"^/_emulator/faults$"), "faults"),
    ("GET", re.compile(r"^/_emulator/state$"), "dump_state"),
    ("PUT", re.compile(r"^/_emulator/state$"), "load_state"),
]


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive: the client's requests.Session reuses one connection for every page.
    protocol_version = "HTTP/1.1"
    server: "EmulatorServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            sys.stderr.write("gcp-emulator: " + (format % args) + "\n")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # ------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        handler = ""
        try:
            for verb, pattern, handler in _ROUTES:
                match = pattern.match(path) if verb == method else None
                if match:
                    if handler in QUERY_PARAMETERS:   # an API method (not the upload or control surface)
                        validation.check_query(handler, query)
                    status, body, *extra = getattr(self, "_" + handler)(
                        match.group(1) if match.groups() else "", query, raw)
                    headers = extra[0] if extra else {}
                    break
            else:
                handler = ""
                raise EmulatorError("NOT_FOUND", f"no such method: {method} {path}")
        except EmulatorError as err:
            status, body, headers = err.http, err.body(), {}
        except Exception as exc:  # a bug in the emulator must still answer in the API's error shape
            error = EmulatorError("INTERNAL", f"emulator error: {type(exc).__name__}: {exc}")
            status, body, headers = 500, error.body(), {}
        mask = self.headers.get(field_mask.HEADER) or query.get("fields") or query.get("$fields")
        if mask and status == 200 and isinstance(body, dict):
            body = field_mask.apply(body, mask)
        self._record(method, path, query, raw, handler, status, body)
        self._send(status, body, headers)

    def _record(self, method: str, path: str, query: dict[str, str], raw: bytes, handler: str, status: int,
                body: Any) -> None:
        entry: dict[str, Any] = {"method": method, "path": path, "query": query, "status": status,
                                 "api": handler or None,
                                 "content_type": self.headers.get("Content-Type"),
                                 "field_mask": self.headers.get(field_mask.HEADER),
                                 "authorization": "Authorization" in self.headers, "size": len(raw)}
        if handler not in ("put_upload", "get_download"):   # an archive's bytes stay in state.uploads, not in the log
            try:
                entry["body"] = json.loads(raw) if raw else None
            except ValueError:
                entry["body"] = raw.decode("utf-8", "replace")
        entry["response"] = body
        self.state.request_log.record(entry)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        if isinstance(body, bytes):   # a Cloud Storage answer: its own content type in headers
            data = body
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json; charset=UTF-8")
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _json(raw: bytes, where: str = "request") -> dict[str, Any]:
        """The body as a JSON object; ``where`` names it in an error (``function``)."""
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise EmulatorError("INVALID_ARGUMENT", f"Invalid JSON payload received. {exc}", field=where) from None
        if not isinstance(value, dict):
            raise EmulatorError("INVALID_ARGUMENT", f"Invalid JSON payload received. Expected an object at "
                                f"'{where}'.", field=where)
        return value

    def _base_url(self) -> str:
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        return f"http://{host}"

    # ------------------------------------------------------------------ API handlers
    @property
    def state(self) -> EmulatorState:
        return self.server.state

    def _list_functions(self, parent: str, query: dict[str, str], raw: bytes):
        _, project, _, location = parent.split("/")
        try:
            page_size = int(query.get("pageSize") or 0)
        except ValueError:
            raise EmulatorError("INVALID_ARGUMENT", "pageSize must be an integer") from None
        # ``orderBy`` is accepted and ignored: results are always ordered by name.
        return 200, self.state.list_functions(project, location, page_size, query.get("pageToken", ""),
                                              query.get("filter", ""))

    def _create_function(self, parent: str, query: dict[str, str], raw: bytes):
        return 200, self.state.create_function(parent, query.get("functionId", ""), self._json(raw, "function"))

    def _generate_upload_url(self, parent: str, query: dict[str, str], raw: bytes):
        return 200, self.state.generate_upload_url(parent, self._base_url(),
                                                   self._json(raw, "generate_upload_url_request"))

    def _generate_download_url(self, name: str, query: dict[str, str], raw: bytes):
        return 200, self.state.generate_download_url(name, self._base_url(),
                                                     self._json(raw, "generate_download_url_request"))

    def _get_download(self, obj: str, query: dict[str, str], raw: bytes):
        # As Cloud Storage answers a GET of a signed URL: the object's bytes, as uploaded.
        data = self.state.download(obj)
        if data is None:
            return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
        return 200, data, {"Content-Type": UPLOAD_CONTENT_TYPE}

    def _get_function(self, name: str, query: dict[str, str], raw: bytes):
        return 200, self.state.get_function(name)

    def _patch_function(self, name: str, query: dict[str, str], raw: bytes):
        return 200, self.state.patch_function(name, self._json(raw, "function"), query.get("updateMask", ""))

    def _delete_function(self, name: str, query: dict[str, str], raw: bytes):
        return 200, self.state.delete_function(name)

    def _get_operation(self, name: str, query: dict[str, str], raw: bytes):
        return 200, self.state.get_operation(name)

    def _list_operations(self, parent: str, query: dict[str, str], raw: bytes):
        return 200, self.state.list_operations(parent)

    def _put_upload(self, obj: str, query: dict[str, str], raw: bytes):
        # The signed URL Google hands out is signed for content-type application/zip and no
        # credentials; Cloud Storage refuses anything else with 403 and an XML error.
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != UPLOAD_CONTENT_TYPE:
            return _storage_error(403, "SignatureDoesNotMatch", f"The upload URL is signed for content-type "
                                  f"{UPLOAD_CONTENT_TYPE}; the request sent {content_type or 'none'}.")
        if "Authorization" in self.headers:
            return _storage_error(403, "AccessDenied", "Do not send credentials to an upload URL: the signed "
                                  "URL carries its own access.")
        # As Cloud Storage answers a PUT to a signed URL: the new object generation in a header.
        return 200, {}, {"x-goog-generation": str(self.state.receive_upload(obj, raw))}

    # ------------------------------------------------------------------ control handlers
    def _health(self, _: str, query: dict[str, str], raw: bytes):
        return 200, {"ok": True, "functions": len(self.state.functions)}

    def _reset(self, _: str, query: dict[str, str], raw: bytes):
        self.state.reset()
        return 200, {}

    def _faults(self, _: str, query: dict[str, str], raw: bytes):
        self.state.set_faults(self._json(raw))
        return 200, self.state.faults.to_dict()

    def _dump_state(self, _: str, query: dict[str, str], raw: bytes):
        return 200, self.state.to_dict()

    def _load_state(self, _: str, query: dict[str, str], raw: bytes):
        self.state.load(self._json(raw))
        return 200, {"functions": len(self.state.functions)}


def _storage_error(http: int, code: str, message: str) -> tuple[int, bytes, dict[str, str]]:
    """Cloud Storage's XML error body (the upload URL is a Cloud Storage URL, not the API)."""
    body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
            "</Error>").encode()
    return http, body, {"Content-Type": "application/xml; charset=UTF-8"}


class EmulatorServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to one EmulatorState."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: EmulatorState | None = None,
                 verbose: bool = False):
        self.state = state or EmulatorState()
        self.verbose = verbose
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{self.server_address[0]}:{self.port}"


def start_in_thread(host: str = "127.0.0.1", port: int = 0, state: EmulatorState | None = None,
                    verbose: bool = False) -> tuple[EmulatorServer, threading.Thread]:
    """Start a server on a background thread (port 0 = a free port); stop with ``server.shutdown()``."""
    server = EmulatorServer(host, port, state, verbose)
    thread = threading.Thread(target=server.serve_forever, name=f"gcp-emulator:{server.port}", daemon=True)
    thread.start()
    return server, thread
