"""The GraphQL ``systemStatus`` query: the checks behind /readyz and `manage.py doctor`, for operators.

Operators (staff, or the Sync operators group) see every check's name and ok; only staff see the details,
as those name internal addresses (the broker URL, worker host names)."""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import PermissionDenied
from ops.status import Check, system_status_recent
from sync.permissions import can_operate_sync

DENIED = "The system status is for staff and sync operators (the sync.operate_sync permission)"


class SystemCheck(graphene.ObjectType):
    name = graphene.String(required=True)
    ok = graphene.Boolean(required=True)
    detail = graphene.String(description="What the check found; null unless the caller is staff.")


class SystemStatus(graphene.ObjectType):
    ok = graphene.Boolean(required=True, description="Whether every check passes.")
    checks = graphene.List(graphene.NonNull(SystemCheck), required=True)


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))


class Query(graphene.ObjectType):
    system_status = graphene.Field(
        SystemStatus,
        required=True,
        description="Every system check (database, cache, broker, queue consumers, beat, telemetry, "
        "notifications); recomputed at most every OPS_READYZ_CACHE_SECONDS.",
    )

    @staticmethod
    def resolve_system_status(root: object, info: graphene.ResolveInfo) -> SystemStatus:
        user = info.context.user
        if not can_operate_sync(user):
            raise PermissionDenied(DENIED)
        checks: list[Check] = system_status_recent()
        staff = _is_staff(user)
        return SystemStatus(
            ok=all(check.ok for check in checks),
            checks=[
                SystemCheck(name=check.name, ok=check.ok, detail=check.detail if staff else None)
                for check in checks
            ],
        )
