"""The admin's face: one control run as an admin message, behind the app's operate check, and the
read-only base every trail model's admin shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
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


class ReadOnlyAdmin(admin.ModelAdmin):
    """A trail the services write and people read: editing a row by hand would make it lie, so the admin
    offers no add, change or delete (delete_selected disappears with the delete permission). Operator
    actions stay available when they name their own permission (``permissions=["operate"]``)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
