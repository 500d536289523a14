from typing import Any

from rest_framework.permissions import BasePermission

from core import scopes
from core.interfaces.rest import OperatePermission
from sync.permissions import OPERATE_SYNC_DENIED, administer_denied, can_administer, can_operate_sync


class CanOperateSync(OperatePermission):
    """Sync controls need staff or ``sync.operate_sync`` (the "Sync operators" group)."""

    check = staticmethod(can_operate_sync)
    message = OPERATE_SYNC_DENIED


def may_administer(permission: str) -> type[BasePermission]:
    """The DRF permission for one of the onboarding acts (``sync.permissions.ADD_SITE`` …)."""

    class CanAdminister(OperatePermission):
        scope = scopes.ADMIN
        message = administer_denied(permission)

        @staticmethod
        def check(user: Any) -> bool:
            return can_administer(user, permission)

    return CanAdminister
