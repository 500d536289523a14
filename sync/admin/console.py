"""What every sync admin page shares: the admin face bound to the sync operate check, the cron cell."""

from __future__ import annotations

from functools import partial

from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.interfaces import admin as face
from core.interfaces.admin import actor
from sync.models import SyncJob
from sync.permissions import can_operate_sync
from sync.services import schedules

__all__ = ["actor", "cron_html", "operate"]

# Run one control as an admin message behind the sync operate check; True when it succeeded.
operate = partial(
    face.operate,
    may_operate=can_operate_sync,
    denied="You may not operate syncs (staff or the 'Sync operators' group only).",
)


def cron_html(job: SyncJob) -> SafeString:
    effective = job.active_cron
    backed_off = (
        format_html(" <b>backed off to</b> <code>{}</code>", job.effective_cron) if job.effective_cron else ""
    )
    return format_html(
        "<code>{}</code>{}<br><small>{}</small>",
        job.cron,
        backed_off,
        schedules.cron_describe(expression=effective),
    )
