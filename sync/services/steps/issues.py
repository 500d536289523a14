"""Issue pages, in rounds of a page of each open id range, with everything a page embeds only in part
paged in full.

A range's pages use ``<scope> AND id > <last id> [AND id <= <bound>] ORDER BY id``: its cursor is a Jira
id, so a resumed run continues exactly after the last committed page of every range, and issues
created, updated or deleted while the run pages cannot shift a position-based page window. The ranges
(``ranges.py``) are searched at once; the overflow of a round's pages is read at once; then each page is
stored in its own transaction with its range's cursor. A step reads round after round (see
``step_issues``).

Each range's next page is read ahead: as soon as a page's answer names its last id, the range's next
search is sent while this round's overflow is read and its pages stored. The round after uses it
directly; at the end of a step it is kept in the cache under the run's window and that page's exact
search (JQL, fields, size), which is what the next step looks up before searching. The cursor still
moves only with a committed page, so a redelivered or repeated step finds the same key and stores the
same page again (a no-op: the store is keyed); the entry is dropped when the page it holds is committed,
and a missing entry (expired, cache down) just means searching. A page read ahead is at most minutes
older than one searched, and still read after the run's window end: the next run's window covers what
changed since, and older data never overwrites newer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
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
from sync.services.steps import ranges as id_ranges
from sync.services.steps.context import StepContext, scope_jql, window_label
from sync.services.steps.ranges import IdRange

logger = logging.getLogger(__name__)

# The changelog rides along with the issue pages: bytes, not requests (only long ones are paged).
ISSUE_EXPAND = ("changelog",)
READ_AHEAD_SECONDS = 600  # a page read ahead waits this long for its step (a redelivery included)


def read_overflow_batch(
    client: JiraClient, records: list[IssueRecord], heartbeat: Callable[[], None] = lambda: None
) -> OverflowItems | None:
    """Read what the search pages (or issue reads) embedded only in part, for all ``records`` at once
    (concurrently, see ``sync.jira.endpoints.overflow``); None when none of them needs it."""
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
    return client.read_overflow(wanted, heartbeat=heartbeat) if wanted else None


def complete_overflow(
    client: JiraClient,
    record: IssueRecord,
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """One record's overflow (a webhook's refresh); raises ``MalformedPayload`` like ``map_issue``."""
    found = read_overflow_batch(client, [record], heartbeat)
    if found is not None:
        _fill_overflow(record, found, counts)


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


@dataclass
class _Page:
    """One range's page in this step, and where that range stands once the page is stored."""

    page: SearchPage
    key: str  # its cache key, dropped when the page commits
    searched: bool  # read by this step (not taken from the cache): kept for a retry if the step fails
    moved: IdRange
    records: list[IssueRecord] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class _Ahead:
    """Each range's next pages, searched one after the other as soon as the one before has answered
    (its last id names where the next starts), at most ``DEPTH`` pages ahead of the page the step is
    storing: a range's searches are not held up by the rounds' overflow reads and stores."""

    DEPTH = 2

    def __init__(self, ctx: StepContext, pool: ThreadPoolExecutor) -> None:
        self._ctx, self._pool = ctx, pool
        self._lock = threading.Lock()
        self._queued: dict[int, list[tuple[IdRange, Future[SearchPage]]]] = {}
        self._closed = False

    def start(self, index: int, position: IdRange) -> None:
        """After a page the chain did not read (cached or searched by the step): the range's next one."""
        with self._lock:
            if self._queued.get(index):
                return
        self._extend(index, position)

    def take(self, index: int, position: IdRange) -> Future[SearchPage] | None:
        """The search of the range's page at ``position``, if this chain sent it."""
        with self._lock:
            queue = self._queued.get(index, [])
            if not queue or queue[0][0] != position:
                return None
            _, future = queue.pop(0)
            tail = queue[-1] if queue else (position, future)
        self._after(index, *tail)  # the chain may go one page further now
        return future

    def close(self) -> list[tuple[IdRange, Future[SearchPage]]]:
        """Stop the chains and hand over what they sent (to be kept for the next step)."""
        with self._lock:
            self._closed = True
            sent = [entry for queue in self._queued.values() for entry in queue]
            self._queued = {}
        return sent

    def _after(self, index: int, position: IdRange, future: Future[SearchPage]) -> None:
        if future.done() and future.exception() is None:
            page = future.result()
            self._extend(index, position.after_page(_ids(page), is_last=page.is_last))

    def _extend(self, index: int, position: IdRange) -> None:
        if position.done or _kept(_page_key(self._ctx, position)):  # a failed attempt's may be there
            return
        with self._lock:
            queue = self._queued.setdefault(index, [])
            if self._closed or len(queue) >= self.DEPTH or any(p == position for p, _ in queue):
                return
            try:
                future = self._pool.submit(_search(self._ctx, position))
            except RuntimeError:  # the pool is shutting down: the step is over
                return
            queue.append((position, future))
        future.add_done_callback(lambda done: self._answered(index, position, done))

    def _answered(self, index: int, position: IdRange, future: Future[SearchPage]) -> None:
        with self._lock:
            queue = self._queued.get(index, [])
            is_tail = bool(queue) and queue[-1][1] is future
        if is_tail:
            self._after(index, position, future)


