"""Incremental runs only: worklogs changed or deleted without a re-read of their issue."""

from __future__ import annotations

from sync.jira.dates import epoch_ms
from sync.jira.mapping import map_worklog
from sync.services import store
from sync.services.steps.context import StepContext


def step_worklog_feed(ctx: StepContext) -> None:
    """Worklogs changed or deleted without a re-read of their issue come from Jira's change feeds."""
    run = ctx.run
    assert run.window_start is not None
    since = epoch_ms(run.window_start)
    changed = [int(v["worklogId"]) for page in ctx.client.iter_worklog_updated(since) for v in page.values]
    deleted = [int(v["worklogId"]) for page in ctx.client.iter_worklog_deleted(since) for v in page.values]
    worklogs = [map_worklog(w) for w in ctx.client.worklog_list(changed)] if changed else []
    accounts = run.cursor.get("accounts", [])
    with ctx.batch():
        ctx.counts["worklogs_upserted"] += store.apply_worklog_changes(
            site=ctx.project.site, project=ctx.project, worklogs=worklogs
        )
        # A tracked author's worklog may be all that kept its issue in scope: once it is deleted the
        # stored rows no longer show that, so reconcile is told which issues to check.
        left = store.worklog_issue_ids(project=ctx.project, jira_ids=deleted, authors=accounts)
        ctx.counts["worklogs_deleted"] += store.delete_worklogs(project=ctx.project, jira_ids=deleted)
        cursor = {**run.cursor, "worklog_left_ids": left} if left else None
        ctx.commit(step="reconcile", cursor=cursor)
