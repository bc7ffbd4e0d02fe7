"""Google Cloud Functions (v2) adapter: functions labelled with our mark, in every location.

The same code runs against the cloud, the sandbox and the tests: the endpoint comes from the
constructor (the app passes the config key ``gcp.endpoint``) or FUNCTIONS_TUI_GCP_ENDPOINT.
An ``http://`` endpoint is the project's emulator (REST transport, anonymous credentials);
otherwise credentials come from Application Default Credentials and only the project name
is ever kept.

Observing is one list call per page over ``locations/-`` (no per-function get), made over the
REST resource and read as JSON (``components/gcp_rest.py`` says why not through the client).
Everything this module reads of a function is in the API's JSON mapping (camelCase, as the
REST API answers it); what the client answers on a write is turned into the same mapping
(``_as_json``), so one ``_observed`` reads both. A failed page or a non-empty ``unreachable``
makes the observation incomplete, never empty.

Ownership: what we deploy carries the labels ``functions-tui_function`` (the function's name)
and ``functions-tui_registry`` (``registry_id``, the deploying registry's identity); observe()
reports every function with the first, its ``owner`` from the second (None for a mark from
before identities); ``claim()`` adds the second with a labels-only patch. Code drift: after
each deploy of source, ``functions-tui_deployed-code`` holds a hash of the function's
``buildConfig.sourceProvenance`` (the source object and its resolved generation); the listing
carries the current provenance, so a source replaced out of band reads as ``code_digest``
``gcp:<hash>`` at no extra call.

The google libraries are imported inside methods so importing this module (and starting the
CLI) stays fast and works without them.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

from functions_tui.components import gcp_rest
from functions_tui.registry.component import ApplyError, Detection, Observation, ObservedFunction
from functions_tui.registry.limits import Limits, provider_runtime
from functions_tui.registry.kinds import Kind, SandboxBackend, register
from functions_tui.registry.models import FunctionSpec, digest_source, is_managed_label, utc_now
from functions_tui.registry.packaging import PackagingError, extract_package, source_files, warn_sensitive

COMPONENT = "gcp"   # the kind's name, and its default instance's
#: Prefix of the code digest reported when the function's source is not the one we deployed.
DRIFT_PREFIX = "gcp:"
ENDPOINT_ENV = "FUNCTIONS_TUI_GCP_ENDPOINT"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
DEFAULT_REGION = "us-central1"
MIN_LIBRARY_VERSION = "1.16"
LIBRARY = "google-cloud-functions"

ADC_FIX = ("run `gcloud auth application-default login` or set FUNCTIONS_TUI_GCP_ENDPOINT "
           "for the emulator (`functions-tui emulator gcp --port 8089`)")

#: What Cloud Functions (2nd gen, now Cloud Run functions) accepts, checked at ``add``
#: (registry.limits): memory 128 MiB-32 GiB, timeout 3,600 s for HTTP functions and 540 s
#: for event-driven ones, the runtime IDs that still take new functions, the function id
#: rules (``function_id`` deploys ``_`` as ``-``), 32 KiB of environment variable names and
#: values, at most 1,000 of them, and the names Cloud Run reserves.
LIMITS = Limits(
    provider="Cloud Functions v2",
    memory_mb=(128, 32768),
    timeout_s=(1, 3600),
    event_timeout_s=540,
    runtimes=("nodejs18", "nodejs20", "nodejs22", "python310", "python311", "python312", "python313",
              "go121", "go122", "go123", "java17", "java21", "ruby32", "ruby33", "php82", "php83", "dotnet8"),
    name_max=63,
    name_pattern=r"[a-z](?:[a-z0-9_-]{0,61}[a-z0-9])?",
    name_rule="1 to 63 characters: lowercase letters, digits and hyphens (_ is deployed as -), "
              "starting with a letter and ending with a letter or digit",
    env_total_bytes=32768,
    env_count=1000,
    env_key_pattern=r"[^=]+",
    env_key_rule="any name without =",
    env_reserved=("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "FUNCTION_TARGET",
                  "FUNCTION_SIGNATURE_TYPE"),
    env_reserved_prefixes=("X_GOOGLE_",),
    # Google's label rules (non-ASCII letters are allowed too); 64 labels a function, 4 of them ours.
    label_key_pattern=r"(?:[a-z]|[^\x00-\x7f])(?:[a-z0-9_-]|[^\x00-\x7f]){0,62}",
    label_value_pattern=r"(?:[a-z0-9_-]|[^\x00-\x7f]){0,63}",
    label_rule="keys and values of lowercase letters, digits, _ and -, at most 63 characters; "
               "a key starts with a letter",
    labels_max=60,
    source="https://cloud.google.com/functions/quotas",
)


def _adapter_arguments(settings: dict[str, Any], env: dict[str, str], default: bool) -> dict[str, Any]:
    """config.yaml's settings of an instance (GOOGLE_CLOUD_PROJECT and the emulator's
    FUNCTIONS_TUI_GCP_ENDPOINT over them for the default one)."""
    arguments: dict[str, Any] = {
        "project": (env.get(PROJECT_ENV) if default else None) or settings.get("project"),
        "endpoint": (env.get(ENDPOINT_ENV) if default else None) or settings.get("endpoint"),
    }
    if settings.get("locations"):
        arguments["locations"] = tuple(settings["locations"])
    return arguments


#: Everything the rest of the code knows about Cloud Functions (registry/kinds.py).
KIND = register(Kind(
    name=COMPONENT,
    title="Cloud Functions v2",
    docs="a Google Cloud project: project, locations (all by default), endpoint (the emulator's, or Google's)",
    label_separator="_",   # GCP label keys allow only [a-z0-9_-]
    default_state="active",
    states=("active",),
    default_policy="component-wins",
    target_fields={"project": "str", "region": "str", "trigger": "str", "state": "str", "service_account": "str"},
    settings={"project": "str", "endpoint": "str", "locations": "str_list"},
    example="gcp-eu: {kind: gcp, project: my-eu-project, locations: [europe-west1]}",
    settings_help={"endpoint": f"or {ENDPOINT_ENV}; null = the real Google API",
                   "project": f"or {PROJECT_ENV}"},
    adapter="functions_tui.components.gcp:GcpComponent",
    adapter_arguments=_adapter_arguments,
    limits=LIMITS,
    sandbox=SandboxBackend("functions_tui.components.gcp_emulator.handle:sandbox_backend",
                           label="the Cloud Functions emulator"),
))
MARK_KEY = KIND.mark_key
DIGEST_KEY = KIND.digest_key
OWNER_KEY = KIND.owner_key
DEPLOYED_CODE_KEY = KIND.deployed_code_key

# Function.State (its JSON name) → our lowercase run states.
_STATES = {"STATE_UNSPECIFIED": "unknown", "ACTIVE": "active", "FAILED": "failed", "DEPLOYING": "deploying",
           "DELETING": "deleting", "UNKNOWN": "unknown"}

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


def zip_source(source: str | os.PathLike, function: str = "") -> bytes:
    """The function's source folder (or single file) as an in-memory zip: its package
    (registry.packaging: ``.gcloudignore`` and ``.functionsignore`` honoured, secrets left
    out), warning about any file in it that looks like a secret."""
    try:
        listing = source_files(source)
    except PackagingError as exc:
        raise ApplyError(f"gcp: cannot package {function or source}: {exc}") from exc
    warn_sensitive(listing, function or str(source), COMPONENT)
    return listing.zip_bytes()


def _source_key(source: dict[str, Any], resolved: bool) -> str:
    """One line naming a source exactly (the JSON of a Source, or of a SourceProvenance when
    ``resolved``). Spelled as it was when it was read from protobuf fields (an unset generation
    is ``0``), so the hashes on functions deployed by earlier versions still match."""
    storage = source.get("resolvedStorageSource" if resolved else "storageSource") or {}
    if storage.get("bucket") or storage.get("object"):
        return f"gs://{storage.get('bucket', '')}/{storage.get('object', '')}#{storage.get('generation') or 0}"
    repo = source.get("resolvedRepoSource" if resolved else "repoSource") or {}
    if repo.get("repoName"):
        revision = repo.get("commitSha") or repo.get("branchName") or repo.get("tagName") or ""
        return f"repo:{repo.get('projectId', '')}/{repo['repoName']}@{revision}/{repo.get('dir', '')}"
    return f"git:{source['gitUri']}" if source.get("gitUri") else ""


def source_hash(key: str) -> str:
    """A source key as a label value (40 hex digits), or "" for no source."""
    return hashlib.sha256(key.encode()).hexdigest()[:40] if key else ""


def code_hash(build: dict[str, Any]) -> str:
    """The provider's code identity of a deployed function (the JSON of its BuildConfig): its
    ``sourceProvenance`` (the source with the storage generation resolved), or, from a
    backend that does not fill that in, the source as requested."""
    key = _source_key(build.get("sourceProvenance") or {}, True) or _source_key(build.get("source") or {}, False)
    return source_hash(key)


def _as_json(message: Any) -> dict[str, Any]:
    """A Function or BuildConfig the client answered or we built (proto-plus or raw protobuf)
    → its JSON mapping, the form the listing reads, so one mapping reads both."""
    from google.protobuf import json_format

    raw = message if hasattr(message, "DESCRIPTOR") else type(message).pb(message)
    return json_format.MessageToDict(raw)


#: The fields ``_observed`` reads, asked for as a partial response (Google's ``X-Goog-FieldMask``
#: system parameter): timestamps, URLs and the service name are a third of each function's
#: JSON, bytes every page would carry and decode for nothing.
LISTED_FIELDS = ",".join(
    [f"functions.{f}" for f in ("name", "state", "labels", "buildConfig.runtime", "buildConfig.entryPoint",
                                "buildConfig.source", "buildConfig.sourceProvenance",
                                "serviceConfig.availableMemory", "serviceConfig.timeoutSeconds",
                                "serviceConfig.environmentVariables")]
    + ["nextPageToken", "unreachable"])


# ---------------------------------------------------------------------- the adapter
class GcpComponent:
    """The ``gcp`` component: Cloud Functions v2 through the official client."""

    def __init__(self, project: str | None = None, endpoint: str | None = None,
                 locations: tuple[str, ...] | list[str] = ("-",), timeout_s: float = 30.0,
                 operation_timeout_s: float = 300.0, *, page_size: int = 1000,
                 retry_deadline_s: float | None = None, poll_interval_s: float = 0.5, registry_id: str = "",
                 name: str = COMPONENT):
        self.name = name   # the instance (config.yaml ``components:``), "gcp" by default
        #: The registry's identity, written as OWNER_KEY on everything we deploy or claim
        #: (set by the service before any create/update/claim; empty refuses those).
        self.registry_id = registry_id
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
        self._credentials_found: Any = None
        self._session: Any = None

    # ------------------------------------------------------------------ plumbing
    @property
    def uses_emulator(self) -> bool:
        return bool(self.endpoint and self.endpoint.startswith("http://"))

    def _credentials(self) -> Any:
        """Anonymous for the emulator, else Application Default Credentials (whose project
        fills in a missing one); found once, shared by the client and the listing session."""
        if self._credentials_found is None:
            if self.uses_emulator:
                from google.auth.credentials import AnonymousCredentials

                self._credentials_found = AnonymousCredentials()
            else:
                import google.auth

                credentials, adc_project = google.auth.default(
                    scopes=["https://www.googleapis.com/auth/cloud-platform"])
                self.project = self.project or adc_project
                self._credentials_found = credentials
        return self._credentials_found

    def _get_client(self) -> Any:
        """The FunctionServiceClient for writes and single reads, built once (its HTTP session
        is reused for every call)."""
        if self._client is not None:
            return self._client
        from google.api_core.client_options import ClientOptions
        from google.cloud import functions_v2

        options = ClientOptions(api_endpoint=self.endpoint) if self.endpoint else None
        self._client = functions_v2.FunctionServiceClient(
            transport="rest", client_options=options, credentials=self._credentials())
        return self._client

    def _list_pages(self, parent: str, *, page_size: int | None = None, fields: str = "",
                    retry: Any = "default", timeout: float | None = None) -> Any:
        """Each page of ``parent``'s functions, as JSON (gcp_rest: the listing without the client)."""
        if self._session is None:
            self._session = gcp_rest.session(self._credentials())
        return gcp_rest.list_pages(self._session, gcp_rest.base_url(self.endpoint), parent,
                                   page_size=page_size or self.page_size, fields=fields,
                                   retry=self._retry() if retry == "default" else retry,
                                   timeout=self.timeout_s if timeout is None else timeout)

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
        target = spec.targets.get(self.name) or {}
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
            return Detection(self.name, False, reason=f"the {LIBRARY} library is not installed",
                             fix=f"pip install '{LIBRARY}>={MIN_LIBRARY_VERSION}'")
        if Version(version) < Version(MIN_LIBRARY_VERSION):
            return Detection(self.name, False, version=version,
                             reason=f"{LIBRARY} {version} is older than {MIN_LIBRARY_VERSION}",
                             fix=f"pip install -U '{LIBRARY}>={MIN_LIBRARY_VERSION}'")
        details: dict[str, Any] = {"endpoint": self.endpoint or "", "credentials":
                                   "anonymous (emulator)" if self.uses_emulator else "application default"}
        try:
            self._credentials()
        except Exception as exc:  # google.auth.exceptions.DefaultCredentialsError and friends
            return Detection(self.name, False, version=version, details=details,
                             reason=f"no Application Default Credentials ({type(exc).__name__})", fix=ADC_FIX)
        if not self.project:
            return Detection(self.name, False, version=version, details=details,
                             reason="no Google Cloud project configured",
                             fix=f"set {PROJECT_ENV} (or targets.gcp.project in function.yaml)")
        details["project"] = self.project
        if self.endpoint:
            # A custom endpoint is only useful if it answers: one cheap call, no retries.
            try:
                next(self._list_pages(f"projects/{self.project}/locations/-", page_size=1, retry=None,
                                      timeout=min(self.timeout_s, 5.0), fields="nextPageToken"))
            except Exception as exc:
                return Detection(self.name, False, version=version, details=details,
                                 reason=f"endpoint {self.endpoint} is not answering: {_short(exc)}",
                                 fix=("start the emulator (`functions-tui emulator gcp --port PORT`) or "
                                      f"unset {ENDPOINT_ENV} to use Google Cloud"))
        return Detection(self.name, True, version=version, details=details)

    # ------------------------------------------------------------------ observe
    def observe(self) -> Observation:
        started = time.perf_counter()
        at = utc_now()
        try:
            self._credentials()
        except Exception as exc:
            return _failed(self.name, f"gcp unavailable: {_short(exc)}; fix: {ADC_FIX}", started, at)
        if not self.project:
            return _failed(self.name, f"gcp: no project configured; set {PROJECT_ENV}", started, at)
        observation = Observation(component=self.name, observed_at=at)
        for location in self.locations:
            parent = f"projects/{self.project}/locations/{location}"
            page_number = 0
            try:
                for page in self._list_pages(parent, fields=LISTED_FIELDS):
                    page_number += 1
                    if page.get("unreachable"):
                        observation.complete = False
                        observation.errors.append(
                            f"gcp: locations unreachable while listing {parent}: {', '.join(page['unreachable'])}")
                    for fn in page.get("functions", ()):
                        self._classify(fn, observation)
            except Exception as exc:  # an outage is never an empty account
                observation.complete = False
                observation.errors.append(f"gcp: listing {parent} failed on page {page_number + 1}: {_short(exc)}")
        observation.duration_s = time.perf_counter() - started
        return observation

    def _classify(self, fn: dict[str, Any], observation: Observation) -> None:
        mark = (fn.get("labels") or {}).get(MARK_KEY)
        if not mark:
            observation.unmarked.append(fn["name"].rsplit("/", 1)[-1])
            return
        item = _observed(self.name, fn, mark)
        if item.name in observation.items:
            observation.errors.append(f"gcp: {item.name} is deployed twice ({observation.items[item.name].resource_id}"
                                      f" and {item.resource_id}); showing the first")
            return
        observation.items[item.name] = item

    # ------------------------------------------------------------------ apply
    def create(self, spec: FunctionSpec) -> ObservedFunction:
        from google.cloud import functions_v2

        owner = self._owner("create", spec.name)
        client = self._get_client()
        name = self.resource_name(spec)
        parent, fid = name.rsplit("/functions/", 1)
        digest = spec.code_digest or (digest_source(spec.source) if _source_exists(spec) else "")
        build = functions_v2.BuildConfig(runtime=provider_runtime(LIMITS, spec.runtime), entry_point=spec.entry_point)
        deployed_code = ""
        if _source_exists(spec):
            storage = self._upload(parent, spec)
            build.source = functions_v2.Source(storage_source=storage)
            # The provenance the deploy will resolve to (the upload's generation is known): so
            # the deployed-code label rides on the create (checked against the result below).
            deployed_code = code_hash(_as_json(build))
        labels = self._labels(spec, digest, owner, deployed_code)
        function = functions_v2.Function(
            name=name,
            build_config=build,
            service_config=functions_v2.ServiceConfig(
                available_memory=f"{int(spec.memory)}M", timeout_seconds=int(spec.timeout),
                environment_variables={str(k): str(v) for k, v in spec.env.items()}),
            labels=labels,
        )
        result = self._run(f"creating {spec.name}", lambda: client.create_function(
            request={"parent": parent, "function": function, "function_id": fid},
            retry=self._retry(idempotent=False), timeout=self.timeout_s))
        return self._record_deployed_code(spec.name, _as_json(result))

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        from google.cloud import functions_v2
        from google.protobuf import field_mask_pb2

        owner = self._owner("update", spec.name)
        client = self._get_client()
        name = self.resource_name(spec)
        current = self._get(name)
        if current is None:
            raise ApplyError(f"gcp: cannot update {spec.name}: {name} does not exist")
        current_labels = current.get("labels") or {}
        if current_labels.get(MARK_KEY) != label_value(spec.name):
            raise ApplyError(f"gcp: refusing to update {name}: it does not carry our mark {MARK_KEY}")
        wanted = set(fields)
        function = functions_v2.Function(name=name)
        paths: list[str] = []
        build = functions_v2.BuildConfig()
        service = functions_v2.ServiceConfig()
        if "runtime" in wanted:
            build.runtime = provider_runtime(LIMITS, spec.runtime)
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
        digest = decode_digest(current_labels.get(DIGEST_KEY, ""))
        deployed_code = current_labels.get(DEPLOYED_CODE_KEY, "")
        if "code_digest" in wanted:
            digest = spec.code_digest or (digest_source(spec.source) if _source_exists(spec) else "")
            if _source_exists(spec):
                build.source = functions_v2.Source(storage_source=self._upload(name.rsplit("/functions/", 1)[0], spec))
                paths.append("build_config.source")
                deployed_code = code_hash(_as_json(build))
        # The whole label map: the spec's labels when they are to change (else the current
        # ones), and our mark, identity, digest and deployed-code hash.
        user_labels = spec.labels if "labels" in wanted else current_labels
        labels = self._labels(spec, digest, owner, deployed_code, user_labels)
        if labels != current_labels:
            function.labels = labels
            paths.append("labels")
        if not paths:  # only fields GCP cannot change (e.g. state) differ: nothing to send
            return _observed(self.name, current, label_value(spec.name))
        if any(p.startswith("build_config.") for p in paths):
            function.build_config = build
        if any(p.startswith("service_config.") for p in paths):
            function.service_config = service
        mask = field_mask_pb2.FieldMask(paths=paths)
        result = self._run(f"updating {spec.name}", lambda: client.update_function(
            request={"function": function, "update_mask": mask},
            retry=self._retry(idempotent=False), timeout=self.timeout_s))
        fn = _as_json(result)
        if "build_config.source" in paths:
            return self._record_deployed_code(spec.name, fn)
        return _observed(self.name, fn, label_value(spec.name))

    def claim(self, name: str, resource_id: str = "") -> ObservedFunction:
        """Add this registry's identity label to a function carrying our mark (a labels-only
        patch: nothing else changes); returns it as observe() would show it."""
        owner = self._owner("claim", name)
        current = self._find(name, resource_id, "claim")
        if current is None:
            raise ApplyError(f"gcp: cannot claim {name}: it does not exist")
        current_labels = current.get("labels") or {}
        mark = current_labels.get(MARK_KEY)
        if not mark:
            raise ApplyError(f"gcp: refusing to claim {current['name']}: it does not carry our mark {MARK_KEY} "
                             f"(functions-tui only claims what carries its mark; `import` adopts others)")
        if current_labels.get(OWNER_KEY) == owner:
            return _observed(self.name, current, mark)
        claimed = self._patch_labels(current["name"], {**current_labels, OWNER_KEY: owner}, f"claiming {name}")
        return _observed(self.name, claimed, mark)

    def delete(self, name: str, resource_id: str = "") -> None:
        client = self._get_client()
        mark = label_value(name)
        current = self._find(name, resource_id, "delete")
        if current is None:
            return  # already gone: the wanted end state holds
        if (current.get("labels") or {}).get(MARK_KEY) != mark:
            raise ApplyError(f"gcp: refusing to delete {current['name']}: it does not carry our mark "
                             f"{MARK_KEY}={mark} (unmanaged resources are never deleted)")
        self._run(f"deleting {name}", lambda: client.delete_function(
            request={"name": current["name"]}, retry=self._retry(idempotent=False), timeout=self.timeout_s))

    # ------------------------------------------------------------------ apply helpers
    def _owner(self, action: str, name: str) -> str:
        """The identity to write (a legal label value); never deploy or claim without one."""
        if not self.registry_id:
            raise ApplyError(f"gcp: cannot {action} {name}: the registry has no identity yet (registry_id is "
                             f"empty), and functions-tui never deploys a resource without its owner")
        if label_value(self.registry_id) != self.registry_id:
            raise ApplyError(f"gcp: cannot {action} {name}: the registry identity {self.registry_id!r} is not a "
                             f"legal label value (lowercase letters, digits, _ and -, at most 63)")
        return self.registry_id

    def _labels(self, spec: FunctionSpec, digest: str, owner: str, deployed_code: str = "",
                user_labels: Any = None) -> dict[str, str]:
        source = spec.labels if user_labels is None else user_labels
        labels = {str(k): str(v) for k, v in source.items() if not is_managed_label(str(k))}
        labels[MARK_KEY] = label_value(spec.name)
        labels[OWNER_KEY] = owner
        if digest:
            labels[DIGEST_KEY] = encode_digest(digest)
        if deployed_code:
            labels[DEPLOYED_CODE_KEY] = deployed_code
        return labels

    def _record_deployed_code(self, name: str, fn: dict[str, Any]) -> ObservedFunction:
        """After a deploy of source: if the provenance the backend resolved is not the one we
        predicted (the label we sent), correct the label (one more patch; not needed when the
        upload answered its generation, as Cloud Storage and the emulator do)."""
        actual, labels = code_hash(fn.get("buildConfig") or {}), fn.get("labels") or {}
        if actual and actual != labels.get(DEPLOYED_CODE_KEY):
            fn = self._patch_labels(fn["name"], {**labels, DEPLOYED_CODE_KEY: actual}, f"recording the code of {name}")
        return _observed(self.name, fn, label_value(name))

    def _patch_labels(self, resource: str, labels: dict[str, str], what: str) -> dict[str, Any]:
        """Replace the function's labels and nothing else (update mask ``labels``); the result as JSON."""
        from google.cloud import functions_v2
        from google.protobuf import field_mask_pb2

        client = self._get_client()
        function = functions_v2.Function(name=resource, labels=dict(labels))
        result = self._run(what, lambda: client.update_function(
            request={"function": function, "update_mask": field_mask_pb2.FieldMask(paths=["labels"])},
            retry=self._retry(idempotent=False), timeout=self.timeout_s))
        return _as_json(result)

    def _find(self, name: str, resource_id: str, action: str) -> dict[str, Any] | None:
        """The function ``resource_id`` names, else the one observe() shows as ``name`` (as
        JSON); None if gone."""
        if resource_id:
            return self._get(resource_id)
        observation = self.observe()
        item = observation.items.get(label_value(name)) or observation.items.get(name)
        if item is None:
            if not observation.complete:
                raise ApplyError(f"gcp: cannot find {name} to {action}: the listing was incomplete "
                                 f"({'; '.join(observation.errors)})")
            return None
        return self._get(item.resource_id)

    def _get(self, name: str) -> dict[str, Any] | None:
        """The Function as JSON, or None when it does not exist."""
        from google.api_core import exceptions

        try:
            fn = self._get_client().get_function(request={"name": name}, retry=self._retry(), timeout=self.timeout_s)
        except exceptions.NotFound:
            return None
        except Exception as exc:
            raise ApplyError(f"gcp: cannot read {name}: {_short(exc)}") from exc
        return _as_json(fn)

    def _upload(self, parent: str, spec: FunctionSpec) -> Any:
        """Zip spec.source, PUT it to a fresh upload URL, return the StorageSource to deploy from."""
        import requests

        client = self._get_client()
        package = zip_source(spec.source, spec.name)
        try:
            response = client.generate_upload_url(request={"parent": parent}, retry=self._retry(),
                                                  timeout=self.timeout_s)
            put = requests.put(response.upload_url, data=package,
                               headers={"content-type": "application/zip"}, timeout=self.timeout_s)
            put.raise_for_status()
        except Exception as exc:
            raise ApplyError(f"gcp: uploading the source of {spec.name} failed: {_short(exc)}") from exc
        storage = response.storage_source
        # Cloud Storage answers the new object's generation: deploying that generation pins
        # the source (and lets us know the provenance before the deploy finishes).
        generation = put.headers.get("x-goog-generation", "")
        if generation.isdigit():
            storage.generation = int(generation)
        return storage

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

    # ------------------------------------------------------------------ import
    def _unmarked_raw(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """The functions (whole, as JSON) whose id is one of ``names``, over the configured locations."""
        wanted, found = set(names), {}
        for location in self.locations:
            parent = f"projects/{self.project}/locations/{location}"
            try:
                for page in self._list_pages(parent):
                    for fn in page.get("functions", ()):
                        fid = fn["name"].rsplit("/", 1)[-1]
                        if fid in wanted:
                            found.setdefault(fid, fn)
            except Exception as exc:
                raise ApplyError(f"gcp: listing {parent} failed: {_short(exc)}") from exc
        return found

    def describe_unmarked(self, names: list[str]) -> dict[str, ObservedFunction]:
        """Each named function's configuration as observe() reads a marked one (env in clear),
        plus what import needs: ``target`` (its project and region) and ``deployed_code`` (the
        provider's code identity, as the deployed-code label records it). ``marked`` / ``owner``
        say whether it carries a mark already. A name that is not there raises ApplyError."""
        raw = self._unmarked_raw(list(names))
        found: dict[str, ObservedFunction] = {}
        for name in names:
            fn = raw.get(name)
            if fn is None:
                raise ApplyError(f"gcp: no function {name} in project {self.project} ({', '.join(self.locations)})")
            labels = fn.get("labels") or {}
            seen = _observed(self.name, fn, name)
            values = dict(seen.values)
            code = code_hash(fn.get("buildConfig") or {})
            values["code_digest"] = DRIFT_PREFIX + code if code else ""
            parts = fn["name"].split("/")
            values["target"] = {"project": parts[1], "region": parts[3]}
            values["deployed_code"] = code
            found[name] = ObservedFunction(name=name, component=self.name, values=values, resource_id=fn["name"],
                                           marked=MARK_KEY in labels, summary=seen.summary,
                                           owner=labels.get(OWNER_KEY) or None)
        return found

    def download_code(self, seen: ObservedFunction, folder: Path) -> str:
        """Unpack the function's source archive (generateDownloadUrl, then a GET of the signed
        URL it answers) into ``folder``; "" when written, else why not."""
        import requests

        try:
            answer = self._get_client().generate_download_url(request={"name": seen.resource_id},
                                                              retry=self._retry(), timeout=self.timeout_s)
            got = requests.get(answer.download_url, timeout=self.timeout_s)
            got.raise_for_status()
            extract_package(got.content, folder)
        except Exception as exc:
            return f"its source archive could not be downloaded ({_short(exc)})"
        return ""

    def mark_imported(self, name: str, code_digest: str, deployed_code: str,
                      resource_id: str = "", spec: FunctionSpec | None = None) -> ObservedFunction:
        """Label an unmarked function with this registry's mark: its name, our identity, the
        digest of the source import wrote and the provider's code identity read at import. A
        labels-only patch (update mask ``labels``): configuration and code never change.
        Refuses a function that got a mark meanwhile or whose code changed since it was read. (``spec`` is what it shows
        already: the tags/labels alone mark it.)"""
        owner = self._owner("import", name)
        current = self._get(resource_id) if resource_id else self._unmarked_raw([name]).get(name)
        if current is None:
            raise ApplyError(f"gcp: cannot import {name}: it does not exist (any more)")
        current_labels = current.get("labels") or {}
        if current_labels.get(MARK_KEY):
            raise ApplyError(f"gcp: {name} carries the {MARK_KEY} label already; not importing it")
        now = code_hash(current.get("buildConfig") or {})
        if deployed_code and now != deployed_code:
            raise ApplyError(f"gcp: the source of {name} changed while it was being imported; run import again")
        labels = {**current_labels, MARK_KEY: label_value(name), OWNER_KEY: owner}
        if code_digest:
            labels[DIGEST_KEY] = encode_digest(code_digest)
        if now:
            labels[DEPLOYED_CODE_KEY] = now
        marked = self._patch_labels(current["name"], labels, f"marking {name}")
        return _observed(self.name, marked, label_value(name))


# ---------------------------------------------------------------------- mapping
def _observed(component: str, fn: dict[str, Any], mark: str) -> ObservedFunction:
    """A Function in its JSON mapping → ObservedFunction (raw values; env in plain text). A
    field the JSON leaves out has its protobuf default (``""``, ``0``, empty)."""
    build, service = fn.get("buildConfig") or {}, fn.get("serviceConfig") or {}
    labels = fn.get("labels") or {}
    runtime = build.get("runtime", "")
    memory = memory_mb(service.get("availableMemory", ""))
    state = _STATES.get(fn.get("state", ""), "unknown")
    name = fn["name"]
    region = name.split("/")[3] if name.count("/") >= 5 else ""
    code_digest = decode_digest(labels.get(DIGEST_KEY, ""))
    deployed = labels.get(DEPLOYED_CODE_KEY)
    if deployed:
        # Our digest holds only while the source is the one we deployed; a source replaced out
        # of band shows as a value no registry digest has.
        current = code_hash(build)
        if current and current != deployed:
            code_digest = DRIFT_PREFIX + current
    values = {
        "runtime": runtime,
        "entry_point": build.get("entryPoint", ""),
        "memory": memory,
        "timeout": int(service.get("timeoutSeconds", 0)),
        "env": dict(service.get("environmentVariables") or {}),
        "labels": {k: v for k, v in labels.items() if not is_managed_label(k)},
        "code_digest": code_digest,
        "state": state,
    }
    return ObservedFunction(name=mark, component=component, values=values, resource_id=name, marked=True,
                            summary=f"{region} · {state} · {runtime} · {memory} MB",
                            owner=labels.get(OWNER_KEY) or None)


def _source_exists(spec: FunctionSpec) -> bool:
    return bool(spec.source) and Path(spec.source).exists()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def _failed(component: str, error: str, started: float, at: str) -> Observation:
    observation = Observation.failed(component, error)
    observation.observed_at = at
    observation.duration_s = time.perf_counter() - started
    return observation
