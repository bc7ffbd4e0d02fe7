"""Google Cloud Functions (v2) adapter: functions labelled with our mark, in every location.

The same code runs against the cloud, the sandbox and the tests: the endpoint comes from the
constructor (the app passes the config key ``gcp.endpoint``) or FUNCTIONS_TUI_GCP_ENDPOINT.
An ``http://`` endpoint is the project's emulator (REST transport, anonymous credentials);
otherwise credentials come from Application Default Credentials and only the project name
is ever kept.

Observing is one ``list_functions`` call per page over ``locations/-`` (no per-function get),
reading the raw protobuf of each page so the cost stays close to the bare pager's. A failed
page or a non-empty ``unreachable`` makes the observation incomplete, never empty.

The google libraries are imported inside methods so importing this module (and starting the
CLI) stays fast and works without them.
"""

from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path
from typing import Any

from registry.component import ApplyError, Detection, Observation, ObservedFunction
from registry.models import DIGEST_KEYS, MARK_KEYS, FunctionSpec, digest_source, is_managed_label, utc_now

COMPONENT = "gcp"
MARK_KEY = MARK_KEYS[COMPONENT]
DIGEST_KEY = DIGEST_KEYS[COMPONENT]
ENDPOINT_ENV = "FUNCTIONS_TUI_GCP_ENDPOINT"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
DEFAULT_REGION = "us-central1"
MIN_LIBRARY_VERSION = "1.16"
LIBRARY = "google-cloud-functions"

ADC_FIX = ("run `gcloud auth application-default login` or set FUNCTIONS_TUI_GCP_ENDPOINT "
           "for the emulator (`functions-tui emulator gcp --port 8089`)")

# Function.State enum numbers → our lowercase run states.
_STATES = {0: "unknown", 1: "active", 2: "failed", 3: "deploying", 4: "deleting", 5: "unknown"}

# Fingerprint field → the Function field path it lives in (the update mask).
_MASK_PATHS = {
    "runtime": "build_config.runtime",
    "entry_point": "build_config.entry_point",
    "memory": "service_config.available_memory",
    "timeout": "service_config.timeout_seconds",
    "env": "service_config.environment_variables",
    "labels": "labels",
}


# ---------------------------------------------------------------------- label spelling
def label_value(text: str) -> str:
    """A legal GCP label value: lowercase letters, digits, ``_`` and ``-``; at most 63 chars."""
    return re.sub(r"[^a-z0-9_-]", "_", text.lower())[:63]


def function_id(name: str) -> str:
    """A legal v2 function id for a registry name (lowercase, digits, hyphens; starts with a letter)."""
    fid = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")
    if not fid or not fid[0].isalpha():
        fid = "f-" + fid
    return fid[:63].rstrip("-")


_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode_digest(digest: str) -> str:
    """A code digest as a label value. ``sha256:<64 hex>`` does not fit GCP's 63-char, no-colon
    label values, so it is written in base 36 behind ``s256-`` (55 chars at most), losslessly."""
    if digest.startswith("sha256:") and re.fullmatch(r"[0-9a-f]{64}", digest[7:]):
        n, out = int(digest[7:], 16), ""
        while n:
            n, rem = divmod(n, 36)
            out = _B36[rem] + out
        return "s256-" + (out or "0")
    return label_value(digest)


def decode_digest(value: str) -> str:
    """Inverse of encode_digest (other values are returned as they are)."""
    if value.startswith("s256-"):
        try:
            return "sha256:" + format(int(value[5:], 36), "064x")
        except ValueError:
            return value
    return value


def memory_mb(text: str) -> int | None:
    """``availableMemory`` (``256M``, ``1Gi``, ``512Mi``, bytes) → megabytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text or "")
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    factor = {"": 1 / 2**20, "k": 1 / 1024, "Ki": 1 / 1024, "M": 1, "Mi": 1, "G": 1024, "Gi": 1024}.get(unit)
    return None if factor is None else int(round(number * factor))


def zip_source(source: str | os.PathLike) -> bytes:
    """The function's source folder (or single file) as an in-memory zip."""
    root = Path(source)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            rel = path.name if root.is_file() else path.relative_to(root).as_posix()
            if "__pycache__" in rel.split("/") or rel.startswith(".git/"):
                continue
            archive.write(path, rel)
    return buffer.getvalue()


