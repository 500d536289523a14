"""Typed errors of the communication service.

``notifications`` depends on nothing but Django, so it cannot reuse ``sync.services.errors``; these
errors keep the same shape (``code``, ``message``, ``advice``, ``field``) so every interface renders
them the same way.
"""

from __future__ import annotations

from typing import Any


class NotificationError(Exception):
    code = "NOTIFICATION_ERROR"

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


class InvalidInput(NotificationError):
    code = "INVALID_INPUT"


class NotFound(NotificationError):
    code = "NOT_FOUND"
