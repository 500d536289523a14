"""Who may steer orchestrations: staff, or holders of ``orchestration.operate_orchestration``."""

from __future__ import annotations

from typing import Any

from core.permissions import can_operate

OPERATE_ORCHESTRATION = "orchestration.operate_orchestration"


def can_operate_orchestration(user: Any) -> bool:
    """The one check every interface makes before an orchestration control (the rule is core's)."""
    return can_operate(user, OPERATE_ORCHESTRATION)


def actor_name(user: Any) -> str:
    return str(getattr(user, "username", "") or "")
