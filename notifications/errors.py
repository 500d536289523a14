"""Typed errors of the communication service: ``jiraplus.errors.ServiceError`` with this app's codes."""

from __future__ import annotations

from jiraplus.errors import ServiceError


class NotificationError(ServiceError):
    code = "NOTIFICATION_ERROR"


class InvalidInput(NotificationError):
    code = "INVALID_INPUT"


class NotFound(NotificationError):
    code = "NOT_FOUND"
