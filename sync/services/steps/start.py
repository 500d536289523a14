"""The first step: prove the credentials, fix the run's window on Jira's clock and size the run."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sync.models import SyncEntity, SyncState
from sync.services.scope import run_account_ids
from sync.services.steps.context import StepContext, scope_jql


def step_start(ctx: StepContext) -> None:
    run, site = ctx.run, ctx.project.site
    # An empty 200 from a revoked token would read as "nothing changed": check who we are first.
    identity = ctx.client.verify()
    if identity.time_zone and identity.time_zone != site.time_zone:
        site.time_zone = identity.time_zone
        site.save(update_fields=["time_zone", "updated_at"])
    # Jira's clock, not ours: cursors compared with Jira's `updated` must not drift with clock skew.
    window_end = identity.server_time or timezone.now()
    window_start = None
    if not run.full:
        cursors = [
            state.last_sync_time
            for state in SyncState.objects.filter(
                project=ctx.project,
                entity__in=[SyncEntity.ISSUE, SyncEntity.COMMENT, SyncEntity.WORKLOG],
            )
        ]
        # Incremental from the oldest cursor; a never-synced entity makes this run a full one.
        if cursors and None not in cursors:
            window_start = min(c for c in cursors if c) - timedelta(minutes=settings.SYNC_OVERLAP_MINUTES)
    run.window_start = window_start
    cursor = {"accounts": run_account_ids(project=ctx.project, explicit=run.account_ids), "last_id": 0}
    run.cursor = cursor
    approx = ctx.client.approximate_count(scope_jql(run, windowed=True))
    with ctx.batch():
        SyncState.objects.filter(project=ctx.project).update(status=SyncState.Status.RUNNING)
        ctx.commit(
            step="users",
            cursor=cursor,
            window_start=window_start,
            window_end=window_end,
            approx_total=approx,
        )