def step_issues(ctx: StepContext) -> None:
    """Rounds of pages, a page of each open range per round, each page committed with its range's
    cursor; each range's next pages are searched while a round's overflow is read and its pages
    stored. The step ends when every range is read, after ``SYNC_ISSUE_STEP_SECONDS`` (the pages in
    flight are kept for the next step) or when a cancel or pause was asked for."""
    ranges = _ranges(ctx)
    reading = [i for i, r in enumerate(ranges) if not r.done]
    # Per range its page and the chain's pages ahead: each request still waits for a site slot, so the
    # site's budget holds whatever this allows.
    workers = (_Ahead.DEPTH + 1) * max(1, len(reading))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira-issue-pages")
    ahead = _Ahead(ctx, pool)
    ends = time.monotonic() + float(settings.SYNC_ISSUE_STEP_SECONDS)
    pages: dict[int, _Page] = {}
    committed: set[int] = set()
    # The site's projects by Jira id (where moved issues went), read once a step.
    projects = dict(Project.objects.filter(site=ctx.project.site).values_list("jira_id", "id"))
    try:
        while reading:
            pages, committed = {}, set()
            _read_round(ctx, pool, ranges, pages, ahead)
            _store_pages(ctx, ranges, pages, committed, projects)
            reading = [i for i, r in enumerate(ranges) if not r.done]
            if time.monotonic() >= ends or runs.stop_requested(ctx.run):
                break
        for position, following in ahead.close():  # kept before the commit publishing the next step
            _keep_read_ahead(ctx, position, following)
        with ctx.batch():
            ctx.commit(step=_next_step(ctx, ranges))
    except Exception:
        for i, read in pages.items():
            if read.searched and i not in committed:
                _keep(read.key, read.page)
        for position, following in ahead.close():
            _keep_read_ahead(ctx, position, following)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no thread outlives the step


def _read_round(
    ctx: StepContext,
    pool: ThreadPoolExecutor,
    ranges: list[IdRange],
    pages: dict[int, _Page],
    ahead: _Ahead,
) -> None:
    """The next page of every open range into ``pages``: searched ahead, kept in the cache (by the step
    before, a failed attempt or the start step) or searched now."""
    futures: dict[Future[SearchPage], int] = {}
    cached: set[int] = set()
    for i in [i for i, r in enumerate(ranges) if not r.done]:
        following = ahead.take(i, ranges[i])
        kept = None if following is not None else _kept_page(ctx, i, ranges[i])
        if following is not None:
            futures[following] = i
        elif kept is not None:
            futures[_done(kept)] = i
            cached.add(i)
        else:
            futures[pool.submit(_search(ctx, ranges[i]))] = i
    failure: Exception | None = None
    for future in as_completed(futures):
        i = futures[future]
        try:
            page = _within(ranges[i], future.result())
        except Exception as exc:  # the others are still kept for the retry
            failure = failure or exc
            continue
        moved = ranges[i].after_page(_ids(page), is_last=page.is_last)
        pages[i] = _Page(page, _page_key(ctx, ranges[i]), i not in cached, moved)
        ahead.start(i, moved)
    if failure is not None:
        raise failure


