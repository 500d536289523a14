"""The agile API: boards and their sprints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sync.jira.errors import JiraError
from sync.jira.paging import walk_start_at
from sync.jira.shapes import expect_dict
from sync.jira.transport import Transport

AGILE_PAGE_SIZE = 50


class AgileCalls(Transport):
    def iter_board_pages(self, project_key: str) -> Iterator[list[dict[str, Any]]]:
        yield from walk_start_at(
            self._get,
            "/rest/agile/1.0/board",
            {"projectKeyOrId": project_key},
            items_key="values",
            page_size=AGILE_PAGE_SIZE,
        )

    def iter_sprint_pages(self, board_id: int) -> Iterator[list[dict[str, Any]]]:
        """Sprints of a board; a kanban board has none and says so with a 400, which is fine."""
        pages = walk_start_at(
            self._get,
            f"/rest/agile/1.0/board/{board_id}/sprint",
            {},
            items_key="values",
            page_size=AGILE_PAGE_SIZE,
        )
        try:
            yield from pages
        except JiraError as exc:
            said = " ".join(exc.jira_messages).lower()
            if exc.status == 400 and "does not support sprints" in said:
                return
            raise

    def get_sprint(self, sprint_id: int) -> dict[str, Any]:
        return expect_dict(self._get(f"/rest/agile/1.0/sprint/{int(sprint_id)}"), "sprint")
