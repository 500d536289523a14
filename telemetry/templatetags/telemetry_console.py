"""``{% operators_overview %}``: the project table on the admin index (see telemetry.console)."""

from __future__ import annotations

from typing import Any

from django import template

from sync.permissions import can_operate_sync
from telemetry import console

register = template.Library()


@register.inclusion_tag("admin/telemetry/overview.html", takes_context=True)
def operators_overview(context: template.Context) -> dict[str, Any]:
    user = context["request"].user
    may_operate = can_operate_sync(user)
    if not (may_operate or user.has_perm("sync.view_syncjob")):
        return {"rows": None}
    return {
        "rows": console.project_rows(),
        "may_operate": may_operate,
        "csrf_token": context.get("csrf_token"),
    }
