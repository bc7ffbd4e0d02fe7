"""AWS Lambda adapter: one region of one account, reached through boto3's own chains.

Endpoint, credentials and region all come from boto3 (``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_LAMBDA``, ``AWS_PROFILE``, env keys, SSO, instance roles...), so the same
code runs against AWS, the sandbox and the tests; only the profile *name* is ever stored.

Observing costs two paginated listings and never one request per function:
``lambda:ListFunctions`` (the configurations) and the Resource Groups Tagging API's
``GetResources`` filtered to ``lambda:function`` resources carrying our ownership tag (Lambda's
listing has no tags). The two are joined by function name. moto implements that tagging
filter for Lambda (``moto/resourcegroupstaggingapi/models.py``, "Lambda Instance"), so the
tests exercise the real path. The tag index lags fresh creates on AWS, so listed functions it
does not show yet and that changed in the last 15 minutes are asked about directly (a
handful at most; more leaves the observation incomplete rather than guessing).

Container-image functions (``PackageType: Image``, declared with ``targets.aws.image``) have no
Runtime or Handler (the image brings them; neither is compared nor ever sent) and their code is
the image: ``code_digest`` ``image:<reference>`` (registry.models.IMAGE_PREFIX). The listing has
no image reference (only GetFunction's ``Code.ImageUri`` does) but does carry CodeSha256, the
digest of the image Lambda resolved; so the digest tag records the reference we deployed and
the deployed-code tag that digest, and while they agree observing asks nothing more. A
function whose code changed since (or that lacks our record) costs one GetFunction, at most
MAX_IMAGE_LOOKUPS an observe.

Versions and aliases: ListFunctions is called without ``FunctionVersion``, so it lists each
function once, as $LATEST; published versions and aliases are parts of it, never functions.

Ownership: every function we deploy carries two tags, ``functions-tui.function`` (its name)
and ``functions-tui.registry`` (the identity of the registry that deployed it, ``registry_id``);
observe() reports every function with the first as an item and the second as its ``owner``
(None for a mark from before identities), and the engine tells ours from foreign ones.
``claim()`` adds the identity tag to such a legacy mark. Code drift: after each deploy of code
``functions-tui.deployed-code`` records the CodeSha256 Lambda reported; ListFunctions shows
the current one, so code replaced out of band reads as ``code_digest`` ``aws:<CodeSha256>``
at no extra call.

A failed page, throttling that outlasts botocore's retries, an unreachable endpoint: any of
these gives ``complete=False`` with the reason; observe() never raises and never reads as
an empty account.

botocore is imported inside methods: ``functions-tui --help`` must not pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from functions_tui.registry.component import ApplyError, Detection, Observation, ObservedFunction
from functions_tui.registry.fingerprint import code_identity
from functions_tui.registry.kinds import Kind, SandboxBackend, register
from functions_tui.registry.limits import Limits, provider_runtime
from functions_tui.registry.models import IMAGE_PREFIX, FunctionSpec, is_managed_label, utc_now
from functions_tui.registry.packaging import PackagingError, extract_package, source_files, warn_sensitive

NAME = "aws"   # the kind's name, and its default instance's
#: Prefix of the code digest reported when Lambda's CodeSha256 is not the one we deployed.
DRIFT_PREFIX = "aws:"

#: Lambda's PackageType of a function deployed as a container image (the other is "Zip").
IMAGE_PACKAGE = "Image"
#: At most this many GetFunction calls per observe to learn which image an image function runs
#: (only for one whose code changed since our deploy, or without our record of it); beyond
#: that its code reads as changed without the reference (``aws:<CodeSha256>``).
MAX_IMAGE_LOOKUPS = 25
#: Lambda's longest tag value: a longer image reference is not kept in the digest tag (observing
#: that function then asks GetFunction each time).
MAX_TAG_VALUE = 256

#: Oldest botocore we trust: knows AWS_ENDPOINT_URL_<SERVICE>, standard retry mode and the
#: Lambda waiters function_active_v2 / function_updated_v2 (compared as versions).
MIN_BOTOCORE = "1.34.0"

#: Config fields that update_function_configuration carries, with their Lambda parameter.
CONFIG_FIELDS = ("runtime", "entry_point", "memory", "timeout", "env")

#: Errors that mean "the credentials are not accepted", distinct from "not allowed".
CREDENTIAL_ERRORS = frozenset({
    "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
    "ExpiredToken", "ExpiredTokenException", "AuthFailure", "SignatureDoesNotMatch",
})
#: The tagging API's index lags a fresh create/tag by seconds to minutes on AWS. A listed
#: function without tags there that changed this recently is checked directly (ListTags),
#: so a function we just created never reads as "not ours" (and so as gone).
TAG_INDEX_LAG_S = 900
#: At most this many such direct checks per observe; more makes the observation incomplete.
MAX_TAG_CHECKS = 25

ACCESS_ERRORS = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})

#: What Lambda accepts (checked at ``add``, registry.limits): the Lambda developer guide's
#: quotas (memory 128-10,240 MB, timeout 900 s, 4 KB of environment variables), its runtime
#: identifiers that still take new functions, CreateFunction's FunctionName (1-64 of
#: [A-Za-z0-9-_]) and the reserved environment variables Lambda sets itself.
LIMITS = Limits(
    provider="AWS Lambda",
    memory_mb=(128, 10240),
    timeout_s=(1, 900),
    runtimes=("nodejs18.x", "nodejs20.x", "nodejs22.x", "python3.9", "python3.10", "python3.11", "python3.12",
              "python3.13", "java8.al2", "java11", "java17", "java21", "dotnet8", "ruby3.2", "ruby3.3", "ruby3.4",
              "provided.al2", "provided.al2023"),
    name_max=64,
    name_pattern=r"[A-Za-z0-9_-]{1,64}",
    name_rule="1 to 64 characters: letters, digits, - and _",
    env_total_bytes=4096,
    env_key_pattern=r"[A-Za-z][A-Za-z0-9_]*",
    env_key_rule="a letter, then letters, digits and _",
    env_reserved=("_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
                  "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                  "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
                  "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                  "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"),
    # Tag rules (https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html): 50 tags
    # a resource, 4 of them ours; "aws:" is AWS's own prefix.
    label_key_pattern=r"(?!aws:)[\w\s+\-=.:/@]{1,128}",
    label_value_pattern=r"[\w\s+\-=.:/@]{0,256}",
    label_rule="keys of 1 to 128 and values of at most 256 letters, digits, spaces and + - = . _ : / @; "
               "keys not starting with aws:",
    labels_max=46,
    # Lambda runs container images from Amazon ECR only, named by tag or by digest
    # (CreateFunction's Code.ImageUri; images-create.html).
    images=True,
    image_pattern=r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/[a-z0-9][a-z0-9._/-]*"
                  r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})",
    image_rule="an Amazon ECR image with a tag or a digest: "
               "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG or ...@sha256:DIGEST",
    source="https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)


def _adapter_arguments(settings: dict[str, Any], env: dict[str, str], default: bool) -> dict[str, Any]:
    """config.yaml's settings of an instance (AWS_REGION / AWS_DEFAULT_REGION and AWS_PROFILE
    over them for the default one). The endpoint stays None unless set: boto3 applies
    AWS_ENDPOINT_URL(_<SERVICE>) per client itself, so the tagging client is not sent to a
    Lambda-only endpoint."""
    return {
        "region": (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") if default else None) or settings.get("region"),
        "profile": (env.get("AWS_PROFILE") if default else None) or settings.get("profile"),
        "endpoint_url": settings.get("endpoint") or None,
        "role_arn": settings.get("role"),
    }


#: Everything the rest of the code knows about Lambda (registry/kinds.py).
KIND = register(Kind(
    name=NAME,
    title="AWS Lambda",
    docs="one region of an AWS account: region, profile, role (default execution role), endpoint",
    label_separator=".",
    default_state="active",
    states=("active",),
    default_policy="component-wins",
    target_fields={"region": "str", "role": "str", "state": "str", "architecture": "str", "image": "str"},
    settings={"region": "str", "profile": "str", "role": "str", "endpoint": "str"},
    example="aws-prod: {kind: aws, profile: prod, region: eu-west-1}",
    settings_help={"region": "or AWS_REGION / AWS_DEFAULT_REGION", "profile": "or AWS_PROFILE",
                   "role": "default execution role ARN for new functions"},
    adapter="functions_tui.components.aws:AwsComponent",
    adapter_arguments=_adapter_arguments,
    limits=LIMITS,
    sandbox=SandboxBackend("functions_tui.components.local_backends.moto_server:sandbox_backend",
                           label="moto (local AWS Lambda)", requires=("moto",)),
))
MARK_KEY = KIND.mark_key
DIGEST_KEY = KIND.digest_key
OWNER_KEY = KIND.owner_key
DEPLOYED_CODE_KEY = KIND.deployed_code_key


def describe_error(exc: BaseException, action: str = "") -> str:
    """One human line for a botocore/boto3 failure, with a hint where there is an obvious fix."""
    from botocore.exceptions import (ClientError, EndpointConnectionError, NoCredentialsError,
                                     NoRegionError, ParamValidationError, ReadTimeoutError,
                                     ConnectTimeoutError, ProfileNotFound)

    prefix = f"{action}: " if action else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", "") or str(exc)
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts")
        text = f"{prefix}{code}: {message}"
        if code in ("TooManyRequestsException", "ThrottlingException", "Throttling"):
            text += f" (throttled; gave up after {attempts} retries)" if attempts else " (throttled)"
        elif code in CREDENTIAL_ERRORS:
            text += " (credentials rejected: run `aws configure` or `aws sso login`)"
        elif code in ACCESS_ERRORS:
            text += " (the credentials lack this permission)"
        elif code == "ResourceConflictException":
            text += " (another update is in progress; retry shortly)"
        return text
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return f"{prefix}cannot reach the endpoint: {exc}"
    if isinstance(exc, ReadTimeoutError):
        return f"{prefix}the endpoint did not answer in time: {exc}"
    if isinstance(exc, NoCredentialsError):
        return f"{prefix}no AWS credentials: run `aws configure` or set AWS_PROFILE"
    if isinstance(exc, NoRegionError):
        return f"{prefix}no AWS region: set AWS_DEFAULT_REGION or the aws region in config"
    if isinstance(exc, ProfileNotFound):
        return f"{prefix}{exc}"
    if isinstance(exc, ParamValidationError):
        return f"{prefix}invalid request: {exc}"
    return f"{prefix}{type(exc).__name__}: {exc}"


#: The two listing calls whose bodies we parse ourselves (see ``fast_listing_parse``).
FAST_PARSE_EVENTS = ("before-parse.lambda.ListFunctions", "before-parse.resource-groups-tagging-api.GetResources")


def fast_listing_parse(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """Parse a successful listing body with orjson instead of botocore's modeled parser.

    botocore walks its shape model field by field: for 1,000 functions that is most of a
    listing's time (measured: ~60% of ListFunctions, more for the tag pages). Both
    operations answer plain JSON whose keys and types are the modeled ones (no blobs, no
    timestamps to convert, no header-bound members), so the decoded body is the parsed
    response. botocore's ``before-parse`` event hands us ``customized_response_dict``, which it
    merges over its own result; we give it the decoded body and an empty one to parse.
    Anything unexpected (an error status, a body that is not a JSON object) is left alone
    for botocore to parse as usual, so errors, retries and ResponseMetadata are unchanged.
    """
    import orjson

    if response_dict.get("status_code") != 200 or not response_dict.get("body"):
        return
    try:
        data = orjson.loads(response_dict["body"])
    except orjson.JSONDecodeError:
        return
    if isinstance(data, dict):
        customized_response_dict.update(data)
        response_dict["body"] = b"{}"


def function_name_from_arn(arn: str) -> str:
    """``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`` → ``NAME`` (a plain name stays)."""
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else arn


def parse_lambda_time(text: str) -> datetime | None:
    """Lambda's LastModified (``2019-08-14T22:24:03.862+0000``; moto: nanoseconds and ``Z``)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", text or "")
    if not match:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else f"{zone[:3]}:{zone[-2:]}"
    return datetime.fromisoformat(f"{base}.{(fraction or '0')[:6].ljust(6, '0')}{zone}")


