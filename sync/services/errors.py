"""Domain errors of the sync services; every interface (admin, GraphQL, REST, commands) renders them."""

from __future__ import annotations

from jiraplus.errors import ServiceError

__all__ = ["AlreadyExists", "InvalidInput", "NotAuthenticated", "NotFound", "ServiceError"]


class NotFound(ServiceError):
    code = "NOT_FOUND"


class InvalidInput(ServiceError):
    code = "INVALID_INPUT"


class AlreadyExists(ServiceError):
    code = "ALREADY_EXISTS"


class NotAuthenticated(ServiceError):
    """The caller did not prove who it is (e.g. a webhook whose signature does not match)."""

    code = "NOT_AUTHENTICATED"
