"""Who may steer syncs: staff, or anyone holding ``sync.operate_sync`` (the "Sync operators" group)."""

from __future__ import annotations

from typing import Any

from core.permissions import can_operate

OPERATE_SYNC = "sync.operate_sync"
OPERATORS_GROUP = "Sync operators"


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
