"""Jira's pagination styles, walked one page at a time and stopped on what Jira says (``isLast``,
``total``, a missing ``nextPageToken``, ``lastPage``), never on a page size we assumed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sync.jira.shapes import JSON, expect_dict, expect_list, schema_error

Get = Callable[[str, dict[str, Any]], JSON]


@dataclass(frozen=True)
class SearchPage:
    issues: list[dict[str, Any]]
    next_page_token: str | None
    is_last: bool


@dataclass(frozen=True)
class WorklogFeedPage:
    values: list[dict[str, Any]]
    since: int
    until: int
    last_page: bool


@dataclass(frozen=True)
class StartAtPage:
    """One ``startAt`` page as Jira answered it: its items and what it said about the end."""

    items: list[dict[str, Any]]
    is_last: Any = None
    total: Any = None


def read_start_at(
    get: Get, path: str, params: dict[str, Any], *, items_key: str | None, page_size: int, start: int
) -> StartAtPage:
    data = get(path, {**params, "startAt": start, "maxResults": page_size})
    if items_key is None:
        return StartAtPage(expect_list(data, path))
    container = expect_dict(data, path)
    items = expect_list(container.get(items_key), f"{path} {items_key}")
    return StartAtPage(items, container.get("isLast"), container.get("total"))


def walk_start_at(
    get: Get,
    path: str,
    params: dict[str, Any],
    *,
    items_key: str | None,
    page_size: int,
    start_at: int = 0,
    prefetched: Mapping[int, StartAtPage] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Walk ``startAt`` pages: stop on ``isLast``, on reaching ``total``, or on an empty page.

    A page shorter than asked is not the end (Jira caps and filters pages as it likes), so a
    bare list endpoint costs one extra, empty request at the end. ``prefetched`` pages (read ahead,
    concurrently, by offset) are used where the walk reaches their offset; after a short page the walk
    continues from where that page ended, exactly as without them.
    """
    start = start_at
    ahead = prefetched or {}
    while True:
        page = ahead.get(start) or read_start_at(
            get, path, params, items_key=items_key, page_size=page_size, start=start
        )
        if page.items:
            yield page.items
        start += len(page.items)
        if not page.items or page.is_last is True:
            return
        if page.is_last is None and isinstance(page.total, int) and start >= page.total:
            return


def walk_tokens(fetch: Callable[[str | None], SearchPage]) -> Iterator[SearchPage]:
    """Follow ``nextPageToken`` from the first page (``fetch(None)``) to the last."""
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(token)
        yield page
        if page.is_last or page.next_page_token is None:
            return
        if page.next_page_token in seen:  # a loop would sync forever
            raise schema_error("search", "a fresh nextPageToken")
        seen.add(page.next_page_token)
        token = page.next_page_token


def walk_feed(get: Get, path: str, since_ms: int) -> Iterator[WorklogFeedPage]:
    """A worklog change feed from ``since_ms``: pages chained by ``since`` until ``lastPage``."""
    since = int(since_ms)
    while True:
        data = expect_dict(get(path, {"since": since}), path)
        values = data.get("values")
        if not isinstance(values, list):
            raise schema_error(path, "values")
        last_page = bool(data.get("lastPage", True))
        until = int(data.get("until") or since)
        yield WorklogFeedPage(values, since, until, last_page)
        following = next_since(data.get("nextPage"), until)
        if last_page or following is None or following <= since:
            return
        since = following


def next_since(next_page: Any, until: int) -> int | None:
    """The ``since`` of the feed's next page: from its ``nextPage`` URL, else ``until``."""
    if isinstance(next_page, str) and next_page:
        values = parse_qs(urlsplit(next_page).query).get("since")
        if values and values[0].isdigit():
            return int(values[0])
    return until or None
