"""The admin's face: one control run as an admin message, behind the app's operate check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from core.errors import ServiceError
from core.interfaces.errors import error_text


def operate(
    request: HttpRequest,
    control: Callable[[], str],
    *,
    may_operate: Callable[[Any], bool],
    denied: str,
    prefix: str = "",
) -> bool:
    """Check the permission, run ``control`` (it returns the success message) and report the outcome as
    one admin message; True when it succeeded. ``prefix`` names the object in an error message."""
    if not may_operate(request.user):
        messages.error(request, denied)
        return False
    try:
        messages.success(request, control())
    except ServiceError as error:
        messages.error(request, f"{prefix}{error_text(error)}")
        return False
    return True


def actor(request: HttpRequest) -> str:
    """Who the audit trail records as having operated."""
    return str(request.user.get_username())
