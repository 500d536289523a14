"""How every API renders a failure: ``{"code", "message", "field"}`` (plus ``advice`` when there is some).

Expected failures (a service's typed error, a classified Jira error, DRF's own) keep their message; anything
else is logged and masked outside DEBUG, because an exception's text may carry data nobody should read.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import Conflict, ServiceError, UpstreamError

logger = logging.getLogger("jiraplus.api")

INTERNAL_ERROR = "INTERNAL_ERROR"


class ErrorBody(TypedDict, total=False):
    code: str
    message: str
    field: str | None
    advice: str
    errors: list[ErrorBody]


def describe(exc: BaseException) -> ErrorBody | None:
    """The public description of an expected failure; None for a bug."""
    if not isinstance(exc, ServiceError):
        return None
    body: ErrorBody = {"code": str(exc.code), "message": exc.message, "field": exc.field or None}
    if exc.advice:
        body["advice"] = exc.advice
    return body


def error_text(error: ServiceError) -> str:
    """One line for a person (admin messages, commands): ``CODE: message — advice``."""
    return f"{error}" + (f" — {error.advice}" if error.advice else "")


def internal_error(exc: BaseException) -> ErrorBody:
    logger.error("API request failed", exc_info=exc)
    message = f"{type(exc).__name__}: {exc}" if settings.DEBUG else "Internal server error"
    return {"code": INTERNAL_ERROR, "message": message, "field": None}


# --- REST ------------------------------------------------------------------------------------------

_API_CODES = {
    exceptions.NotAuthenticated: "UNAUTHENTICATED",
    exceptions.AuthenticationFailed: "UNAUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.Throttled: "THROTTLED",
    exceptions.ValidationError: "INVALID_INPUT",
    exceptions.ParseError: "INVALID_INPUT",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
}

_SERVICE_STATUS = {
    "NOT_FOUND": status.HTTP_404_NOT_FOUND,
    "ALREADY_EXISTS": status.HTTP_409_CONFLICT,
    "CONFLICT": status.HTTP_409_CONFLICT,  # e.g. approving an orchestration that was decided already
    "NOT_AUTHENTICATED": status.HTTP_401_UNAUTHORIZED,
    "PERMISSION_DENIED": status.HTTP_403_FORBIDDEN,
}


def _flatten(detail: Any, field: str | None = None) -> list[tuple[str | None, str]]:
    if isinstance(detail, dict):
        return [pair for key, value in detail.items() for pair in _flatten(value, _join(field, str(key)))]
    if isinstance(detail, list):
        return [pair for item in detail for pair in _flatten(item, field)]
    return [(field, str(detail))]


def _join(prefix: str | None, key: str) -> str | None:
    if key == "non_field_errors":
        return prefix
    return f"{prefix}.{key}" if prefix else key


def _api_exception_body(exc: exceptions.APIException) -> ErrorBody:
    code = next((c for kind, c in _API_CODES.items() if isinstance(exc, kind)), "ERROR")
    items = _flatten(exc.detail)
    field, message = items[0] if items else (None, str(exc))
    body: ErrorBody = {"code": code, "message": message, "field": field}
    if len(items) > 1:
        body["errors"] = [{"code": code, "message": m, "field": f} for f, m in items]
    return body


def rest_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: one shape for every REST error."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
        if getattr(exc, "wait", None):
            headers["Retry-After"] = f"{exc.wait:.0f}"  # type: ignore[attr-defined]
        set_rollback()
        return Response(_api_exception_body(exc), status=exc.status_code, headers=headers)
    body = describe(exc)
    set_rollback()
    if body is None:
        return Response(internal_error(exc), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, UpstreamError):
        return Response(body, status=status.HTTP_502_BAD_GATEWAY)
    if isinstance(exc, Conflict):  # whatever its own code says (NO_ACTIVE_RUN, ...)
        return Response(body, status=status.HTTP_409_CONFLICT)
    return Response(body, status=_SERVICE_STATUS.get(body["code"], status.HTTP_400_BAD_REQUEST))