def tags_to_dict(tag_list: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tag_list}


def code_sha256(package: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip package: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode("ascii")


def code_changed(config: dict[str, Any], tags: dict[str, str]) -> bool:
    """Whether the CodeSha256 Lambda shows differs from the one recorded at our last deploy
    (``DEPLOYED_CODE_KEY``): someone replaced the code (``aws lambda update-function-code``,
    the console). Without that tag (deployed by an older functions-tui) nothing can tell."""
    deployed, current = tags.get(DEPLOYED_CODE_KEY), config.get("CodeSha256")
    return bool(deployed and current and current != deployed)


def observed_code_digest(config: dict[str, Any], tags: dict[str, str], code: dict[str, Any] | None = None) -> str:
    """Our digest tag, unless the code changed out of band.

    A zip function whose code changed reads as ``aws:<CodeSha256>``, a value no registry digest
    has, so code_digest shows as drift. An image function: :func:`image_code_digest` (``code``:
    GetFunction's ``Code``, when asked).
    """
    deployed, current = tags.get(DEPLOYED_CODE_KEY), config.get("CodeSha256")
    changed = bool(deployed and current and current != deployed)   # code_changed, inline: once per function
    if config.get("PackageType") == IMAGE_PACKAGE:
        return image_code_digest(config, tags, changed, code)
    if changed:
        return DRIFT_PREFIX + current
    return tags.get(DIGEST_KEY, "")


def image_code_digest(config: dict[str, Any], tags: dict[str, str], changed: bool,
                      code: dict[str, Any] | None) -> str:
    """An image function's code_digest: ``image:<the reference it runs>``.

    While the code is the one we deployed, our digest tag says which reference that was. Else
    GetFunction's ``code`` does: the reference it was given, or, when that is still the one we
    deployed but the content differs (the tag was moved to another image and the function
    updated with it), the resolved ``repo@sha256:...`` it runs. Without ``code``: changed code
    reads as ``aws:<CodeSha256>`` (the change shows, the reference is unknown).
    """
    ours = tags.get(DIGEST_KEY, "")
    if not changed and ours.startswith(IMAGE_PREFIX):
        return ours
    if code:
        uri, resolved = code.get("ImageUri") or "", code.get("ResolvedImageUri") or ""
        if changed and resolved and ours == IMAGE_PREFIX + uri:
            return IMAGE_PREFIX + resolved
        if uri:
            return IMAGE_PREFIX + uri
    return DRIFT_PREFIX + config["CodeSha256"] if changed else ours


def needs_image_lookup(config: dict[str, Any], tags: dict[str, str]) -> bool:
    """An image function whose reference the listing and our tags cannot give (one GetFunction)."""
    return (config.get("PackageType") == IMAGE_PACKAGE
            and (code_changed(config, tags) or not tags.get(DIGEST_KEY, "").startswith(IMAGE_PREFIX)))


def config_values(config: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint values a Lambda configuration says by itself (no tags needed): observe()
    works these out while the tag pages are still coming in.

    ListFunctions on AWS omits ``State`` (only GetFunction has it), so a missing State reads
    as "active": a listed function exists and serves. An image function has no Runtime and
    no Handler: both read as "" (R has none for a target that runs an image).
    """
    return {
        "runtime": config.get("Runtime") or "",
        "entry_point": config.get("Handler") or "",
        "memory": config.get("MemorySize"),
        "timeout": config.get("Timeout"),
        "env": dict((config.get("Environment") or {}).get("Variables") or {}),
        "state": str(config.get("State") or "active").lower(),
    }


def lambda_values(config: dict[str, Any], tags: dict[str, str], base: dict[str, Any] | None = None,
                  code: dict[str, Any] | None = None) -> dict[str, Any]:
    """Raw fingerprint values from a Lambda configuration (listing or get_function) and its tags
    (``base``: ``config_values(config)`` when already worked out; ``code``: GetFunction's Code).
    An image function also reports its ``target`` (``{"image": reference}``), so adopting it
    declares the image it runs."""
    values = dict(base) if base is not None else config_values(config)
    values["labels"] = {k: v for k, v in tags.items() if not is_managed_label(k)}
    values["code_digest"] = digest = observed_code_digest(config, tags, code)
    if config.get("PackageType") == IMAGE_PACKAGE and digest.startswith(IMAGE_PREFIX):
        values["target"] = {"image": digest[len(IMAGE_PREFIX):]}
    return values


def observed(config: dict[str, Any], tags: dict[str, str], base: dict[str, Any] | None = None,
             code: dict[str, Any] | None = None, *, component: str = NAME) -> ObservedFunction:
    values = lambda_values(config, tags, base, code)
    kind = values["runtime"] or ("image" if config.get("PackageType") == IMAGE_PACKAGE else config.get("PackageType", ""))
    summary = f"lambda {config['FunctionName']} {kind} {values['memory']} MB"
    return ObservedFunction(name=config["FunctionName"], component=component, values=values,
                            resource_id=config.get("FunctionArn", ""), marked=MARK_KEY in tags,
                            summary=summary.strip(), owner=tags.get(OWNER_KEY) or None)


def _digest_tag(spec: FunctionSpec) -> str:
    """The digest tag's value: the code the spec wants here (the source's digest, or
    ``image:<reference>``); "" for a reference too long for a tag (observe then asks)."""
    digest = code_identity(spec, NAME)
    return digest if len(digest) <= MAX_TAG_VALUE else ""


def placeholder_handler(runtime: str, handler: str) -> tuple[str, str]:
    """A tiny file that makes a deployable package when the spec has no source yet."""
    module, _, func = handler.rpartition(".")
    module, func = (module or "main"), (func or "main")
    if runtime.startswith("python"):
        return f"{module}.py", f"def {func}(event, context):\n    return {{'statusCode': 200}}\n"
    if runtime.startswith("nodejs"):
        return f"{module}.js", f"exports.{func} = async () => ({{ statusCode: 200 }});\n"
    return "README.txt", "placeholder package created by functions-tui: the spec has no source\n"


def zip_source(spec: FunctionSpec) -> bytes:
    """The deployment package in memory: the source folder's package (registry.packaging:
    ignore files honoured, secrets left out), or the single source file, else a placeholder."""
    source = Path(spec.source).expanduser() if spec.source else None
    if source is not None and (source.is_file() or source.is_dir()):
        try:
            listing = source_files(source)
        except PackagingError as exc:
            raise ApplyError(f"aws: cannot package {spec.name}: {exc}") from exc
        warn_sensitive(listing, spec.name, NAME)
        return listing.zip_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(*placeholder_handler(spec.runtime, spec.entry_point))
    return buffer.getvalue()


def _check_package_type(spec: FunctionSpec, config: dict[str, Any], component: str = NAME) -> None:
    """Lambda never changes a function's package type: deploying an image to a zip function
    (or source to an image function) is refused here, saying how to get there."""
    image, current = spec.image(component), config.get("PackageType") or "Zip"
    if bool(image) != (current == IMAGE_PACKAGE):
        wanted = f"the image {image}" if image else "a package of its source"
        raise ApplyError(
            f"{spec.name}: the Lambda function is {'an' if current[:1] in 'AEIOU' else 'a'} {current} function "
            f"and the registry wants {wanted}; "
            f"Lambda cannot change a function's package type: delete it on Lambda (`aws lambda "
            f"delete-function --function-name {spec.name}`) and deploy it again (`functions-tui deploy "
            f"{spec.name} --to aws`), or "
            + ("remove targets.aws.image from the declaration" if image else
               "set targets.aws.image in the declaration to the image it should run"))


#: The AWS services this adapter calls (their models are all botocore loads); s3 only to read
#: a package import downloads behind a custom endpoint (components/aws_package.py).
SERVICES = ("lambda", "resourcegroupstaggingapi", "s3")


def _services_we_use_loader(session: Any) -> Any:
    """botocore's model loader, answering "which services exist" for the two we use only.

    Before loading a model, botocore checks the service name against every service it knows,
    found by walking each of its ~400 model folders, once per model type: three walks and
    ~1,300 directory listings, about 25 ms of every command that reaches AWS, for a check
    whose answer for ``lambda`` never changes. Everything else (search paths, the data_path
    setting, extras, caching) is botocore's own Loader."""
    import os

    from botocore.loaders import Loader

    class ServicesWeUseLoader(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            found = set()
            for location in self._potential_locations():
                for service in SERVICES:
                    folder = os.path.join(location, service)
                    if os.path.isdir(folder) and any(
                            self.file_loader.exists(os.path.join(folder, version, type_name))
                            for version in os.listdir(folder)):
                        found.add(service)
            return sorted(found)

    data_path = session.get_config_variable("data_path")   # AWS_DATA_PATH, as botocore.loaders.create_loader
    paths = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else []
    return ServicesWeUseLoader(extra_search_paths=paths)


class AwsComponent:
    """The ``aws`` component: Lambda functions in one region, marked by a tag."""

    def __init__(self, region: str | None = None, profile: str | None = None,
                 endpoint_url: str | None = None, role_arn: str | None = None, *,
                 max_attempts: int = 5, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 page_size: int = 50, wait_timeout_s: float = 300.0, fast_parse: bool = True,
                 registry_id: str = "", name: str = NAME) -> None:
        self.name = name   # the instance (config.yaml ``components:``), "aws" by default
        #: The registry's identity, written as OWNER_KEY on everything we deploy or claim
        #: (set by the service before any create/update/claim; empty refuses those).
        self.registry_id = registry_id
        self.region = region
        self.profile = profile
        self.endpoint_url = endpoint_url
        self.role_arn = role_arn
        self.max_attempts = max_attempts  # botocore's meaning: retries after the first try
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.page_size = page_size  # ListFunctions MaxItems: 50 is the API's maximum
        self.wait_timeout_s = wait_timeout_s
        self.fast_parse = fast_parse
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    # -- clients -------------------------------------------------------------------------

    def _config(self, max_attempts: int | None = None) -> Any:
        from botocore.config import Config

        # Set explicitly: the legacy default mode retries less and differently across
        # SDK versions; standard mode retries throttling and transient errors with backoff.
        return Config(retries={"mode": "standard", "max_attempts": self.max_attempts if max_attempts is None else max_attempts},
                      connect_timeout=self.connect_timeout, read_timeout=self.read_timeout)

    def _new_session(self) -> Any:
        """A botocore session: the same credential, region and endpoint chains as boto3's
        (boto3 only wraps it), without importing boto3, which imports s3transfer and the
        resource layer we never use (~70 ms of every command that reaches AWS)."""
        import botocore.session

        session = botocore.session.Session(profile=self.profile)
        if self.region:
            session.set_config_variable("region", self.region)
        session.register_component("data_loader", _services_we_use_loader(session))
        return session

    def _detect_session(self) -> Any:
        """A new session for detect (a re-detect must see credentials fixed since), kept for the
        clients when none exists yet, so a first run loads the service models once, not twice."""
        session = self._new_session()
        with self._lock:  # botocore sessions are not thread-safe; clients are
            if self._session is None:
                self._session = session
        return session

    def client(self, service: str) -> Any:
        """A cached client (``lambda``, ``resourcegroupstaggingapi``, or ``s3`` for import's
        package download); tests stub these."""
        with self._lock:  # botocore sessions are not thread-safe; clients are
            if service not in self._clients:
                if self._session is None:
                    self._session = self._new_session()
                config = self._config()
                if service == "s3":   # path-style: a custom endpoint (a loopback address) has no per-bucket hosts
                    from botocore.config import Config

                    config = config.merge(Config(s3={"addressing_style": "path"}))
                # endpoint_url=None lets boto3 apply AWS_ENDPOINT_URL(_<SERVICE>) itself.
                client = self._session.create_client(service, endpoint_url=self.endpoint_url, config=config)
                self._clients[service] = self._fast_parsing(client)
            return self._clients[service]

    def _fast_parsing(self, client: Any) -> Any:
        """``client`` with the listings parsed by ``fast_listing_parse`` (unless turned off)."""
        if self.fast_parse:
            for event in FAST_PARSE_EVENTS:
                client.meta.events.register(event, fast_listing_parse)
        return client

    @property
    def lambda_client(self) -> Any:
        return self.client("lambda")

    @property
    def tagging_client(self) -> Any:
        return self.client("resourcegroupstaggingapi")

    # -- detect --------------------------------------------------------------------------

    def detect(self) -> Detection:
        try:
            import botocore
            from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound
            from packaging.version import Version
        except ImportError as exc:
            return Detection(self.name, False, reason=f"boto3 is not installed ({exc})",
                             fix="pip install 'boto3>=1.34'")
        version = botocore.__version__
        if Version(version) < Version(MIN_BOTOCORE):
            return Detection(self.name, False, version=version,
                             reason=f"botocore {version} is older than {MIN_BOTOCORE}",
                             fix="pip install --upgrade boto3 botocore")
        try:
            session = self._detect_session()
            session.get_scoped_config()  # raises ProfileNotFound for a profile that is not there
            region = self.region or session.get_config_variable("region")
        except ProfileNotFound:
            return Detection(self.name, False, version=version, reason=f"AWS profile {self.profile!r} not found",
                             fix=f"run `aws configure --profile {self.profile}` or pick another profile")
        details: dict[str, Any] = {"profile": self.profile or session.get_config_variable("profile") or "default"}
        try:
            credentials = session.get_credentials()
        except Exception as exc:  # a broken profile (bad SSO / process config) raises here
            return Detection(self.name, False, version=version, details=details,
                             reason=f"AWS credentials could not be loaded: {describe_error(exc)}",
                             fix="check ~/.aws/config for this profile, or run `aws configure`")
        if credentials is None:
            return Detection(self.name, False, version=version, details=details,
                             reason="no AWS credentials", fix="run `aws configure` or set AWS_PROFILE")
        details["credential_source"] = getattr(credentials, "method", "")  # e.g. "env"; never the keys
        if not region:
            return Detection(self.name, False, version=version, details=details, reason="no AWS region",
                             fix="set AWS_DEFAULT_REGION or the aws region in config")
        details["region"] = region
        try:
            # A probe with few retries: detection should answer in seconds, not minutes.
            probe = session.create_client("lambda", region_name=region, endpoint_url=self.endpoint_url,
                                          config=self._config(max_attempts=1))
            self._fast_parsing(probe)  # (an endpoint that ignores MaxItems answers every function)
            details["endpoint"] = probe.meta.endpoint_url
            probe.list_functions(MaxItems=1)
            tagging = session.create_client("resourcegroupstaggingapi", region_name=region,
                                            endpoint_url=self.endpoint_url, config=self._config(max_attempts=1))
            self._fast_parsing(tagging)
            tagging.get_resources(ResourceTypeFilters=["lambda:function"], ResourcesPerPage=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            fix = ("run `aws configure` / `aws sso login` to refresh the credentials" if code in CREDENTIAL_ERRORS
                   else "grant lambda:ListFunctions and tag:GetResources" if code in ACCESS_ERRORS
                   else "check the AWS account and region")
            return Detection(self.name, False, version=version, details=details,
                             reason=describe_error(exc, "probe"), fix=fix)
        except BotoCoreError as exc:
            return Detection(self.name, False, version=version, details=details,
                             reason=describe_error(exc, "probe"),
                             fix="check the network, or AWS_ENDPOINT_URL / the aws endpoint in config")
        return Detection(self.name, True, version=version, details=details)

    # -- observe -------------------------------------------------------------------------

    def _list_functions(self) -> tuple[list[dict[str, Any]], str]:
        """Every function once, as its $LATEST configuration, ordered by name; on failure what
        came before and the error.

        No ``FunctionVersion``: ListFunctions then lists only $LATEST, so published versions
        (``NAME:1``...) never show up as functions of their own (aliases never do). A name
        seen on two pages (a listing that shifted between page reads) is one function: the
        later page's configuration is the newer one. Ordered by name so the observation does
        not depend on where the pages were cut or on the order the server lists in.
        """
        by_name: dict[str, dict[str, Any]] = {}
        page_number = 0
        error = ""
        try:
            paginator = self.lambda_client.get_paginator("list_functions")
            for page_number, page in enumerate(paginator.paginate(PaginationConfig={"PageSize": self.page_size}), 1):
                for config in page.get("Functions", []):
                    by_name[config["FunctionName"]] = config
        except Exception as exc:  # any failure makes the listing partial, never an empty account
            error = describe_error(exc, f"ListFunctions page {page_number + 1}")
        return [by_name[name] for name in sorted(by_name)], error

    def _marked_tags(self) -> tuple[dict[str, dict[str, str]], str]:
        """Tags of every Lambda function carrying our mark, by function name."""
        tags: dict[str, dict[str, str]] = {}
        page_number = 0
        try:
            paginator = self.tagging_client.get_paginator("get_resources")
            pages = paginator.paginate(ResourceTypeFilters=["lambda:function"],
                                       TagFilters=[{"Key": MARK_KEY}],
                                       # Both at their maxima: pages are cut at whichever limit
                                       # comes first, and the default tag limit (100) would cut
                                       # pages of 3-tag functions at 33 resources.
                                       ResourcesPerPage=100, TagsPerPage=500)
            for page_number, page in enumerate(pages, 1):
                for mapping in page.get("ResourceTagMappingList", []):
                    tags[function_name_from_arn(mapping["ResourceARN"])] = tags_to_dict(mapping.get("Tags", []))
        except Exception as exc:
            return tags, describe_error(exc, f"tag:GetResources page {page_number + 1}")
        return tags, ""

    def _check_recent_untagged(self, functions: list[dict[str, Any]], tags_by_name: dict[str, dict[str, str]]) -> str:
        """Ask ListTags about listed functions the tag index does not show yet (recent ones only).

        Fills ``tags_by_name`` in place; returns an error when the answer is not whole.
        """
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=TAG_INDEX_LAG_S)
        recent = []
        for config in functions:
            if config["FunctionName"] in tags_by_name:
                continue
            modified = parse_lambda_time(config.get("LastModified", ""))
            if modified is None or modified >= cutoff:
                recent.append(config)
        if len(recent) > MAX_TAG_CHECKS:
            return (f"{len(recent)} recently changed functions are not in the tag index yet; "
                    f"ownership unknown until it catches up (retry in a few minutes)")
        for config in recent:
            try:
                response = self.lambda_client.list_tags(Resource=config["FunctionArn"])
            except Exception as exc:
                return describe_error(exc, f"ListTags {config['FunctionName']}")
            tags_by_name[config["FunctionName"]] = dict(response.get("Tags") or {})
        return ""

    def observe(self) -> Observation:
        started = time.perf_counter()
        observation = Observation(component=self.name, observed_at=utc_now())
        try:
            # The two listings are independent: run them side by side (clients are thread-safe).
            # The tag listing builds its own client on its thread (``client`` serializes the
            # session), while this one already lists: ~30 ms of service-model loading off
            # the wall time of every observe.
            self.client("lambda")
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aws-observe") as pool:
                marks = pool.submit(self._marked_tags)  # the longer one (a page per 100 functions)
                functions, list_error = self._list_functions()
                # What the configurations say by themselves, worked out while the tag pages come in.
                bases = {config["FunctionName"]: config_values(config) for config in functions}
                tags_by_name, tags_error = marks.result()
        except Exception as exc:  # client construction (no region, bad profile...)
            failed = Observation.failed(self.name, describe_error(exc, "observe"))
            failed.observed_at, failed.duration_s = observation.observed_at, time.perf_counter() - started
            return failed
        for error in (list_error, tags_error):
            if error:
                observation.complete = False
                observation.errors.append(error)
        check_error = "" if tags_error else self._check_recent_untagged(functions, tags_by_name)
        if check_error:
            observation.complete = False
            observation.errors.append(check_error)
        ownership_known = not (tags_error or check_error)
        lookups: list[tuple[dict[str, Any], dict[str, str]]] = []
        for config in functions:
            name = config["FunctionName"]
            tags = tags_by_name.get(name)
            if tags is not None and MARK_KEY in tags:
                observation.items[name] = observed(config, tags, bases.get(name), component=self.name)
                if config.get("PackageType") == IMAGE_PACKAGE and needs_image_lookup(config, tags):
                    lookups.append((config, tags))
            elif tags is not None or ownership_known:
                # Only when the tag listing was whole (or we asked) do we know it is not ours.
                observation.unmarked.append(name)
        # Tagged but not listed: the tag index lags deletions on AWS; the listing decides
        # what exists, so these are neither items nor unmarked.
        self._look_up_images(observation, lookups, bases)
        observation.duration_s = time.perf_counter() - started
        return observation

    def _look_up_images(self, observation: Observation, lookups: list[tuple[dict[str, Any], dict[str, str]]],
                        bases: dict[str, dict[str, Any]]) -> None:
        """Ask GetFunction which image each of ``lookups`` runs (image functions whose code
        changed since our deploy, or without our record of it): at most MAX_IMAGE_LOOKUPS.

        A lookup that fails, or one past the limit, leaves the item as the listing read it
        (changed code as ``aws:<CodeSha256>``) with the reason in its summary: the function is
        listed, so the observation stays complete; only its reference is unknown, and a pull
        of it is refused (registry.apply) rather than guessed.
        """
        for number, (config, tags) in enumerate(lookups):
            name = config["FunctionName"]
            item = observation.items[name]
            if number >= MAX_IMAGE_LOOKUPS:
                item.summary += f" (image not looked up: more than {MAX_IMAGE_LOOKUPS} changed image functions)"
                continue
            try:
                code = self.lambda_client.get_function(FunctionName=name).get("Code") or {}
            except Exception as exc:
                item.summary += f" (image unknown: {describe_error(exc, f'GetFunction {name}')})"
                continue
            observation.items[name] = observed(config, tags, bases.get(name), code)

    # -- apply ---------------------------------------------------------------------------

    def _check_region(self, spec: FunctionSpec) -> None:
        wanted = spec.targets.get(self.name, {}).get("region")
        actual = self.lambda_client.meta.region_name
        if wanted and wanted != actual:
            raise ApplyError(f"{spec.name}: targets aws region {wanted} but the aws component works in "
                             f"{actual}; set the aws region in config (or AWS_DEFAULT_REGION) to {wanted}")

    def _owner(self, action: str, name: str) -> str:
        """The identity to write; never deploy or claim a resource without one."""
        if not self.registry_id:
            raise ApplyError(f"{name}: cannot {action}: the registry has no identity yet (registry_id is "
                             f"empty), and functions-tui never deploys a resource without its owner")
        return self.registry_id

    def _tags_for(self, spec: FunctionSpec) -> dict[str, str]:
        tags = {k: str(v) for k, v in spec.labels.items() if not is_managed_label(k)}
        tags[MARK_KEY] = spec.name
        tags[OWNER_KEY] = self.registry_id
        digest = _digest_tag(spec)
        if digest:
            tags[DIGEST_KEY] = digest
        return tags

    def _call(self, action: str, method: Any, **kwargs: Any) -> Any:
        """One Lambda call; any botocore failure becomes an ApplyError saying what failed."""
        try:
            return method(**kwargs)
        except ApplyError:
            raise
        except Exception as exc:
            raise ApplyError(describe_error(exc, action)) from exc

    def _wait(self, name: str, waiter_name: str) -> None:
        """Wait for State Active / LastUpdateStatus Successful (AWS refuses the next update until then)."""
        delay = 2
        self._call(f"wait for {name}", self.lambda_client.get_waiter(waiter_name).wait, FunctionName=name,
                   WaiterConfig={"Delay": delay, "MaxAttempts": max(1, int(self.wait_timeout_s / delay))})

    def _current(self, name: str) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
        """The function's configuration, tags and Code (an image function's reference is there)."""
        response = self._call(f"GetFunction {name}", self.lambda_client.get_function, FunctionName=name)
        return response["Configuration"], dict(response.get("Tags") or {}), dict(response.get("Code") or {})

    def _settle(self, name: str, config: dict[str, Any]) -> None:
        if config.get("State") == "Pending":
            self._wait(name, "function_active_v2")
        if config.get("LastUpdateStatus") == "InProgress":
            self._wait(name, "function_updated_v2")

    def create(self, spec: FunctionSpec) -> ObservedFunction:
        self._owner("create", spec.name)
        self._check_region(spec)
        role = spec.targets.get(self.name, {}).get("role") or self.role_arn
        if not role:
            raise ApplyError(f"{spec.name}: no IAM role for Lambda: set targets.aws.role in function.yaml "
                             f"or the aws role_arn in config")
        image = spec.image(self.name)
        tags = self._tags_for(spec)
        if image:
            # The image brings its runtime and handler: Lambda takes neither with PackageType
            # Image. Its CodeSha256 is the digest Lambda resolves the reference to, known only
            # from the answer (tagged below).
            package_args: dict[str, Any] = {"PackageType": IMAGE_PACKAGE, "Code": {"ImageUri": image}}
        else:
            package = zip_source(spec)
            # Lambda's CodeSha256 of a zip upload is the package's SHA-256: known before the call,
            # so the deployed-code tag rides on CreateFunction (checked against the answer below).
            tags[DEPLOYED_CODE_KEY] = code_sha256(package)
            package_args = {"Runtime": provider_runtime(LIMITS, spec.runtime), "Handler": spec.entry_point,
                            "Code": {"ZipFile": package}}
        config = self._call(
            f"CreateFunction {spec.name}", self.lambda_client.create_function,
            FunctionName=spec.name, Role=role, **package_args, MemorySize=int(spec.memory),
            Timeout=int(spec.timeout), Environment={"Variables": {k: str(v) for k, v in spec.env.items()}},
            Tags=tags, Publish=False)
        if image and not config.get("CodeSha256") and (
                config.get("State") == "Pending" or config.get("LastUpdateStatus") == "InProgress"):
            self._settle(spec.name, config)   # (the digest may come only once the image is resolved)
            config, _, _ = self._current(spec.name)
        reported = config.get("CodeSha256")
        if reported and reported != tags.get(DEPLOYED_CODE_KEY):
            tags[DEPLOYED_CODE_KEY] = reported  # what Lambda says it holds is what we compare with
            self._call(f"TagResource {spec.name}", self.lambda_client.tag_resource,
                       Resource=config["FunctionArn"], Tags={DEPLOYED_CODE_KEY: reported})
        if config.get("State") == "Pending" or config.get("LastUpdateStatus") == "InProgress":
            self._settle(spec.name, config)
            config, _, _ = self._current(spec.name)
        return observed(config, tags, code={"ImageUri": image} if image else None, component=self.name)

    def update(self, spec: FunctionSpec, fields: list[str]) -> ObservedFunction:
        self._owner("update", spec.name)
        self._check_region(spec)
        name = spec.name
        config, tags, code = self._current(name)
        if tags.get(MARK_KEY) is None:
            raise ApplyError(f"{name}: the Lambda function has no {MARK_KEY} tag; functions-tui only "
                             f"changes functions it created")
        if "state" in fields and spec.desired_state(self.name) != "active":
            raise ApplyError(f"{name}: Lambda functions have no stop/start; set targets.aws.state to active")
        image = spec.image(self.name)
        if "code_digest" in fields:
            _check_package_type(spec, config, self.name)
        self._settle(name, config)
        changes: dict[str, Any] = {}
        # An image function's runtime and handler are its image's: never sent (Lambda refuses
        # them for PackageType Image), whatever the fields say.
        own_runtime = not image and config.get("PackageType") != IMAGE_PACKAGE
        if "runtime" in fields and own_runtime:
            changes["Runtime"] = provider_runtime(LIMITS, spec.runtime)
        if "entry_point" in fields and own_runtime:
            changes["Handler"] = spec.entry_point
        if "memory" in fields:
            changes["MemorySize"] = int(spec.memory)
        if "timeout" in fields:
            changes["Timeout"] = int(spec.timeout)
        if "env" in fields:
            changes["Environment"] = {"Variables": {k: str(v) for k, v in spec.env.items()}}
        if changes:
            result = self._call(f"UpdateFunctionConfiguration {name}",
                                self.lambda_client.update_function_configuration, FunctionName=name, **changes)
            self._settle(name, result)
        deployed_code = tags.get(DEPLOYED_CODE_KEY)
        if "code_digest" in fields:
            package = {"ImageUri": image} if image else {"ZipFile": zip_source(spec)}
            result = self._call(f"UpdateFunctionCode {name}", self.lambda_client.update_function_code,
                                FunctionName=name, **package)
            self._settle(name, result)
            if image and result.get("LastUpdateStatus") == "InProgress":
                result = self._current(name)[0]   # the digest of the image as Lambda resolved it
            deployed_code = result.get("CodeSha256") or deployed_code
        # The tags we want: the spec's labels when they are to change (else the current ones),
        # our name mark and identity, the digest and deployed-code hash of what now runs.
        wanted = self._tags_for(spec) if "labels" in fields else {
            **{k: v for k, v in tags.items() if not is_managed_label(k)},
            MARK_KEY: name, OWNER_KEY: self.registry_id}
        if "code_digest" not in fields:
            wanted.pop(DIGEST_KEY, None)
            if DIGEST_KEY in tags:
                wanted[DIGEST_KEY] = tags[DIGEST_KEY]
        elif _digest_tag(spec):
            wanted[DIGEST_KEY] = _digest_tag(spec)
        if deployed_code:
            wanted[DEPLOYED_CODE_KEY] = deployed_code
        if self._retag(name, config["FunctionArn"], tags, wanted) or changes or "code_digest" in fields:
            config, tags, code = self._current(name)
        return observed(config, tags, code=code, component=self.name)

    def _retag(self, name: str, arn: str, current: dict[str, str], wanted: dict[str, str]) -> bool:
        """Make the tags ``wanted`` with the fewest calls; True when anything was sent."""
        stale = sorted(k for k in current if k not in wanted
                       and (k in (DIGEST_KEY, DEPLOYED_CODE_KEY) or not is_managed_label(k)))
        if stale:
            self._call(f"UntagResource {name}", self.lambda_client.untag_resource, Resource=arn, TagKeys=stale)
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        if changed:
            self._call(f"TagResource {name}", self.lambda_client.tag_resource, Resource=arn, Tags=changed)
        return bool(stale or changed)

    def delete(self, name: str, resource_id: str = "") -> None:
        from botocore.exceptions import ClientError

        target = function_name_from_arn(resource_id) if resource_id else name
        try:
            response = self.lambda_client.get_function(FunctionName=target)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return  # already gone: deleting is idempotent (an interrupted delete may be replayed)
            raise ApplyError(describe_error(exc, f"GetFunction {target}")) from exc
        except Exception as exc:
            raise ApplyError(describe_error(exc, f"GetFunction {target}")) from exc
        if MARK_KEY not in (response.get("Tags") or {}):
            raise ApplyError(f"{target}: refusing to delete a Lambda function without the {MARK_KEY} tag "
                             f"(functions-tui never deletes what it did not create)")
        self._call(f"DeleteFunction {target}", self.lambda_client.delete_function, FunctionName=target)

    def claim(self, name: str, resource_id: str = "") -> ObservedFunction:
        """Write this registry's identity tag onto a function carrying our name mark, and
        nothing else (one TagResource); returns the function as observe() would show it."""
        owner = self._owner("claim", name)
        target = function_name_from_arn(resource_id) if resource_id else name
        config, tags, code = self._current(target)
        if MARK_KEY not in tags:
            raise ApplyError(f"{target}: refusing to claim a Lambda function without the {MARK_KEY} tag "
                             f"(functions-tui only claims what carries its mark; `import` adopts others)")
        if tags.get(OWNER_KEY) != owner:
            self._call(f"TagResource {target}", self.lambda_client.tag_resource,
                       Resource=config["FunctionArn"], Tags={OWNER_KEY: owner})
            tags[OWNER_KEY] = owner
        return observed(config, tags, code=code, component=self.name)

    # -- import (functions-tui import: bring an unmarked function under management) ----------

    def describe_unmarked(self, names: list[str]) -> dict[str, ObservedFunction]:
        """Each named function's configuration as observe() reads a marked one (env in clear),
        read with one GetFunction each; plus what import needs: ``target`` (its region, or the
        image a container-image function runs), ``deployed_code`` (Lambda's CodeSha256 now)
        and ``code_location`` (GetFunction's presigned URL of the zip package, if any).
        ``marked`` / ``owner`` say whether it carries a mark already (import refuses those).
        A name that is not there raises ApplyError naming it."""
        found: dict[str, ObservedFunction] = {}
        for name in names:
            config, tags, code = self._current(name)
            values = lambda_values(config, {k: v for k, v in tags.items() if not is_managed_label(k)}, code=code)
            image = config.get("PackageType") == IMAGE_PACKAGE
            values["code_digest"] = (IMAGE_PREFIX + code["ImageUri"]) if image and code.get("ImageUri") else (
                DRIFT_PREFIX + str(config.get("CodeSha256") or ""))
            values["target"] = ({"image": code["ImageUri"]} if image and code.get("ImageUri")
                                else {"region": self.lambda_client.meta.region_name})
            values["deployed_code"] = config.get("CodeSha256") or ""
            values["code_location"] = "" if image else str(code.get("Location") or "")
            seen = observed(config, tags, component=self.name)
            found[name] = ObservedFunction(name=name, component=self.name, values=values,
                                           resource_id=seen.resource_id, marked=seen.marked,
                                           summary=seen.summary, owner=seen.owner)
        return found

    def download_code(self, seen: ObservedFunction, folder: Path) -> str:
        """Unpack the zip package GetFunction's ``Code.Location`` points at into ``folder``
        (components/aws_package.py: the presigned URL on AWS; behind a custom endpoint, the
        same S3 object asked of that endpoint), once its SHA-256 is Lambda's CodeSha256; ""
        when written, else why not (an image function's code is its image; a location this
        machine cannot fetch). Only the package's own files are written."""
        from functions_tui.components.aws_package import fetch

        if seen.values.get("target", {}).get("image"):
            return "its code is the container image named in targets (nothing to download)"
        location = seen.values.get("code_location") or ""
        if not location:
            return "Lambda gave no code location"
        try:
            package, how = fetch(location, self.lambda_client.meta.endpoint_url, lambda: self.client("s3"),
                                 timeout=self.read_timeout)
        except Exception as exc:
            return f"its code location could not be downloaded here ({describe_error(exc)[:200]})"
        expected = str(seen.values.get("deployed_code") or "")
        if expected and code_sha256(package) != expected:
            return (f"the package downloaded ({how}) is not the one Lambda runs (its SHA-256 is not the"
                    " function's CodeSha256): not written")
        try:
            extract_package(package, folder)
        except Exception as exc:
            return f"its package could not be unpacked ({type(exc).__name__}: {str(exc)[:120]})"
        seen.values.setdefault("notes", []).append(f"code: the package Lambda runs (CodeSha256 checked), read with {how}")
        return ""

    def mark_imported(self, name: str, code_digest: str, deployed_code: str,
                      resource_id: str = "", spec: FunctionSpec | None = None) -> ObservedFunction:
        """Tag an unmarked function with this registry's mark: its name, our identity, the
        digest of the source import wrote (``code_digest``) and Lambda's CodeSha256 read at
        import (``deployed_code``). One TagResource: configuration and code are never touched.
        Refuses a function that got a mark meanwhile or whose code changed since it was read. (``spec`` is what it shows
        already: the tags/labels alone mark it.)"""
        owner = self._owner("import", name)
        config, tags, _ = self._current(name)
        if MARK_KEY in tags:
            raise ApplyError(f"{name}: it carries the {MARK_KEY} tag already; not importing it")
        if deployed_code and config.get("CodeSha256") != deployed_code:
            raise ApplyError(f"{name}: its code changed on Lambda while it was being imported; run import again")
        wanted = {MARK_KEY: name, OWNER_KEY: owner, DEPLOYED_CODE_KEY: str(config.get("CodeSha256") or "")}
        if code_digest and len(code_digest) <= MAX_TAG_VALUE:
            wanted[DIGEST_KEY] = code_digest
        self._call(f"TagResource {name}", self.lambda_client.tag_resource,
                   Resource=config["FunctionArn"], Tags={k: v for k, v in wanted.items() if v})
        config, tags, code = self._current(name)
        return observed(config, tags, code=code, component=self.name)

