"""One page of issues per step, with everything a page embeds only in part paged in full.

Issue pages use ``<scope> AND id > <last id> ORDER BY id``: the cursor is a Jira id, so a resumed run
continues exactly after the last committed page, and issues created, updated or deleted while the run
pages cannot shift a position-based page window.

The next page is read ahead: as soon as a page's answer names its last id, the next page's search is sent
on a second thread while this page's overflow is read and the page stored, and its answer is kept in the
cache under the run's window and that page's exact search (JQL, fields, size), which is what the next
step looks up before searching. The cursor still moves only with a committed page, so a redelivered or
repeated step finds the same key and stores the same page again (a no-op: the store is keyed); the entry
is dropped when the page it holds is committed, and a missing entry (expired, cache down) just means
searching. A page read ahead is at most minutes older than one searched, and still read after the run's
window end: the next run's window covers what changed since, and older data never overwrites newer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from sync.jira.client import JiraClient, Overflow, OverflowItems, SearchPage
from sync.jira.errors import JiraError, JiraErrorCode
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
from sync.services.steps import prefetch
from sync.services.steps.context import StepContext, scope_jql, window_label

logger = logging.getLogger(__name__)

# The changelog rides along with the issue pages: bytes, not requests (only long ones are paged).
ISSUE_EXPAND = ("changelog",)
READ_AHEAD_SECONDS = 600  # a page read ahead waits this long for its step (a redelivery included)


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
    last_id = int(ctx.run.cursor.get("last_id", 0))
    page_key = _page_key(ctx, last_id)
    page = _read_ahead(page_key) or (_first_page(ctx) if not last_id else None) or _search(ctx, last_id)()
    for payload in page.issues:
        issue_id = payload.get("id") if isinstance(payload, dict) else None
        if str(issue_id or "").isdigit():
            last_id = max(last_id, int(str(issue_id)))
    done = not page.issues or page.is_last
    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-read-ahead")
    following: Future[SearchPage] | None = None
    try:
        if not done and not _kept(_page_key(ctx, last_id)):  # a retried step's may be there already
            following = ahead.submit(_search(ctx, last_id))
        _store_page(ctx, page, last_id, page_key, following, done=done)
    except Exception:
        if following is not None:  # the retry of this step then finds its next page too
            _keep_read_ahead(ctx, last_id, following)
        raise
    finally:
        ahead.shutdown(wait=True, cancel_futures=True)  # no thread outlives the step


def _store_page(
    ctx: StepContext,
    page: SearchPage,
    last_id: int,
    page_key: str,
    following: Future[SearchPage] | None,
    *,
    done: bool,
) -> None:
    run, site = ctx.run, ctx.project.site
    records: list[IssueRecord] = []
    schema_logged = bool(run.cursor.get("schema_logged"))
    warnings: list[tuple[str, str]] = []
    for payload in page.issues:
        issue_id = payload.get("id") if isinstance(payload, dict) else None
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
    if following is not None:
        # Kept before this page commits: the commit publishes the step that looks it up.
        _keep_read_ahead(ctx, last_id, following)
    next_step = "issues" if not done else ("worklog_feed" if run.window_start else "reconcile")
    with ctx.batch():
        transaction.on_commit(lambda: _forget(page_key))
        if not run.cursor.get("last_id"):
            prefetch.drop_on_commit(ctx, prefetch.FIRST_PAGE)
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


def first_page_read(ctx: StepContext) -> prefetch.Read:
    """The run's first page, for the start step to read (``prefetch``), kept as a page read ahead is."""
    search = _search(ctx, 0)

    def read(between_pages: Callable[[], None]) -> list[Any]:
        page = search()
        return [page.issues, page.next_page_token, page.is_last]

    return read


def _first_page(ctx: StepContext) -> SearchPage | None:
    return _as_page(prefetch.take(ctx, prefetch.FIRST_PAGE))


def _search(ctx: StepContext, last_id: int) -> Callable[[], SearchPage]:
    """The search of the page after ``last_id``, built here so that calling it (on any thread) is only
    HTTP: no model is touched off the step's thread."""
    site = ctx.project.site
    jql = _page_jql(ctx, last_id)
    fields = search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field)
    size = settings.SYNC_PAGE_SIZE
    return lambda: ctx.client.search_page(jql, fields=fields, expand=ISSUE_EXPAND, max_results=size)


def _page_jql(ctx: StepContext, last_id: int) -> str:
    after = f" AND id > {last_id}" if last_id else ""
    return scope_jql(ctx.run, windowed=True) + after + " ORDER BY id ASC"


def _page_key(ctx: StepContext, last_id: int) -> str:
    """The cache key of the page after ``last_id``: the run's project and window end (a paused run's
    continuation keeps both, so it finds the page its parked run read ahead) and everything the search
    asks for. Every page under a key was read after that window's end, which is what makes it safe."""
    run, site = ctx.run, ctx.project.site
    fields = search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field)
    search = json.dumps(
        [window_label(run), _page_jql(ctx, last_id), list(fields), ISSUE_EXPAND, settings.SYNC_PAGE_SIZE]
    )
    return f"jiraplus:sync:page:{run.project_id}:{hashlib.sha256(search.encode()).hexdigest()[:32]}"


def _keep_read_ahead(ctx: StepContext, last_id: int, following: Future[SearchPage]) -> None:
    try:
        page = following.result()
    except Exception as exc:  # the next step searches again and handles it as any failure
        code = exc.code if isinstance(exc, JiraError) else type(exc).__name__
        logger.info("reading the next page ahead failed (%s); the next step searches itself", code)
        return
    try:  # as the cache pickles it: twice as fast as JSON, and compressing cost more than it saved
        cache.set(
            _page_key(ctx, last_id), [page.issues, page.next_page_token, page.is_last], READ_AHEAD_SECONDS
        )
    except Exception as exc:  # the cache is an optimisation: without it the next step searches
        logger.warning("could not keep the page read ahead (%s)", type(exc).__name__)


def _read_ahead(key: str) -> SearchPage | None:
    try:
        kept = cache.get(key)
    except Exception as exc:
        logger.warning("could not read the page read ahead (%s)", type(exc).__name__)
        return None
    return _as_page(kept)


def _as_page(kept: Any) -> SearchPage | None:
    if not isinstance(kept, list) or len(kept) != 3:
        return None
    issues, token, is_last = kept
    return SearchPage(issues, token, is_last)


def _kept(key: str) -> bool:
    try:
        return bool(cache.has_key(key))
    except Exception:  # then read it ahead again: the worst is one search more
        return False


def _forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:  # it expires by itself
        logger.warning("could not drop the page read ahead (%s)", type(exc).__name__)
