"""The one error hierarchy of every app's services: a stable code, a message for a person, advice when useful
and the input field at fault. Every interface (admin, GraphQL, REST, commands) renders these the same way
(``core.interfaces.errors.describe``); anything else is a bug and is masked."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An expected failure; ``str()`` is ``"CODE: message"``."""

    code = "SERVICE_ERROR"

    def __init__(self, message: str, *, code: str | None = None, advice: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.advice = advice
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "advice": self.advice, "field": self.field}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class InvalidInput(ServiceError):
    code = "INVALID_INPUT"


class AlreadyExists(ServiceError):
    code = "ALREADY_EXISTS"


class Conflict(ServiceError):
    """The object is not in a state that allows this (e.g. an orchestration approved already)."""

    code = "CONFLICT"


class NotAuthenticated(ServiceError):
    """The caller did not prove who it is (e.g. a webhook whose signature does not match)."""

    code = "NOT_AUTHENTICATED"


class PermissionDenied(ServiceError):
    code = "PERMISSION_DENIED"


class UpstreamError(ServiceError):
    """A system we call (Jira, a channel) failed; interfaces answer 502, not 400."""

    code = "UPSTREAM_ERROR"
