"""Incremental runs only: worklogs changed or deleted without a re-read of their issue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sync.jira.client import JiraClient
from sync.jira.dates import epoch_ms
from sync.jira.mapping import map_worklog
from sync.services import store
from sync.services.steps import prefetch
from sync.services.steps.context import StepContext


def read_worklog_changes(
    client: JiraClient, since: datetime, between_pages: Callable[[], None]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Worklogs changed since ``since`` (read in full) and the ids of those deleted since."""
    changed: list[int] = []
    for page in client.iter_worklog_updated(epoch_ms(since)):
        changed.extend(int(v["worklogId"]) for v in page.values)
        between_pages()
    deleted: list[int] = []
    for page in client.iter_worklog_deleted(epoch_ms(since)):
        deleted.extend(int(v["worklogId"]) for v in page.values)
        between_pages()
    return (client.worklog_list(changed) if changed else []), deleted


def step_worklog_feed(ctx: StepContext) -> None:
    """Worklogs changed or deleted without a re-read of their issue come from Jira's change feeds."""
    run = ctx.run
    assert run.window_start is not None
    feeds = prefetch.take(ctx, prefetch.WORKLOG_CHANGES)
    changed, deleted = feeds or read_worklog_changes(ctx.client, run.window_start, ctx.heartbeat)
    worklogs = [map_worklog(w) for w in changed]
    accounts = run.cursor.get("accounts", [])
    with ctx.batch():
        prefetch.drop_on_commit(ctx, prefetch.WORKLOG_CHANGES)
        ctx.counts["worklogs_upserted"] += store.apply_worklog_changes(
            site=ctx.project.site, project=ctx.project, worklogs=worklogs
        )
        # A tracked author's worklog may be all that kept its issue in scope: once it is deleted the
        # stored rows no longer show that, so reconcile is told which issues to check.
        left = store.worklog_issue_ids(project=ctx.project, jira_ids=deleted, authors=accounts)
        ctx.counts["worklogs_deleted"] += store.delete_worklogs(project=ctx.project, jira_ids=deleted)
        cursor = {**run.cursor, "worklog_left_ids": left} if left else None
        ctx.commit(step="reconcile", cursor=cursor)
