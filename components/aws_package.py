"""A Lambda function's deployment package, fetched from where GetFunction's ``Code.Location``
says it is (``functions-tui import aws``).

On AWS the location is a presigned URL of an object in a bucket of Lambda's own
(``awslambda-REGION-tasks.s3.REGION.amazonaws.com/KEY?X-Amz-...``): fetched as it is.

Behind a custom endpoint (``AWS_ENDPOINT_URL`` / ``config.yaml``'s ``endpoint``: moto,
LocalStack, a proxy) Lambda's answer may still name AWS's S3 hosts, which are not where that
service keeps anything, and this machine may not even reach them. The same object is then
asked of the S3 API on the endpoint this component's clients use (GetObject BUCKET KEY, as
botocore resolves it: ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``). A location on another
host (LocalStack answers with its own) is fetched as it is.

moto, for the record: it gives every zip function such a location on bucket
``awslambda-REGION-tasks`` with its ``S3Key``, but keeps a package uploaded inline (ZipFile) in
memory only (moto/awslambda/models.py, "TODO: we should be putting this in a lambda bucket"),
so no API serves that one and import says so. A function deployed from S3 has its own key
there; the object is served when its bucket is that one.
"""

from __future__ import annotations

import re
import urllib.request
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

#: Lambda's largest package (a zip deployed from S3: 250 MB unzipped, so less zipped); more
#: than this is not read.
MAX_PACKAGE_BYTES = 256 * 1024 * 1024

_S3_HOST = re.compile(r"^(?:(?P<bucket>.+)\.)?s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")


class PackageTooBig(Exception):
    pass


def is_aws_host(host: str | None) -> bool:
    host = (host or "").lower().rstrip(".")
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn")) or host in ("amazonaws.com", "amazonaws.com.cn")


def s3_object(location: str) -> tuple[str, str] | None:
    """(bucket, key) of a URL on one of AWS's S3 hosts, virtual-hosted or path style; else None."""
    parts = urlsplit(location)
    match = _S3_HOST.match((parts.hostname or "").lower())
    if not match:
        return None
    path = unquote(parts.path.lstrip("/"))
    if match["bucket"]:
        return (match["bucket"], path) if path else None
    bucket, _, key = path.partition("/")
    return (bucket, key) if bucket and key else None


def _bounded(read: Callable[[int], bytes]) -> bytes:
    data = read(MAX_PACKAGE_BYTES + 1)
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageTooBig(f"the package is larger than {MAX_PACKAGE_BYTES // 2 ** 20} MB")
    return data


def fetch(location: str, lambda_endpoint: str, s3_client: Callable[[], Any], timeout: float = 60) -> tuple[bytes, str]:
    """The package at ``location`` and how it was fetched (for the import's notes).
    ``lambda_endpoint`` is where the Lambda client talks (its ``meta.endpoint_url``);
    ``s3_client`` makes an S3 client on the same endpoint settings."""
    where = s3_object(location)
    if where is not None and not is_aws_host(urlsplit(lambda_endpoint).hostname):
        bucket, key = where
        body = s3_client().get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return _bounded(body.read), f"S3 GetObject {bucket}/{key} on the endpoint in use ({lambda_endpoint})"
        finally:
            body.close()
    with urllib.request.urlopen(location, timeout=timeout) as response:   # a presigned URL: no credentials needed
        return _bounded(response.read), f"GetFunction's Code.Location ({urlsplit(location).hostname})"
