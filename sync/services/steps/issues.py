"""One page of issues per step, with everything a page embeds only in part paged in full.

Issue pages use ``<scope> AND id > <last id> ORDER BY id``: the cursor is a Jira id, so a resumed run
continues exactly after the last committed page, and issues created, updated or deleted while the run
pages cannot shift a position-based page window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from django.conf import settings

from sync.jira.client import JiraClient, Overflow, OverflowItems
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


def complete_overflow_batch(
    client: JiraClient,
    records: list[IssueRecord],
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> list[tuple[IssueRecord, MalformedPayload]]:
    """Read what the search page (or issue reads) embedded only in part, for all ``records`` at once
    (concurrently, see ``sync.jira.endpoints.overflow``), and fill it in: comments, worklogs, changelog.
    Returns the records whose overflow could not be read as Jira's, with the problem."""
    wanted = [
        Overflow(
            str(record.jira_id),
            comment_total=None if record.comments_complete else record.comment_total,
            worklog_total=None if record.worklogs_complete else record.worklog_total,
            changelog_total=None if record.changelog_complete else record.history_total,
        )
        for record in records
        if not (record.comments_complete and record.worklogs_complete and record.changelog_complete)
    ]
    if not wanted:
        return []
    found = client.read_overflow(wanted, heartbeat=heartbeat)
    malformed: list[tuple[IssueRecord, MalformedPayload]] = []
    for record in records:
        try:
            _fill_overflow(record, found, counts)
        except MalformedPayload as problem:
            malformed.append((record, problem))
    return malformed


def complete_overflow(
    client: JiraClient,
    record: IssueRecord,
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """One record's overflow (a webhook's refresh); raises ``MalformedPayload`` like ``map_issue``."""
    for _, problem in complete_overflow_batch(client, [record], counts, heartbeat):
        raise problem


def _fill_overflow(record: IssueRecord, found: OverflowItems, counts: Counter[str]) -> None:
    key = str(record.jira_id)
    if key in found.comments:
        record.comments = [map_comment(c) for c in found.comments[key]]
        counts["comment_overflow_issues"] += 1
    if key in found.worklogs:
        record.worklogs = [map_worklog(w) for w in found.worklogs[key]]
        counts["worklog_overflow_issues"] += 1
    if key in found.changelogs:
        histories = found.changelogs[key]
        record.changes, authors = map_changelog(histories)
        record.users.extend(authors)
        record.history_count = record.history_total = len(histories)
        counts["changelog_overflow_issues"] += 1


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
            records.append(
                map_issue(payload, sprint_field=site.sprint_field, story_points_field=site.story_points_field)
            )
        except MalformedPayload as problem:
            ctx.counts["issues_malformed"] += 1
            warnings.append((str(issue_id), str(problem)))
    skipped = complete_overflow_batch(ctx.client, records, ctx.counts, ctx.heartbeat)
    for record, unreadable in skipped:
        ctx.counts["issues_malformed"] += 1
        warnings.append((str(record.jira_id), str(unreadable)))
    dropped = {id(record) for record, _ in skipped}
    records = [record for record in records if id(record) not in dropped]
    for record in records:
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
