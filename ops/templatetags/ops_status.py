"""``{% system_status_panel %}``: the system checks on the admin index, above the operators' overview.

A tag of ops, so the index template (telemetry's) shows the panel without telemetry importing ops."""

from __future__ import annotations

from typing import Any

from django import template

from ops.status import system_status_recent
from sync.permissions import can_operate_sync

register = template.Library()


@register.inclusion_tag("admin/ops/status_panel.html", takes_context=True)
def system_status_panel(context: template.Context) -> dict[str, Any]:
    user = context["request"].user
    if not can_operate_sync(user):  # the same people the GraphQL systemStatus query answers
        return {"checks": None}
    checks = system_status_recent()
    return {
        "checks": checks,
        "failing": [check.name for check in checks if not check.ok],
        "show_detail": bool(user.is_staff or user.is_superuser),
    }
