"""What a page of search results embedded only in part, read for the whole page at once.

Comments, worklogs and (on Data Center) changelogs are paged per issue; their first pages' offsets are
known from the ``total`` the search result embedded, so every page is read concurrently, on a bounded
pool whose requests each still take a per-site slot (``sync.jira.slots``): however many pools run, no
more than JIRA_SITE_CONCURRENCY requests are in flight per site. Each issue's pages are then walked in
order (``walk_start_at`` with the pages read ahead), so a short page or a grown total ends up exactly
as the one-at-a-time walk would. On Cloud the changelogs of all the page's issues come in one
``changelog/bulkfetch`` (paged by token), read beside the others.

Only HTTP runs on the pool's threads: no database, no Django state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from sync.jira.endpoints.comments_worklogs import COMMENT_PAGE_SIZE, WORKLOG_PAGE_SIZE
from sync.jira.endpoints.issues import CHANGELOG_PAGE_SIZE, IssueCalls
from sync.jira.paging import StartAtPage, read_start_at, walk_start_at
from sync.jira.transport import parallel_requests

_ITEMS_KEY = {"comments": "comments", "worklogs": "worklogs", "changelogs": "values"}
_HEARTBEAT_SECONDS = 5.0  # the caller's heartbeat runs at least this often while pages are read


@dataclass(frozen=True)
class Overflow:
    """One issue's parts to read in full: the totals its search result embedded (None: complete)."""

    issue_id: str
    comment_total: int | None = None
    worklog_total: int | None = None
    changelog_total: int | None = None


@dataclass
class OverflowItems:
    """Every comment, worklog and changelog history of the issues that overflowed, by issue id."""

    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    worklogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changelogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Walk:
    """One issue's per-issue list endpoint, and its pages' offsets as the embedded total predicts."""

    kind: str  # comments | worklogs | changelogs (the OverflowItems attribute)
    issue_id: str
    path: str
    params: dict[str, Any]
    items_key: str
    page_size: int
    total: int

    def offsets(self) -> range:
        return range(0, max(1, math.ceil(self.total / self.page_size)) * self.page_size, self.page_size)


class OverflowCalls(IssueCalls):
    def read_overflow(
        self, wanted: Sequence[Overflow], *, heartbeat: Callable[[], None] = lambda: None
    ) -> OverflowItems:
        """Every overflowing part of ``wanted``, read concurrently; ``heartbeat`` runs on the calling
        thread while it waits. The first failure (in the order the reads were planned) is raised after
        the reads in progress have ended; reads not yet started are dropped."""
        walks = self._plan_walks(wanted)
        bulk = [w.issue_id for w in wanted if w.changelog_total is not None] if self.api == "3" else []
        reads: list[Callable[[], Any]] = []
        if bulk:
            reads.append(lambda: self.changelogs_bulk(bulk))
        keys = [(walk, start) for walk in walks for start in walk.offsets()]
        reads += [self._page_reader(walk, start) for walk, start in keys]
        results = self._run_concurrently(reads, heartbeat)
        found = OverflowItems()
        if bulk:
            found.changelogs.update(results.pop(0))
        pages: dict[tuple[int, int], StartAtPage] = {
            (id(walk), start): page for (walk, start), page in zip(keys, results, strict=True)
        }
        for walk in walks:
            ahead = {start: pages[(id(walk), start)] for start in walk.offsets()}
            # In order on this thread: a page that came back short is continued one request at a time.
            items = walk_start_at(
                self._get,
                walk.path,
                walk.params,
                items_key=walk.items_key,
                page_size=walk.page_size,
                prefetched=ahead,
            )
            getattr(found, walk.kind)[walk.issue_id] = [item for page in items for item in page]
        return found

    def _plan_walks(self, wanted: Sequence[Overflow]) -> list[_Walk]:
        api, walks = self.api, []
        for w in wanted:
            base = f"/rest/api/{api}/issue/{w.issue_id}"
            planned = [
                ("comments", "comment", {"orderBy": "created"}, COMMENT_PAGE_SIZE, w.comment_total),
                ("worklogs", "worklog", {}, WORKLOG_PAGE_SIZE, w.worklog_total),
                # Data Center has no bulk changelog: its changelogs are paged per issue like the rest.
                (
                    "changelogs",
                    "changelog",
                    {},
                    CHANGELOG_PAGE_SIZE,
                    w.changelog_total if api == "2" else None,
                ),
            ]
            walks += [
                _Walk(kind, w.issue_id, f"{base}/{path}", params, _ITEMS_KEY[kind], page_size, total)
                for kind, path, params, page_size, total in planned
                if total is not None
            ]
        return walks

    def _page_reader(self, walk: _Walk, start: int) -> Callable[[], StartAtPage]:
        return lambda: read_start_at(
            self._get, walk.path, walk.params, items_key=walk.items_key, page_size=walk.page_size, start=start
        )

    def _run_concurrently(self, reads: list[Callable[[], Any]], heartbeat: Callable[[], None]) -> list[Any]:
        if len(reads) <= 1:
            return [read() for read in reads]
        workers = min(parallel_requests(), len(reads))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira-overflow")
        futures: list[Future[Any]] = []
        try:
            futures = [pool.submit(read) for read in reads]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=_HEARTBEAT_SECONDS, return_when=FIRST_COMPLETED)
                heartbeat()
                if any(f.exception() is not None for f in done):
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None:
                raise error
        return [future.result() for future in futures]
