"""The fake's configuration, its entities and the catalogues (statuses, types, priorities) Jira would hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Deployment = Literal["Cloud", "DataCenter"]


@dataclass
class FakeDataConfig:
    seed: int = 1
    projects: dict[str, int] = field(default_factory=lambda: {"ALPHA": 50})
    users: int = 20
    comments_per_issue: float = 4.5
    worklogs_per_issue: float = 2.75
    heavy_comment_ratio: float = 0.02
    heavy_worklog_ratio: float = 0.01
    sprints_per_board: int = 6
    time_zone: str = "UTC"
    deployment: Deployment = "Cloud"
    api_token: str = "fake-api-token-0123456789"  # noqa: S105 - the fake's published test credential
    pat: str = "fake-personal-access-token-0123456789"
    email: str = "api-user@example.com"
    search_page_cap: int = 100
    embedded_limit: int = 20
    changelog_embedded_limit: int = 100  # histories embedded by expand=changelog (Jira: up to 100)
    worklog_feed_lag_seconds: float = 60.0
    start: datetime = field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC))
    # Where generated history ends. None means five minutes before the wall clock at generation, so fresh
    # data is already past the worklog feed lag; set it to make the data identical across runs.
    end: datetime | None = None


@dataclass(frozen=True)
class StatusDef:
    id: str
    name: str
    category_id: int
    category_key: str  # new | indeterminate | done
    category_name: str
    color: str


STATUSES: dict[str, StatusDef] = {
    s.name: s
    for s in (
        StatusDef("10000", "To Do", 2, "new", "To Do", "blue-gray"),
        StatusDef("3", "In Progress", 4, "indeterminate", "In Progress", "yellow"),
        StatusDef("10001", "In Review", 4, "indeterminate", "In Progress", "yellow"),
        StatusDef("10002", "Done", 3, "done", "Done", "green"),
    )
}

PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}


@dataclass(frozen=True)
class IssueTypeDef:
    id: str
    name: str
    subtask: bool
    hierarchy_level: int


ISSUE_TYPES: dict[str, IssueTypeDef] = {
    t.name: t
    for t in (
        IssueTypeDef("10000", "Epic", False, 1),
        IssueTypeDef("10001", "Story", False, 0),
        IssueTypeDef("10002", "Task", False, 0),
        IssueTypeDef("10003", "Bug", False, 0),
        IssueTypeDef("10004", "Sub-task", True, -1),
    )
}


@dataclass(slots=True)
class User:
    account_id: str
    display_name: str
    account_type: str  # atlassian | app
    active: bool
    time_zone: str
    email: str | None = None  # only the API user's address is visible


@dataclass(slots=True)
class Project:
    id: int
    key: str
    name: str
    lead: str
    issue_ids: list[int] = field(default_factory=list)  # ascending, kept sorted
    next_number: int = 1


@dataclass(slots=True)
class Board:
    id: int
    name: str
    type: str  # scrum | kanban
    project_key: str


@dataclass(slots=True)
class Sprint:
    id: int
    board_id: int
    name: str
    state: str  # closed | active | future
    start_date: datetime | None
    end_date: datetime | None
    complete_date: datetime | None
    goal: str


@dataclass(slots=True)
class Comment:
    id: int
    issue_id: int
    author: str
    update_author: str
    body: dict[str, Any]
    created: datetime
    updated: datetime
    visibility: dict[str, str] | None = None


@dataclass(slots=True)
class Worklog:
    id: int
    issue_id: int
    author: str
    update_author: str
    comment: dict[str, Any] | None
    created: datetime
    updated: datetime
    started: datetime
    seconds: int


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One field change of a history, as Jira's changelog renders it (ids in from/to, names in *String)."""

    field: str
    fieldtype: str  # jira | custom
    field_id: str | None
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None


@dataclass(slots=True)
class History:
    id: int
    issue_id: int
    author: str | None
    created: datetime
    items: list[ChangeItem]


@dataclass(slots=True)
class Issue:
    id: int
    key: str
    project_key: str
    summary: str
    issuetype: str
    status: str
    priority: str | None
    labels: list[str]
    story_points: float | None
    sprint_ids: list[int]
    assignee: str | None
    reporter: str | None
    parent_id: int | None
    description: dict[str, Any] | None
    created: datetime
    updated: datetime
    resolved: datetime | None
    comments: list[Comment] = field(default_factory=list)  # in created order
    worklogs: list[Worklog] = field(default_factory=list)  # in id order
    changelog: list[History] = field(default_factory=list)  # in created order (ids ascend with it)
    corruption: str | None = None
    # Bumped on every change that alters the issue's rendering, so cached JSON can be reused safely.
    rev: int = 0
