"""Running JQL over the site: ordered results cached per data version, keyset page tokens, feeds.

A ``nextPageToken`` carries the sort key of the last issue served. The next page starts after that key in
the *current* ordering, so a page walk never skips or repeats an issue because another one was deleted or
created meanwhile; an issue updated meanwhile moves (and may show up again), as it does on Jira.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from fakejira.jql import JqlError, compile_jql
from fakejira.model import Issue
from fakejira.timefmt import epoch_ms

if TYPE_CHECKING:
    from fakejira.data import FakeData

STALE_PAGE_MESSAGE = "The provided next page token is invalid or expired."
_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Ordered:
    ids: list[int]
    keys: list[tuple[int, ...]]


class Searcher:
    """Call every method with ``data.lock`` held."""

    def __init__(self, data: FakeData) -> None:
        self.data = data
        self._cache: OrderedDict[tuple[str, int, str], _Ordered] = OrderedDict()

    def _ordered(self, jql: str) -> _Ordered:
        cache_key = (jql, self.data.version, self.data.time_zone)
        cached = self._cache.get(cache_key)
        if cached is not None:
            self._cache.move_to_end(cache_key)
            return cached
        query = compile_jql(jql, self.data)
        issues = self.data.issues
        if query.projects is not None:
            candidates: list[Issue] = [
                issues[i] for key in query.projects for i in self.data.projects[key].issue_ids
            ]
        else:
            candidates = list(issues.values())
        matched = sorted(
            ((query.sort_key(issue), issue.id) for issue in candidates if query.predicate(issue)),
        )
        result = _Ordered([issue_id for _, issue_id in matched], [key for key, _ in matched])
        if not query.volatile:  # a result that depends on the clock is only valid now
            self._cache[cache_key] = result
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def page(self, jql: str, token: str | None, size: int) -> tuple[list[Issue], str | None]:
        """One page of issues and the token of the next page (None on the last page)."""
        ordered = self._ordered(jql)
        start = 0
        if token:
            start = bisect.bisect_right(ordered.keys, _decode_token(token, jql))
        ids = ordered.ids[start : start + size]
        end = start + len(ids)
        next_token = _encode_token(jql, ordered.keys[end - 1]) if ids and end < len(ordered.ids) else None
        return [self.data.issues[i] for i in ids], next_token

    def offset_page(self, jql: str, start_at: int, size: int) -> tuple[list[Issue], int]:
        """Data Center's startAt paging: a page and the total."""
        ordered = self._ordered(jql)
        ids = ordered.ids[start_at : start_at + size]
        return [self.data.issues[i] for i in ids], len(ordered.ids)

    def count(self, jql: str) -> int:
        return len(self._ordered(jql).ids)


def _digest(jql: str) -> str:
    return hashlib.sha256(jql.encode()).hexdigest()[:12]


def _encode_token(jql: str, key: tuple[int, ...]) -> str:
    raw = json.dumps([_digest(jql), *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, jql: str) -> tuple[int, ...]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        digest, *key = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise JqlError(STALE_PAGE_MESSAGE) from error
    if digest != _digest(jql) or not all(isinstance(part, int) for part in key):
        raise JqlError(STALE_PAGE_MESSAGE)  # a token only continues the query that issued it
    return tuple(key)


class WorklogFeeds:
    """``worklog/updated`` and ``worklog/deleted``: oldest first, hiding the last ``lag`` seconds."""

    PAGE = 1000

    def __init__(self, data: FakeData) -> None:
        self.data = data
        self._updated: tuple[int, list[tuple[int, int]]] | None = None

    def _updated_items(self) -> list[tuple[int, int]]:
        if self._updated is None or self._updated[0] != self.data.version:
            items = sorted(
                (epoch_ms(w.updated), w.id) for issue in self.data.issues.values() for w in issue.worklogs
            )
            self._updated = (self.data.version, items)
        return self._updated[1]

    def _deleted_items(self) -> list[tuple[int, int]]:
        return sorted((epoch_ms(at), worklog_id) for at, worklog_id in self.data.deleted_worklogs)

    def updated(self, since_ms: int) -> tuple[list[tuple[int, int]], bool]:
        return self._page(self._updated_items(), since_ms)

    def deleted(self, since_ms: int) -> tuple[list[tuple[int, int]], bool]:
        return self._page(self._deleted_items(), since_ms)

    def _page(self, items: list[tuple[int, int]], since_ms: int) -> tuple[list[tuple[int, int]], bool]:
        """Items after ``since_ms`` and before the lag window, and whether this is the last page."""
        lag = timedelta(seconds=self.data.config.worklog_feed_lag_seconds)
        cutoff = epoch_ms(self.data.now() - lag)
        start = bisect.bisect_right(items, (since_ms, 2**63))
        stop = bisect.bisect_right(items, (cutoff, 2**63))
        end = min(stop, start + self.PAGE)
        # Never split one millisecond across pages: the next page starts after `until`, strictly.
        while end < stop and end > start and items[end][0] == items[end - 1][0]:
            end += 1
        return items[start:end], end >= stop