def _ranges(ctx: StepContext) -> list[IdRange]:
    """The ranges the run committed, or, at its first issues step, planned from the ids the start read."""
    run = ctx.run
    planned = id_ranges.from_cursor(run.cursor)
    if planned is not None:
        return planned
    # A full run reads every live id; an incremental one reads its window, which its count sizes.
    expected = None if run.window_start is None else (run.approx_total or 0)
    return id_ranges.plan(
        prefetch.take(ctx, prefetch.LIVE_IDS),
        expected=expected,
        page_size=settings.SYNC_PAGE_SIZE,
        most=settings.SYNC_ISSUE_RANGES,
    )


def _kept_page(ctx: StepContext, index: int, r: IdRange) -> SearchPage | None:
    """The range's next page if it was read already: ahead, by the step before, or by the start step."""
    page = _read_ahead(_page_key(ctx, r))
    if page is None and index == 0 and r.after == 0:
        page = _first_page(ctx)  # the scope's first page: the first range's, once cut to its bound
    return page


def _done(page: SearchPage) -> Future[SearchPage]:
    future: Future[SearchPage] = Future()
    future.set_result(page)
    return future


def _store_pages(
    ctx: StepContext,
    ranges: list[IdRange],
    pages: dict[int, _Page],
    committed: set[int],
    projects: dict[int, int],
) -> None:
    """Each range's page stored in its own transaction with that range's cursor. The overflow of every
    page is read at once, before any of them is stored."""
    run, site = ctx.run, ctx.project.site
    for read in pages.values():
        _map_page(ctx, read)
    found = read_overflow_batch(
        ctx.client, [r for read in pages.values() for r in read.records], ctx.heartbeat
    )
    for i in sorted(pages):
        read = pages[i]
        _fill_page(ctx, read, found)
        ranges[i] = read.moved
        cursor = {**run.cursor, "ranges": id_ranges.to_cursor(ranges), "retries": 0}
        cursor.pop("last_id", None)
        with ctx.batch():
            transaction.on_commit(partial(_forget, read.key))
            if "ranges" not in run.cursor:  # the run's first commit of a page: the start's first page
                prefetch.drop_on_commit(ctx, prefetch.FIRST_PAGE)
            ctx.counts.update(read.counts)
            ctx.counts.update(
                store.apply_issue_batch(
                    site=site, project=ctx.project, records=read.records, projects_by_jira_id=projects
                )
            )
            for skipped_id, reason in read.warnings:
                runs.log(
                    run,
                    SyncLog.Level.WARNING,
                    f"Skipped issue {skipped_id}: {reason}",
                    code=JiraErrorCode.MALFORMED_RESPONSE,
                    issue_id=skipped_id,
                )
            cursor["schema_logged"] = _log_schema_change(ctx, read.records)
            ctx.checkpoint(cursor=cursor, issues_done=run.issues_done + len(read.page.issues))
        committed.add(i)


def _next_step(ctx: StepContext, ranges: list[IdRange]) -> str:
    if not all(r.done for r in ranges):
        return "issues"
    return "worklog_feed" if ctx.run.window_start else "reconcile"


def _map_page(ctx: StepContext, read: _Page) -> None:
    site = ctx.project.site
    for payload in read.page.issues:
        try:
            read.records.append(
                map_issue(payload, sprint_field=site.sprint_field, story_points_field=site.story_points_field)
            )
        except MalformedPayload as problem:
            read.counts["issues_malformed"] += 1
            read.warnings.append((str(_id(payload)), str(problem)))


