"""Reading Cloud Functions' function list over its REST resource: the gcp kind's hot read path.

Every ``status``, sync and panel refresh lists the functions. Through ``FunctionServiceClient``
that costs, per process, ~0.19 s to import ``google.cloud.functions_v2`` (its package imports
the gRPC and asyncio clients with it) and, per 1,000 functions, ~0.08 s in protobuf's
pure-Python JSON parser, which fills a message field by field; together more than half of a cold
``functions-tui status``. Here the same request the client's REST transport sends (``GET
v2/{parent}/functions`` with ``pageSize``/``pageToken`` and the ``X-Goog-FieldMask`` header) goes
through the same kind of session (google-auth's ``AuthorizedSession``), each page is decoded by
``json.loads`` (~5 ms per 1,000) and functions are handed on in the API's JSON mapping
(camelCase keys, enums by name, int64 as strings, defaults left out). A failed call raises the
exception the client would raise (``google.api_core.exceptions.from_http_response``), so
retries and messages stay as they were. Writes and single-function reads still use the client.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

#: Google's host for the v2 API when no endpoint is configured (the client's default).
DEFAULT_HOST = "cloudfunctions.googleapis.com"


def base_url(endpoint: str | None) -> str:
    """The URL the API's paths hang off, as the client's REST transport forms it: an endpoint
    with a scheme as written (the emulator's ``http://``), otherwise ``https://`` + host."""
    host = (endpoint or DEFAULT_HOST).rstrip("/")
    return host if host.startswith(("http://", "https://")) else f"https://{host}"


def session(credentials: Any) -> Any:
    """An authorized HTTP session (google-auth refreshes the token as the client would)."""
    from google.auth.transport.requests import AuthorizedSession

    return AuthorizedSession(credentials)


def list_pages(http: Any, base: str, parent: str, *, page_size: int, timeout: float,
               fields: str = "", retry: Callable | None = None) -> Iterator[dict[str, Any]]:
    """Each page of ``parent``'s functions as the JSON mapping of a ListFunctionsResponse
    (``functions``, ``nextPageToken``, ``unreachable``), following page tokens to the end. Each
    page's call goes through ``retry`` (a google.api_core Retry) when one is given."""
    url = f"{base}/v2/{parent}/functions"
    headers = {"X-Goog-FieldMask": fields} if fields else {}
    token = ""
    seen: set[str] = set()
    while True:
        params: dict[str, Any] = {"pageSize": page_size}
        if token:
            params["pageToken"] = token
        fetch = (lambda p=params: _get_json(http, url, p, headers, timeout))
        page = retry(fetch)() if retry is not None else fetch()
        yield page
        token = page.get("nextPageToken") or ""
        if not token:
            return
        if token in seen:  # a server handing back a token it gave before would loop forever
            raise RuntimeError(f"listing {parent}: the page token {token[:40]!r} came back twice")
        seen.add(token)


def _get_json(http: Any, url: str, params: dict[str, Any], headers: dict[str, str], timeout: float) -> Any:
    import json

    from google.api_core import exceptions

    response = http.get(url, params=params, headers=headers, timeout=timeout)
    if response.status_code >= 400:
        raise exceptions.from_http_response(response)
    return json.loads(response.content or b"{}")
