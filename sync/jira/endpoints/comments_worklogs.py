"""Comments and worklogs beyond those a search result embeds, and Jira's worklog change feeds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sync.jira.paging import WorklogFeedPage, walk_feed, walk_start_at
from sync.jira.shapes import expect_list
from sync.jira.transport import Transport

COMMENT_PAGE_SIZE = 100
WORKLOG_PAGE_SIZE = 5000
WORKLOG_LIST_CHUNK = 1000


class CommentWorklogCalls(Transport):
    def iter_comment_pages(self, issue_id: str, *, start_at: int = 0) -> Iterator[list[dict[str, Any]]]:
        yield from walk_start_at(
            self._get,
            f"/rest/api/{self.api}/issue/{issue_id}/comment",
            {"orderBy": "created"},
            items_key="comments",
            page_size=COMMENT_PAGE_SIZE,
            start_at=start_at,
        )

    def iter_worklog_pages(
        self, issue_id: str, *, started_after_ms: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        yield from walk_start_at(
            self._get,
            f"/rest/api/{self.api}/issue/{issue_id}/worklog",
            {"startedAfter": started_after_ms},
            items_key="worklogs",
            page_size=WORKLOG_PAGE_SIZE,
        )

    # --- worklog change feeds --------------------------------------------------------------------
    def iter_worklog_updated(self, since_ms: int) -> Iterator[WorklogFeedPage]:
        yield from walk_feed(self._get, f"/rest/api/{self.api}/worklog/updated", since_ms)

    def iter_worklog_deleted(self, since_ms: int) -> Iterator[WorklogFeedPage]:
        yield from walk_feed(self._get, f"/rest/api/{self.api}/worklog/deleted", since_ms)

    def worklog_list(self, ids: Sequence[int | str]) -> list[dict[str, Any]]:
        worklogs: list[dict[str, Any]] = []
        for start in range(0, len(ids), WORKLOG_LIST_CHUNK):
            chunk = [int(i) for i in ids[start : start + WORKLOG_LIST_CHUNK]]
            data = self._post(f"/rest/api/{self.api}/worklog/list", {"ids": chunk})
            worklogs.extend(expect_list(data, "worklog/list"))
        return worklogs
