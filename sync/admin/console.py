"""What every sync admin page shares: the admin face bound to the sync operate check, the cron cell."""

from __future__ import annotations

from functools import partial

from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.interfaces import admin as face
from core.interfaces.admin import actor
from sync.models import Project, SyncJob, SyncRun
from sync.permissions import can_operate_sync
from sync.services import controls, schedules

__all__ = ["actor", "cancel_run", "cron_html", "operate"]

# Run one control as an admin message behind the sync operate check; True when it succeeded.
operate = partial(
    face.operate,
    may_operate=can_operate_sync,
    denied="You may not operate syncs (staff or the 'Sync operators' group only).",
)


def cancel_run(request: HttpRequest, *, project: Project | None = None, run: SyncRun | None = None) -> str:
    """Cancel as the admin user; the message says whether it is done or waits for the step in flight."""
    result = controls.sync_cancel(project=project, run=run, actor=actor(request))
    cancelled = result.run
    assert cancelled is not None  # a cancel always names the run it cancelled
    if cancelled.is_terminal:
        return f"{result.project_key}: run {cancelled.id} cancelled"
    return f"{result.project_key}: run {cancelled.id} stops after its current step"


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
