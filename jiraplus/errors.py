"""The shape of an expected failure, shared by every app's services so every interface (admin, GraphQL,
REST, commands) renders them the same way (``jiraplus.api_errors.describe``)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An expected failure with a stable code, a message for a person and, when useful, advice."""

    code = "SERVICE_ERROR"

    def __init__(self, message: str, *, code: str | None = None, advice: str = "", field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.advice = advice
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "advice": self.advice, "field": self.field}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" — {self.advice}" if self.advice else "")
