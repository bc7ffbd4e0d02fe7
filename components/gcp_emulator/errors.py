"""The API's errors, in Google's shape: ``{"error": {"code": HTTP, "message", "status", "details"?}}``.

``status`` is the google.rpc.Code name and ``code`` the HTTP status it maps to
(https://cloud.google.com/apis/design/errors#handling_errors). An error about one field of a
request also carries a ``google.rpc.BadRequest`` detail naming it, as Google's do.
"""

from __future__ import annotations

from typing import Any

# google.rpc.Code name → (its number, the HTTP status Google answers with).
STATUS = {
    "CANCELLED": (1, 499),
    "UNKNOWN": (2, 500),
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "FAILED_PRECONDITION": (9, 400),
    "ABORTED": (10, 409),
    "OUT_OF_RANGE": (11, 400),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
    "DATA_LOSS": (15, 500),
    "UNAUTHENTICATED": (16, 401),
}
#: An injected HTTP failure → the status Google pairs with it.
HTTP_TO_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                  501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class EmulatorError(Exception):
    """An API error; ``field`` (a request field path, e.g. ``function.service_config.timeout_seconds``)
    adds the BadRequest detail that names it."""

    def __init__(self, status: str, message: str, http: int | None = None, field: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = http if http is not None else STATUS.get(status, (2, 500))[1]
        self.field = field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.http, "message": self.message, "status": self.status}
        if self.field:
            error["details"] = [{"@type": BAD_REQUEST_TYPE,
                                 "fieldViolations": [{"field": self.field, "description": self.message}]}]
        return {"error": error}


def invalid(field: str, message: str) -> EmulatorError:
    """400 INVALID_ARGUMENT about one field."""
    return EmulatorError("INVALID_ARGUMENT", message, field=field)
