"""Issue pages: a cursor connection over keyset pages of issues."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import graphene

from core.errors import InvalidInput
from sync import selectors
from sync.graphql.selection import includes, parents
from sync.graphql.types import Issue


class IssueEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Issue, required=True)


class IssueConnection(graphene.ObjectType):
    total_count = graphene.Int(required=True)
    page_info = graphene.Field(graphene.relay.PageInfo, required=True)
    edges = graphene.List(graphene.NonNull(IssueEdge), required=True)

    @staticmethod
    def resolve_total_count(root: IssuePage, info: graphene.ResolveInfo) -> int:
        return root.total_count()


# --- Issue pages --------------------------------------------------------------------------------------

_CURSOR_PREFIX = "issue:"


def encode_cursor(jira_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{jira_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_CURSOR_PREFIX):
            return int(text.removeprefix(_CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(
        f"'{cursor}' is not a cursor of this list", field="after", advice="Pass a pageInfo.endCursor back"
    )


class IssuePage:
    """One keyset page: issues after a Jira id in Jira-id order, so concurrent updates never shift it."""

    def __init__(self, issues: Any, *, first: int, after: str | None, info: graphene.ResolveInfo) -> None:
        self._all = issues
        page = issues.filter(jira_id__gt=decode_cursor(after)) if after else issues
        path = ["edges", "node"]
        rows = selectors.issue_rows(
            issues=page, includes=includes(info, path), limit=first + 1, parents=parents(info, path)
        )
        self.has_next_page = len(rows) > first
        self.nodes = rows[:first]

    def total_count(self) -> int:
        count: int = self._all.count()
        return count

    @property
    def page_info(self) -> graphene.relay.PageInfo:
        return graphene.relay.PageInfo(
            has_next_page=self.has_next_page,
            has_previous_page=False,
            start_cursor=encode_cursor(self.nodes[0].jira_id) if self.nodes else None,
            end_cursor=encode_cursor(self.nodes[-1].jira_id) if self.nodes else None,
        )

    @property
    def edges(self) -> list[IssueEdge]:
        return [IssueEdge(cursor=encode_cursor(i.jira_id), node=i) for i in self.nodes]
