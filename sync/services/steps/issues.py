"""Issue pages of every open id range, read side by side, with everything a page embeds only in part
paged in full.

A range's pages use ``<scope> AND id > <last id> [AND id <= <bound>] ORDER BY id``: its cursor is a Jira
id, so a resumed run continues exactly after the last committed page of every range, and issues
created, updated or deleted while the run pages cannot shift a position-based page window. Each range
(``ranges.py``) has a lane: a thread reading its pages one after the other, each with its overflow, a
page or two ahead of the step's thread, which stores every page as it is ready in its own transaction
with its range's cursor. No range waits for another's search, overflow or store.

Each range's next page is read ahead: as soon as a page's answer names its last id, the range's next
search is sent while this page's overflow is read and it is stored. The lane uses it directly; at the
end of a step it is kept in the cache under the run's window and that page's exact search (JQL,
fields, size), which is what the next step looks up before searching. The cursor still moves only with
a committed page, so a redelivered or repeated step finds the same key and stores the same page again
(a no-op: the store is keyed); the entry is dropped when the page it holds is committed, and a missing
entry (expired, cache down) just means searching. A page read ahead is at most minutes older than one
searched, and still read after the run's window end: the next run's window covers what changed since,
and older data never overwrites newer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
    embedded_in_part,
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
_HEARTBEAT_SECONDS = 5.0  # the step renews its lease at least this often while it waits for a page
_STOP_CHECK_SECONDS = 0.25  # how often a step storing pages looks for a cancel or a pause


def complete_overflow(
    client: JiraClient,
    payload: Any,
    record: IssueRecord,
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """The overflow of one issue (a webhook's refresh), ``record`` mapped from ``payload``; raises
    ``MalformedPayload`` like ``map_issue``."""
    wanted = _wanted(payload)
    if wanted is not None:
        _fill_overflow(record, client.read_overflow([wanted], heartbeat=heartbeat), counts)


def _read_overflow(client: JiraClient, page: SearchPage) -> OverflowItems | None:
    """What the page's issues embedded only in part, read at once (concurrently, see
    ``sync.jira.endpoints.overflow``); None when none of them needs it."""
    wanted = [w for w in map(_wanted, page.issues) if w is not None]
    return client.read_overflow(wanted) if wanted else None


def _wanted(payload: Any) -> Overflow | None:
    """What the issue's payload embedded only in part, to be read in full."""
    totals, issue_id = embedded_in_part(payload), _id(payload)
    return None if totals is None or issue_id is None else Overflow(str(issue_id), *totals)


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
    index: int  # its range's
    moved: IdRange
    overflow: OverflowItems | None = None
    records: list[IssueRecord] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class _Ahead:
    """Each range's next pages, searched one after the other as soon as the one before has answered
    (its last id names where the next starts), at most ``DEPTH`` pages ahead of the page the range's
    lane is reading: a range's searches are not held up by its pages' overflow reads and stores."""

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


class _Lanes:
    """Each open range's pages, read on the range's own thread one after the other (the search taken
    from the chain ahead or the cache, or sent now; then what its issues embedded only in part) at most
    ``PREPARED`` pages ahead of what the step's thread has stored, and handed to it as they are ready:
    no range waits for another's page, overflow or store. Only HTTP and the cache run on these threads;
    the step's thread maps the pages (mapping beside the stores would only slow them: the GIL) and does
    every database write and its heartbeat."""

    PREPARED = 2

    def __init__(
        self, ctx: StepContext, pool: ThreadPoolExecutor, ranges: list[IdRange], ahead: _Ahead
    ) -> None:
        self._ctx, self._pool, self._ahead = ctx, pool, ahead
        self._ready: queue.Queue[_Page | _LaneEnd] = queue.Queue()
        self._changed = threading.Condition()
        self._unstored: dict[int, int] = {}
        self._stopping = False
        self._unanswered: list[tuple[IdRange, Future[SearchPage]]] = []
        self._threads = []
        for i, r in enumerate(ranges):
            if r.done:
                continue
            self._unstored[i] = 0
            name = f"jira-issue-range-{i}"
            self._threads.append(threading.Thread(target=self._lane, args=(i, r), name=name, daemon=True))
        for thread in self._threads:
            thread.start()

    def prepared(self, heartbeat: Callable[[], None]) -> Iterator[_Page]:
        """The pages as they are ready, each range's in order, until every lane has ended; then the
        first lane's failure, if one failed (the others stop preparing, what they prepared still comes)."""
        running, failure = set(self._unstored), None
        while running:
            try:
                item = self._ready.get(timeout=_HEARTBEAT_SECONDS)
            except queue.Empty:
                heartbeat()
                continue
            if isinstance(item, _LaneEnd):
                running.discard(item.index)
                if item.failure is not None and failure is None:
                    failure = item.failure
                    self.stop()
                continue
            yield item
        if failure is not None:
            raise failure

    def stored(self, index: int) -> None:
        with self._changed:
            self._unstored[index] -= 1
            self._changed.notify_all()

    def stop(self) -> None:
        """No lane starts another page or waits for a search: the pages whose search has answered are
        prepared and still come, the searches still in flight are handed over (``unanswered``)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def unanswered(self) -> list[tuple[IdRange, Future[SearchPage]]]:
        """The searches the lanes stopped waiting for, by the position they read (once every lane ended)."""
        with self._changed:
            return list(self._unanswered)

    def close(self) -> list[_Page]:
        """Stop, wait for every lane, and hand over what they prepared and the step did not store."""
        self.stop()
        for thread in self._threads:
            thread.join()
        left: list[_Page] = []
        while not self._ready.empty():
            item = self._ready.get_nowait()
            if isinstance(item, _Page):
                left.append(item)
        return left

    def _lane(self, index: int, position: IdRange) -> None:
        failure: Exception | None = None
        try:
            while not position.done and self._room(index):
                read = self._prepare(index, position)
                if read is None:
                    break
                self._ready.put(read)
                position = read.moved
        except Exception as exc:
            failure = exc
        self._ready.put(_LaneEnd(index, failure))

    def _room(self, index: int) -> bool:
        with self._changed:
            self._changed.wait_for(lambda: self._stopping or self._unstored[index] < self.PREPARED)
            if self._stopping:
                return False
            self._unstored[index] += 1
            return True

    def _prepare(self, index: int, position: IdRange) -> _Page | None:
        """The range's page at ``position``, ready to store; None when the step stopped first."""
        ctx, searched = self._ctx, True
        following = self._ahead.take(index, position)
        if following is None and (kept := _kept_page(ctx, index, position)) is not None:
            following, searched = _done(kept), False
        elif following is None:
            following = self._pool.submit(_search(ctx, position))
        if not self._answered(following):
            with self._changed:
                self._unanswered.append((position, following))
            return None
        page = _within(position, following.result())
        moved = position.after_page(_ids(page), is_last=page.is_last)
        self._ahead.start(index, moved)
        read = _Page(page, _page_key(ctx, position), searched, index, moved)
        try:
            read.overflow = _read_overflow(ctx.client, page)
        except Exception:
            if searched:  # the retry stores it from here
                _keep(read.key, page)
            raise
        return read

    def _answered(self, search: Future[SearchPage]) -> bool:
        """Wait for the search's answer unless the step stops first; whether it answered."""
        search.add_done_callback(lambda _: self._wake())
        with self._changed:
            self._changed.wait_for(lambda: self._stopping or search.done())
            return search.done()

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


