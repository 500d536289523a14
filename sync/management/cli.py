"""What the sync management commands share: one rendering of service and Jira errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from sync.jira.errors import JiraError
from sync.services.errors import ServiceError


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn expected failures into a one-line error (code, message, advice) and exit status 1."""
    try:
        yield
    except JiraError as error:
        raise CommandError(f"{error.code}: {error.message} — {error.advice}") from None
    except ServiceError as error:
        raise CommandError(str(error)) from None
