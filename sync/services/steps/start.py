"""The first step: prove the credentials, fix the run's window on Jira's clock and size the run."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sync.models import SyncEntity, SyncState
from sync.services.scope import run_account_ids
from sync.services.steps import issues, prefetch, reconcile, sprints, users, worklogs
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
    run.window_start, run.window_end = window_start, window_end
    cursor = {"accounts": run_account_ids(project=ctx.project, explicit=run.account_ids)}
    run.cursor = cursor
    count_jql = scope_jql(run, windowed=True)
    approx = prefetch.send(ctx, _reads(ctx), lambda: ctx.client.approximate_count(count_jql))
    with ctx.batch():
        SyncState.objects.filter(project=ctx.project).update(status=SyncState.Status.RUNNING)
        ctx.commit(
            step="users",
            cursor=cursor,
            window_start=window_start,
            window_end=window_end,
            approx_total=approx,
        )


def _reads(ctx: StepContext) -> dict[str, prefetch.Read]:
    """What later steps will read, built here (models touched on this thread only) to run on the pool."""
    run, client, project_key = ctx.run, ctx.client, ctx.project.key
    live_jql = reconcile.live_jql(run)
    reads: dict[str, prefetch.Read] = {
        prefetch.USERS: lambda check: users.read_users(client, check),
        prefetch.SPRINTS: lambda check: sprints.read_sprints(client, project_key, check),
        prefetch.FIRST_PAGE: issues.first_page_read(ctx),
        prefetch.LIVE_IDS: lambda check: reconcile.read_live_ids(client, live_jql, check),
    }
    if run.window_start is not None:
        since = run.window_start
        reads[prefetch.WORKLOG_CHANGES] = lambda check: worklogs.read_worklog_changes(client, since, check)
    return reads
