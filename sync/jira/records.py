"""What the sync reads from Jira, as plain records: the mapping's output and the store's input.

``MalformedPayload`` lives here too: it is the one failure a mapping raises, and callers catch it
where they handle the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class MalformedPayload(ValueError):
    """One item of a Jira response cannot be stored; the message names the problem."""


@dataclass(frozen=True)
class UserRecord:
    account_id: str
    display_name: str = ""
    email: str = ""
    account_type: str = ""
    active: bool = True
    time_zone: str = ""


@dataclass(frozen=True)
class CommentRecord:
    jira_id: int
    author: str | None
    update_author: str | None
    created: datetime
    updated: datetime
    body_adf: Any
    body_text: str
    visibility: dict[str, Any] | None


@dataclass(frozen=True)
class WorklogRecord:
    jira_id: int
    issue_jira_id: int | None
    author: str | None
    update_author: str | None
    created: datetime
    updated: datetime
    started: datetime
    time_spent_seconds: int
    comment_adf: Any
    comment_text: str
    visibility: dict[str, Any] | None


@dataclass(frozen=True)
class ChangeRecord:
    """One item of a changelog history; ``item_index`` is its position in the history."""

    history_id: int
    item_index: int
    author: str | None
    created: datetime
    field: str
    field_type: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None


@dataclass(frozen=True)
class SprintRecord:
    jira_id: int
    name: str
    state: str = ""
    board_id: int | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    complete_date: datetime | None = None
    goal: str = ""


@dataclass
class IssueRecord:
    jira_id: int
    key: str
    project_jira_id: int | None
    summary: str
    status: str
    status_category: str
    priority: str | None
    issue_type: str
    assignee: str | None
    reporter: str | None
    parent_jira_id: int | None
    labels: list[str]
    story_points: float | None
    created: datetime
    updated: datetime
    resolved: datetime | None
    description_adf: Any
    description_text: str
    raw: dict[str, Any]
    sprints: list[SprintRecord]
    comments: list[CommentRecord]
    comment_total: int
    worklogs: list[WorklogRecord]
    worklog_total: int
    changes: list[ChangeRecord] = field(default_factory=list)
    history_count: int = 0  # histories embedded (each holds one or more changes)
    history_total: int = 0  # histories Jira has for the issue
    users: list[UserRecord] = field(default_factory=list)
    schema_warnings: list[str] = field(default_factory=list)
