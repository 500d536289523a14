from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sync.permissions import can_operate_sync


class CanOperateSync(BasePermission):
    """Sync controls need staff or ``sync.operate_sync`` (the "Sync operators" group)."""

    message = "Operating syncs needs staff or the sync.operate_sync permission (Sync operators group)"

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_operate_sync(request.user)