# ---------------------------------------------------------------------- the adapter
class GcpComponent:
    """The ``gcp`` component: Cloud Functions v2 through the official client."""

    name = COMPONENT

    def __init__(self, project: str | None = None, endpoint: str | None = None,
                 locations: tuple[str, ...] | list[str] = ("-",), timeout_s: float = 30.0,
                 operation_timeout_s: float = 300.0, *, page_size: int = 1000,
                 retry_deadline_s: float | None = None, poll_interval_s: float = 0.5):
        self.endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None
        self.project = project or os.environ.get(PROJECT_ENV) or None
        self.locations = tuple(locations) or ("-",)
        self.timeout_s = float(timeout_s)
        self.operation_timeout_s = float(operation_timeout_s)
        self.page_size = int(page_size)
        # How long one call may keep retrying transient errors (503, 429, timeouts).
        self.retry_deadline_s = float(retry_deadline_s if retry_deadline_s is not None else timeout_s)
        self.poll_interval_s = float(poll_interval_s)
        self._client: Any = None

    # ------------------------------------------------------------------ plumbing
    @property
    def uses_emulator(self) -> bool:
        return bool(self.endpoint and self.endpoint.startswith("http://"))

    def _get_client(self) -> Any:
        """The FunctionServiceClient, built once (its HTTP session is reused for every page)."""
        if self._client is not None:
            return self._client
        from google.api_core.client_options import ClientOptions
        from google.cloud import functions_v2

        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        if self.uses_emulator:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        else:
            import google.auth

            credentials, adc_project = google.auth.default(
                scopes=["https://www.googleapis.com/auth/cloud-platform"])
            self.project = self.project or adc_project
        self._client = functions_v2.FunctionServiceClient(
            transport="rest", client_options=options, credentials=credentials)
        return self._client

    def _retry(self, idempotent: bool = True) -> Any:
        """Explicit retry: the library sets none for v2 list. Mutations retry only on errors that
        mean the request was not processed (503, 429); reads also retry timeouts."""
        import requests
        from google.api_core import exceptions, retry

        transient: tuple[type[BaseException], ...] = (exceptions.ServiceUnavailable, exceptions.TooManyRequests)
        if idempotent:
            transient += (exceptions.DeadlineExceeded,)
            if not self.uses_emulator:  # a refused local emulator is down, not flaky: fail fast
                transient += (requests.exceptions.ConnectionError,)
        return retry.Retry(predicate=retry.if_exception_type(*transient), initial=0.2, maximum=5.0,
                           multiplier=2.0, timeout=self.retry_deadline_s)

    def _polling(self) -> Any:
        from google.api_core.future.polling import DEFAULT_POLLING

        return DEFAULT_POLLING.with_timeout(self.operation_timeout_s).with_delay(
            initial=self.poll_interval_s, maximum=max(self.poll_interval_s, 10.0), multiplier=1.5)

    def _target(self, spec: FunctionSpec) -> tuple[str, str]:
        target = spec.targets.get(COMPONENT) or {}
        project = target.get("project") or self.project
        if not project:
            raise ApplyError(f"gcp: no project for {spec.name}: set targets.gcp.project or {PROJECT_ENV}")
        return str(project), str(target.get("region") or DEFAULT_REGION)

    def resource_name(self, spec: FunctionSpec) -> str:
        project, region = self._target(spec)
        return f"projects/{project}/locations/{region}/functions/{function_id(spec.name)}"

    # ------------------------------------------------------------------ detect
    def detect(self) -> Detection:
        from importlib import metadata

        from packaging.version import Version

        try:
            version = metadata.version(LIBRARY)
        except metadata.PackageNotFoundError:
            return Detection(COMPONENT, False, reason=f"the {LIBRARY} library is not installed",
                             fix=f"pip install '{LIBRARY}>={MIN_LIBRARY_VERSION}'")
        if Version(version) < Version(MIN_LIBRARY_VERSION):
            return Detection(COMPONENT, False, version=version,
                             reason=f"{LIBRARY} {version} is older than {MIN_LIBRARY_VERSION}",
                             fix=f"pip install -U '{LIBRARY}>={MIN_LIBRARY_VERSION}'")
        details: dict[str, Any] = {"endpoint": self.endpoint or "", "credentials":
                                   "anonymous (emulator)" if self.uses_emulator else "application default"}
        try:
            client = self._get_client()
        except Exception as exc:  # google.auth.exceptions.DefaultCredentialsError and friends
            return Detection(COMPONENT, False, version=version, details=details,
                             reason=f"no Application Default Credentials ({type(exc).__name__})", fix=ADC_FIX)
        if not self.project:
            return Detection(COMPONENT, False, version=version, details=details,
                             reason="no Google Cloud project configured",
                             fix=f"set {PROJECT_ENV} (or targets.gcp.project in function.yaml)")
        details["project"] = self.project
        if self.endpoint:
            # A custom endpoint is only useful if it answers: one cheap call, no retries.
            try:
                client.list_functions(request={"parent": f"projects/{self.project}/locations/-", "page_size": 1},
                                      retry=None, timeout=min(self.timeout_s, 5.0))
            except Exception as exc:
                return Detection(COMPONENT, False, version=version, details=details,
                                 reason=f"endpoint {self.endpoint} is not answering: {_short(exc)}",
                                 fix=("start the emulator (`functions-tui emulator gcp --port PORT`) or "
                                      f"unset {ENDPOINT_ENV} to use Google Cloud"))
        return Detection(COMPONENT, True, version=version, details=details)

    # ------------------------------------------------------------------ observe
    def observe(self) -> Observation:
        started = time.perf_counter()
        at = utc_now()
        try:
            client = self._get_client()
        except Exception as exc:
            return _failed(f"gcp unavailable: {_short(exc)}; fix: {ADC_FIX}", started, at)
        if not self.project:
            return _failed(f"gcp: no project configured; set {PROJECT_ENV}", started, at)
        observation = Observation(component=COMPONENT, observed_at=at)
        retry = self._retry()
        for location in self.locations:
            parent = f"projects/{self.project}/locations/{location}"
            page_number = 0
            try:
                pager = client.list_functions(request={"parent": parent, "page_size": self.page_size},
                                              retry=retry, timeout=self.timeout_s)
                for page in pager.pages:
                    page_number += 1
                    raw = type(page).pb(page)  # the protobuf itself: no proto-plus wrapper per function
                    if raw.unreachable:
                        observation.complete = False
                        observation.errors.append(
                            f"gcp: locations unreachable while listing {parent}: {', '.join(raw.unreachable)}")
                    for fn in raw.functions:
                        self._classify(fn, observation)
            except Exception as exc:  # an outage is never an empty account
                observation.complete = False
                observation.errors.append(f"gcp: listing {parent} failed on page {page_number + 1}: {_short(exc)}")
        observation.duration_s = time.perf_counter() - started
        return observation

    def _classify(self, fn: Any, observation: Observation) -> None:
        labels = fn.labels
        mark = labels.get(MARK_KEY)
        if not mark:
            observation.unmarked.append(fn.name.rsplit("/", 1)[-1])
            return
        item = _observed(fn, mark)
        if item.name in observation.items:
            observation.errors.append(f"gcp: {item.name} is deployed twice ({observation.items[item.name].resource_id}"
                                      f" and {item.resource_id}); showing the first")
            return
        observation.items[item.name] = item

    # ------------------------------------------------------------------ apply
    def create(self, spec: FunctionSpec) -> ObservedFunction:
        from google.cloud import functions_v2

        client = self._get_client()
        name = self.resource_name(spec)
        parent, fid = name.rsplit("/functions/", 1)
        digest = spec.code_digest or (digest_source(spec.source) if _source_exists(spec) else "")
        build = functions_v2.BuildConfig(runtime=spec.runtime, entry_point=spec.entry_point)
        if _source_exists(spec):
            build.source = functions_v2.Source(storage_source=self._upload(parent, spec))
        function = functions_v2.Function(
            name=name,
            build_config=build,
            service_config=functions_v2.ServiceConfig(
                available_memory=f"{int(spec.memory)}M", timeout_seconds=int(spec.timeout),
                environment_variables={str(k): str(v) for k, v in spec.env.items()}),
            labels=self._labels(spec, digest),
        )
        result = self._run(f"creating {spec.name}", lambda: client.create_function(
            request={"parent": parent, "function": function, "function_id": fid},
            retry=self._retry(idempotent=False), timeout=self.timeout_s))
        return _observed(type(result).pb(result), label_value(spec.name))

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        from google.cloud import functions_v2
        from google.protobuf import field_mask_pb2

        client = self._get_client()
        name = self.resource_name(spec)
        current = self._get(name)
        if current is None:
            raise ApplyError(f"gcp: cannot update {spec.name}: {name} does not exist")
        if current.labels.get(MARK_KEY) != label_value(spec.name):
            raise ApplyError(f"gcp: refusing to update {name}: it does not carry our mark {MARK_KEY}")
        wanted = set(fields)
        function = functions_v2.Function(name=name)
        paths: list[str] = []
        build = functions_v2.BuildConfig()
        service = functions_v2.ServiceConfig()
        if "runtime" in wanted:
            build.runtime = spec.runtime
            paths.append(_MASK_PATHS["runtime"])
        if "entry_point" in wanted:
            build.entry_point = spec.entry_point
            paths.append(_MASK_PATHS["entry_point"])
        if "memory" in wanted:
            service.available_memory = f"{int(spec.memory)}M"
            paths.append(_MASK_PATHS["memory"])
        if "timeout" in wanted:
            service.timeout_seconds = int(spec.timeout)
            paths.append(_MASK_PATHS["timeout"])
        if "env" in wanted:
            service.environment_variables = {str(k): str(v) for k, v in spec.env.items()}
            paths.append(_MASK_PATHS["env"])
        digest = decode_digest(current.labels.get(DIGEST_KEY, ""))
        if "code_digest" in wanted:
            digest = spec.code_digest or (digest_source(spec.source) if _source_exists(spec) else "")
            if _source_exists(spec):
                build.source = functions_v2.Source(storage_source=self._upload(name.rsplit("/functions/", 1)[0], spec))
                paths.append("build_config.source")
        if "labels" in wanted or "code_digest" in wanted:
            function.labels = self._labels(spec, digest)  # the whole map: mark and digest stay on
            paths.append("labels")
        if not paths:  # only fields GCP cannot change (e.g. state) differ: nothing to send
            return _observed(current, label_value(spec.name))
        if any(p.startswith("build_config.") for p in paths):
            function.build_config = build
        if any(p.startswith("service_config.") for p in paths):
            function.service_config = service
        mask = field_mask_pb2.FieldMask(paths=paths)
        result = self._run(f"updating {spec.name}", lambda: client.update_function(
            request={"function": function, "update_mask": mask},
            retry=self._retry(idempotent=False), timeout=self.timeout_s))
        return _observed(type(result).pb(result), label_value(spec.name))

    def delete(self, name: str, resource_id: str = "") -> None:
        client = self._get_client()
        mark = label_value(name)
        if resource_id:
            current = self._get(resource_id)
        else:
            observation = self.observe()
            item = observation.items.get(mark) or observation.items.get(name)
            if item is None:
                if not observation.complete:
                    raise ApplyError(f"gcp: cannot find {name} to delete: the listing was incomplete "
                                     f"({'; '.join(observation.errors)})")
                return  # already gone: the wanted end state holds
            current = self._get(item.resource_id)
        if current is None:
            return  # already gone
        if current.labels.get(MARK_KEY) != mark:
            raise ApplyError(f"gcp: refusing to delete {current.name}: it does not carry our mark "
                             f"{MARK_KEY}={mark} (unmanaged resources are never deleted)")
        self._run(f"deleting {name}", lambda: client.delete_function(
            request={"name": current.name}, retry=self._retry(idempotent=False), timeout=self.timeout_s))

    # ------------------------------------------------------------------ apply helpers
    def _labels(self, spec: FunctionSpec, digest: str) -> dict[str, str]:
        labels = {str(k): str(v) for k, v in spec.labels.items() if not is_managed_label(str(k))}
        labels[MARK_KEY] = label_value(spec.name)
        if digest:
            labels[DIGEST_KEY] = encode_digest(digest)
        return labels

    def _get(self, name: str) -> Any:
        """The raw protobuf Function, or None when it does not exist."""
        from google.api_core import exceptions

        try:
            fn = self._get_client().get_function(request={"name": name}, retry=self._retry(), timeout=self.timeout_s)
        except exceptions.NotFound:
            return None
        except Exception as exc:
            raise ApplyError(f"gcp: cannot read {name}: {_short(exc)}") from exc
        return type(fn).pb(fn)

    def _upload(self, parent: str, spec: FunctionSpec) -> Any:
        """Zip spec.source, PUT it to a fresh upload URL, return the StorageSource to deploy from."""
        import requests

        client = self._get_client()
        try:
            response = client.generate_upload_url(request={"parent": parent}, retry=self._retry(),
                                                  timeout=self.timeout_s)
            put = requests.put(response.upload_url, data=zip_source(spec.source),
                               headers={"content-type": "application/zip"}, timeout=self.timeout_s)
            put.raise_for_status()
        except Exception as exc:
            raise ApplyError(f"gcp: uploading the source of {spec.name} failed: {_short(exc)}") from exc
        return response.storage_source

    def _run(self, what: str, start: Any) -> Any:
        """Start a long-running operation and wait for it (operation_timeout_s), as ApplyError."""
        import concurrent.futures

        from google.api_core import exceptions

        try:
            operation = start()
        except exceptions.GoogleAPICallError as exc:
            raise ApplyError(f"gcp: {what} was refused: {_short(exc)}") from exc
        except Exception as exc:
            raise ApplyError(f"gcp: {what} failed: {_short(exc)}") from exc
        try:
            # Each poll is one operations.get with our retry and the operations client's own
            # 10 s per-call timeout; the whole wait is bounded by operation_timeout_s.
            return operation.result(retry=self._retry(), polling=self._polling())
        except concurrent.futures.TimeoutError as exc:
            raise ApplyError(f"gcp: {what} did not finish within {self.operation_timeout_s:g}s "
                             f"(operation {operation.operation.name} may still complete; observe again)") from exc
        except Exception as exc:
            raise ApplyError(f"gcp: {what} failed: {_short(exc)}") from exc


