"""The end of a run: deletions found by an id-only search, then the summary."""

from __future__ import annotations

from collections import Counter

from sync.services import runs, store
from sync.services.steps.context import StepContext, scope_jql


def step_reconcile(ctx: StepContext) -> None:
    """Issues Jira no longer lists (deleted, moved away, out of scope) disappear from the synced data."""
    live: set[int] = set()
    for ids in ctx.client.iter_issue_ids(scope_jql(ctx.run, windowed=False) + " ORDER BY id ASC"):
        live.update(int(i) for i in ids)
        ctx.heartbeat()
    with ctx.batch():
        ctx.counts["issues_deleted"] += store.mark_issues_deleted(
            project=ctx.project,
            live_ids=live,
            account_ids=ctx.run.cursor.get("accounts", []),
            left_ids=ctx.run.cursor.get("worklog_left_ids", []),
        )
        ctx.commit(step="finish")


def step_finish(ctx: StepContext) -> None:
    run = ctx.run
    counts = Counter(run.counts)
    summary = (
        f"{'Full' if run.full else 'Incremental'} sync of {ctx.project.key} succeeded: "
        f"{counts['issues_upserted']} issues, {counts['comments_upserted']} comments, "
        f"{counts['worklogs_upserted']} worklogs, {counts['changes_upserted']} history items upserted; "
        f"{counts['issues_deleted']} issues deleted; "
        f"{run.request_total} Jira requests"
    )
    runs.succeed(run, ctx.token, summary=summary)
