"""Who may steer syncs: staff, or anyone holding ``sync.operate_sync`` (the "Sync operators" group)."""

from __future__ import annotations

from typing import Any

from core.permissions import can_operate

OPERATE_SYNC = "sync.operate_sync"
OPERATORS_GROUP = "Sync operators"
OPERATE_SYNC_DENIED = "Operating syncs needs staff or the sync.operate_sync permission (Sync operators group)"


def can_operate_sync(user: Any) -> bool:
    """The one check every interface makes before a sync control (start, pause, reschedule, ...)."""
    return can_operate(user, OPERATE_SYNC)


def ensure_operators_group(*, using: str = "default") -> None:
    from django.contrib.auth.models import Group, Permission

    permission = (
        Permission.objects.using(using)
        .filter(content_type__app_label="sync", codename="operate_sync")
        .first()
    )
    if permission is not None:  # created by post_migrate's create_permissions, which runs first
        group, _ = Group.objects.using(using).get_or_create(name=OPERATORS_GROUP)
        group.permissions.add(permission)


# Registering is an administrator's act, not an operator's: Django's own model permissions, which superusers
# hold and an administrators' group can be given.
ADD_SITE = "sync.add_jirasite"
ADD_PROJECT = "sync.add_project"
DELETE_PROJECT = "sync.delete_project"


def can_administer(user: Any, permission: str) -> bool:
    """An authenticated, active user holding ``permission`` (one of the three above)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return bool(user.has_perm(permission))


def administer_denied(permission: str) -> str:
    return f"This needs the {permission} permission (a superuser or an administrators' group)"
