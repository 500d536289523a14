"""Who may steer orchestrations: staff, or holders of ``orchestration.operate_orchestration``."""

from __future__ import annotations

from typing import Any


def can_operate_orchestration(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_staff or user.has_perm("orchestration.operate_orchestration"))
    )


def actor_name(user: Any) -> str:
    return str(getattr(user, "username", "") or "")