def _fill_page(ctx: StepContext, read: _Page, found: OverflowItems | None) -> None:
    if found is None:
        return
    kept: list[IssueRecord] = []
    for record in read.records:
        try:
            _fill_overflow(record, found, read.counts)
        except MalformedPayload as problem:
            read.counts["issues_malformed"] += 1
            read.warnings.append((str(record.jira_id), str(problem)))
        else:
            kept.append(record)
    read.records = kept


def _log_schema_change(ctx: StepContext, records: list[IssueRecord]) -> bool:
    """Once per run, the first field whose shape Jira changed; whether the run has logged one."""
    run = ctx.run
    if run.cursor.get("schema_logged"):
        return True
    for record in records:
        if record.schema_warnings:
            runs.log(
                run,
                SyncLog.Level.WARNING,
                f"Jira changed a field's shape: {record.schema_warnings[0]}",
                code=JiraErrorCode.SCHEMA_CHANGED,
                issue_id=str(record.jira_id),
                problems=record.schema_warnings,
            )
            return True
    return False


def _id(payload: Any) -> int | None:
    issue_id = payload.get("id") if isinstance(payload, dict) else None
    return int(str(issue_id)) if str(issue_id or "").isdigit() else None


def _ids(page: SearchPage) -> list[int]:
    return [i for i in map(_id, page.issues) if i is not None]


def _within(r: IdRange, page: SearchPage) -> SearchPage:
    """A page of the whole scope (the start step's first page) cut to the range: past its bound, the
    range has ended."""
    if r.upto is None:
        return page
    inside = [p for p in page.issues if (issue_id := _id(p)) is None or r.holds(issue_id)]
    return page if len(inside) == len(page.issues) else SearchPage(inside, None, True)


def first_page_read(ctx: StepContext) -> prefetch.Read:
    """The run's first page, for the start step to read (``prefetch``), kept as a page read ahead is."""
    search = _search(ctx, IdRange(0, None))

    def read(between_pages: Callable[[], None]) -> list[Any]:
        page = search()
        return [page.issues, page.next_page_token, page.is_last]

    return read


def _first_page(ctx: StepContext) -> SearchPage | None:
    return _as_page(prefetch.take(ctx, prefetch.FIRST_PAGE))


def _search(ctx: StepContext, r: IdRange) -> Callable[[], SearchPage]:
    """The search of the range's next page. Building it only reads what the step's thread loaded (the
    run, its project and site: no query) and calling it is only HTTP, so both may run on any thread."""
    site = ctx.project.site
    jql = r.jql(scope_jql(ctx.run, windowed=True))
    fields = search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field)
    size = settings.SYNC_PAGE_SIZE
    return lambda: ctx.client.search_page(jql, fields=fields, expand=ISSUE_EXPAND, max_results=size)


def _page_key(ctx: StepContext, r: IdRange) -> str:
    """The cache key of the range's next page: the run's project and window end (a paused run's
    continuation keeps both, so it finds the page its parked run read ahead) and everything the search
    asks for. Every page under a key was read after that window's end, which is what makes it safe."""
    run, site = ctx.run, ctx.project.site
    fields = search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field)
    search = json.dumps(
        [
            window_label(run),
            r.jql(scope_jql(run, windowed=True)),
            list(fields),
            ISSUE_EXPAND,
            settings.SYNC_PAGE_SIZE,
        ]
    )
    return f"jiraplus:sync:page:{run.project_id}:{hashlib.sha256(search.encode()).hexdigest()[:32]}"


def _keep_read_ahead(ctx: StepContext, r: IdRange, following: Future[SearchPage]) -> None:
    try:
        page = following.result()
    except Exception as exc:  # the next step searches again and handles it as any failure
        code = exc.code if isinstance(exc, JiraError) else type(exc).__name__
        logger.info("reading the next page ahead failed (%s); the next step searches itself", code)
        return
    _keep(_page_key(ctx, r), page)


def _keep(key: str, page: SearchPage) -> None:
    try:  # as the cache pickles it: twice as fast as JSON, and compressing cost more than it saved
        cache.set(key, [page.issues, page.next_page_token, page.is_last], READ_AHEAD_SECONDS)
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
