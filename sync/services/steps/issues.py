"""One page of issues per step, with everything a page embeds only in part paged in full.

Issue pages use ``<scope> AND id > <last id> ORDER BY id``: the cursor is a Jira id, so a resumed run
continues exactly after the last committed page, and issues created, updated or deleted while the run
pages cannot shift a position-based page window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.conf import settings

from sync.jira.client import JiraClient
from sync.jira.errors import JiraErrorCode
from sync.jira.mapping import (
    IssueRecord,
    MalformedPayload,
    map_changelog,
    map_comment,
    map_issue,
    map_worklog,
    search_fields,
)
from sync.models import Project, SyncLog
from sync.services import runs, store
from sync.services.steps.context import StepContext, scope_jql

# The changelog rides along with the issue pages: bytes, not requests (only long ones are paged).
ISSUE_EXPAND = ("changelog",)


def complete_overflow(
    client: JiraClient,
    record: IssueRecord,
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """Page what the search page (or issue read) embedded only in part: comments, worklogs, changelog."""
    if not record.comments_complete:
        record.comments = [
            map_comment(c) for page in client.iter_comment_pages(str(record.jira_id)) for c in page
        ]
        counts["comment_overflow_issues"] += 1
        heartbeat()
    if not record.worklogs_complete:
        record.worklogs = [
            map_worklog(w) for page in client.iter_worklog_pages(str(record.jira_id)) for w in page
        ]
        counts["worklog_overflow_issues"] += 1
        heartbeat()
    if not record.changelog_complete:
        histories = [h for page in client.iter_changelog_pages(str(record.jira_id)) for h in page]
        record.changes, authors = map_changelog(histories)
        record.users.extend(authors)
        record.history_count = record.history_total = len(histories)
        counts["changelog_overflow_issues"] += 1
        heartbeat()


def step_issues(ctx: StepContext) -> None:
    run, site = ctx.run, ctx.project.site
    last_id = int(run.cursor.get("last_id", 0))
    jql = scope_jql(run, windowed=True) + (f" AND id > {last_id}" if last_id else "") + " ORDER BY id ASC"
    page = ctx.client.search_page(
        jql,
        fields=search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field),
        expand=ISSUE_EXPAND,
        max_results=settings.SYNC_PAGE_SIZE,
    )
    records: list[IssueRecord] = []
    schema_logged = bool(run.cursor.get("schema_logged"))
    warnings: list[tuple[str, str]] = []
    for payload in page.issues:
        issue_id = payload.get("id") if isinstance(payload, dict) else None
        if str(issue_id or "").isdigit():
            last_id = max(last_id, int(str(issue_id)))
        try:
            record = map_issue(
                payload, sprint_field=site.sprint_field, story_points_field=site.story_points_field
            )
            complete_overflow(ctx.client, record, ctx.counts, ctx.heartbeat)
        except MalformedPayload as problem:
            ctx.counts["issues_malformed"] += 1
            warnings.append((str(issue_id), str(problem)))
            continue
        if record.schema_warnings and not schema_logged:
            runs.log(
                run,
                SyncLog.Level.WARNING,
                f"Jira changed a field's shape: {record.schema_warnings[0]}",
                code=JiraErrorCode.SCHEMA_CHANGED,
                issue_id=str(record.jira_id),
                problems=record.schema_warnings,
            )
            schema_logged = True
        records.append(record)
    projects = dict(Project.objects.filter(site=site).values_list("jira_id", "id"))
    done = not page.issues or page.is_last
    next_step = "issues" if not done else ("worklog_feed" if run.window_start else "reconcile")
    with ctx.batch():
        ctx.counts.update(
            store.apply_issue_batch(
                site=site, project=ctx.project, records=records, projects_by_jira_id=projects
            )
        )
        for skipped_id, reason in warnings:
            runs.log(
                run,
                SyncLog.Level.WARNING,
                f"Skipped issue {skipped_id}: {reason}",
                code=JiraErrorCode.MALFORMED_RESPONSE,
                issue_id=skipped_id,
            )
        ctx.commit(
            step=next_step,
            cursor={**run.cursor, "last_id": last_id, "retries": 0, "schema_logged": schema_logged},
            issues_done=run.issues_done + len(page.issues),
        )
