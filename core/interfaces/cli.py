"""The management commands' face: an expected failure becomes one line and exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from core.errors import ServiceError
from core.interfaces.errors import error_text


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn expected failures into ``CODE: message — advice`` and exit status 1."""
    try:
        yield
    except ServiceError as error:
        raise CommandError(error_text(error)) from None