# ---------------------------------------------------------------------- mapping
def _observed(fn: Any, mark: str) -> ObservedFunction:
    """A raw protobuf Function → ObservedFunction (raw values; env in plain text)."""
    build, service = fn.build_config, fn.service_config
    labels = dict(fn.labels)
    memory = memory_mb(service.available_memory)
    state = _STATES.get(int(fn.state), "unknown")
    region = fn.name.split("/")[3] if fn.name.count("/") >= 5 else ""
    values = {
        "runtime": build.runtime,
        "entry_point": build.entry_point,
        "memory": memory,
        "timeout": service.timeout_seconds,
        "env": dict(service.environment_variables),
        "labels": {k: v for k, v in labels.items() if not is_managed_label(k)},
        "code_digest": decode_digest(labels.get(DIGEST_KEY, "")),
        "state": state,
    }
    return ObservedFunction(name=mark, component=COMPONENT, values=values, resource_id=fn.name, marked=True,
                            summary=f"{region} · {state} · {build.runtime} · {memory} MB")


def _source_exists(spec: FunctionSpec) -> bool:
    return bool(spec.source) and Path(spec.source).exists()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def _failed(error: str, started: float, at: str) -> Observation:
    observation = Observation.failed(COMPONENT, error)
    observation.observed_at = at
    observation.duration_s = time.perf_counter() - started
    return observation
