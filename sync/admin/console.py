"""What every sync admin page shares: running a control as an admin message, the actor, the cron cell."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.errors import ServiceError
from core.interfaces.errors import error_text
from sync.models import SyncJob
from sync.permissions import can_operate_sync
from sync.services import schedules


def operate(request: HttpRequest, control: Callable[[], str]) -> bool:
    """Run one control and report it as an admin message; True when it succeeded."""
    if not can_operate_sync(request.user):
        messages.error(request, "You may not operate syncs (staff or the 'Sync operators' group only).")
        return False
    try:
        messages.success(request, control())
    except ServiceError as error:
        messages.error(request, error_text(error))
        return False
    return True


def actor(request: HttpRequest) -> str:
    return str(request.user.get_username())


def cron_html(job: SyncJob) -> SafeString:
    effective = job.effective_cron or job.cron
    backed_off = (
        format_html(" <b>backed off to</b> <code>{}</code>", job.effective_cron) if job.effective_cron else ""
    )
    return format_html(
        "<code>{}</code>{}<br><small>{}</small>", job.cron, backed_off, schedules.describe(effective)
    )