def _done(page: SearchPage) -> Future[SearchPage]:
    future: Future[SearchPage] = Future()
    future.set_result(page)
    return future


@dataclass(frozen=True)
class _LaneEnd:
    index: int
    failure: Exception | None


def step_issues(ctx: StepContext) -> None:
    """Each open range's pages, prepared side by side (``_Lanes``) and each committed with its range's
    cursor as it is ready; each range's next pages are searched ahead (``_Ahead``). The step ends when
    every range is read, after ``SYNC_ISSUE_STEP_SECONDS`` (the searches in flight are kept for the next
    step) or when a cancel or pause was asked for."""
    ranges = _ranges(ctx)
    reading = sum(not r.done for r in ranges)
    # Per range the chain's pages ahead and the one its lane took: each request still waits for a site
    # slot, so the site's budget holds whatever this allows.
    workers = (_Ahead.DEPTH + 1) * max(1, reading)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira-issue-pages")
    ahead = _Ahead(ctx, pool)
    lanes = _Lanes(ctx, pool, ranges, ahead)
    ends = time.monotonic() + float(settings.SYNC_ISSUE_STEP_SECONDS)
    asked = time.monotonic()
    storing: _Page | None = None
    # The site's projects by Jira id (where moved issues went), read once a step.
    projects = dict(Project.objects.filter(site=ctx.project.site).values_list("jira_id", "id"))
    try:
        for read in lanes.prepared(ctx.heartbeat):
            storing = read
            _store_page(ctx, ranges, read, projects)
            storing = None
            lanes.stored(read.index)
            now = time.monotonic()
            if now >= ends:
                lanes.stop()
            elif now - asked >= _STOP_CHECK_SECONDS:
                asked = now
                if runs.stop_requested(ctx.run):
                    lanes.stop()
        # Kept before the commit publishing the next step.
        for position, following in [*lanes.unanswered(), *ahead.close()]:
            _keep_read_ahead(ctx, position, following)
        with ctx.batch():
            ctx.commit(step=_next_step(ctx, ranges))
    except Exception:
        for read in [*([storing] if storing else []), *lanes.close()]:
            if read.searched:  # kept for the retry, which stores it again
                _keep(read.key, read.page)
        for position, following in [*lanes.unanswered(), *ahead.close()]:
            _keep_read_ahead(ctx, position, following)
        raise
    finally:
        lanes.close()
        pool.shutdown(wait=True, cancel_futures=True)  # no thread outlives the step


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


def _store_page(ctx: StepContext, ranges: list[IdRange], read: _Page, projects: dict[int, int]) -> None:
    """The page, mapped and filled with its overflow, in its own transaction with its range's cursor
    (every range's committed position)."""
    run = ctx.run
    _map_page(ctx, read)
    _fill_page(read)
    ranges[read.index] = read.moved
    cursor = {**run.cursor, "ranges": id_ranges.to_cursor(ranges), "retries": 0}
    cursor.pop("last_id", None)
    with ctx.batch():
        transaction.on_commit(partial(_forget, read.key))
        if "ranges" not in run.cursor:  # the run's first commit of a page: the start's first page
            prefetch.drop_on_commit(ctx, prefetch.FIRST_PAGE)
        ctx.counts.update(read.counts)
        ctx.counts.update(
            store.apply_issue_batch(
                site=ctx.project.site, project=ctx.project, records=read.records, projects_by_jira_id=projects
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


def _fill_page(read: _Page) -> None:
    found = read.overflow
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
