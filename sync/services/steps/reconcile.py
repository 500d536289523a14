"""The end of a run: deletions found by an id-only search, then the summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sync.jira.client import JiraClient
from sync.models import SyncRun
from sync.services import runs, store
from sync.services.steps import prefetch
from sync.services.steps.context import StepContext, scope_jql


def live_jql(run: SyncRun) -> str:
    return scope_jql(run, windowed=False) + " ORDER BY id ASC"


def read_live_ids(client: JiraClient, jql: str, between_pages: Callable[[], None]) -> list[int]:
    """Every id the scope's JQL matches now, ascending (id-only pages of 5,000)."""
    live: list[int] = []
    for ids in client.iter_issue_ids(jql):
        live.extend(int(i) for i in ids)
        between_pages()
    return live


def step_reconcile(ctx: StepContext) -> None:
    """Issues Jira no longer lists (deleted, moved away, out of scope) disappear from the synced data."""
    run = ctx.run
    live = prefetch.take(ctx, prefetch.LIVE_IDS)
    # Ids read at the start miss issues created since: those Jira updated after the window end are
    # spared (the next run decides on them); ids read now need no such guard.
    updated_before = run.window_end if live is not None else None
    if live is None:
        live = read_live_ids(ctx.client, live_jql(run), ctx.heartbeat)
    with ctx.batch():
        prefetch.drop_on_commit(ctx, prefetch.LIVE_IDS)
        ctx.counts["issues_deleted"] += store.mark_issues_deleted(
            project=ctx.project,
            live_ids=set(live),
            account_ids=run.cursor.get("accounts", []),
            left_ids=run.cursor.get("worklog_left_ids", []),
            updated_before=updated_before,
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
