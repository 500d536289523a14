from core.interfaces.rest import OperatePermission
from sync.permissions import OPERATE_SYNC_DENIED, can_operate_sync


class CanOperateSync(OperatePermission):
    """Sync controls need staff or ``sync.operate_sync`` (the "Sync operators" group)."""

    check = staticmethod(can_operate_sync)
    message = OPERATE_SYNC_DENIED
