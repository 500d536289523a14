"""Jira payloads to plain records (``sync.jira.records``): pure functions, no database, no HTTP.

A payload that cannot be stored (no id, unparsable dates) raises ``MalformedPayload`` so the caller can skip
that one item; a field whose shape changed but still yields a value is mapped leniently and reported in
``schema_warnings`` so the run can log ``SCHEMA_CHANGED`` once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.jira.adf import adf_to_text
from sync.jira.dates import parse_jira_datetime
from sync.jira.fields import (
    BASE_FIELDS,
    MODELLED_FIELDS,
    SPRINT_FIELD_SCHEMA,
    discover_custom_fields,
    search_fields,
)
from sync.jira.records import (
    ChangeRecord,
    CommentRecord,
    IssueRecord,
    MalformedPayload,
    SprintRecord,
    UserRecord,
    WorklogRecord,
)

__all__ = [
    "BASE_FIELDS",
    "MODELLED_FIELDS",
    "SPRINT_FIELD_SCHEMA",
    "ChangeRecord",
    "CommentRecord",
    "IssueRecord",
    "MalformedPayload",
    "SprintRecord",
    "UserRecord",
    "WorklogRecord",
    "discover_custom_fields",
    "embedded_in_part",
    "map_changelog",
    "map_comment",
    "map_history",
    "map_issue",
    "map_sprint",
    "map_user",
    "map_worklog",
    "search_fields",
]


def _datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedPayload(f"{what} is missing or not a string: {value!r}")
    try:
        return parse_jira_datetime(value)
    except ValueError as exc:
        raise MalformedPayload(f"{what} is not a Jira timestamp: {value!r}") from exc


def _optional_datetime(value: Any, what: str) -> datetime | None:
    return None if value in (None, "") else _datetime(value, what)


_DB_INT_MAX = 2**63 - 1  # bigint columns: a larger number would fail the whole batch's transaction


def _int_id(value: Any, what: str, *, maximum: int = _DB_INT_MAX) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise MalformedPayload(f"{what} is not a numeric id: {value!r}") from None
    if not 0 <= number <= maximum:
        raise MalformedPayload(f"{what} is out of range: {value!r}")
    return number


def _optional_int(value: Any, what: str) -> int | None:
    return None if value is None else _int_id(value, what)


def map_user(payload: Any) -> UserRecord | None:
    if not isinstance(payload, dict) or not payload.get("accountId"):
        return None
    return UserRecord(
        account_id=str(payload["accountId"]),
        display_name=str(payload.get("displayName") or ""),
        email=str(payload.get("emailAddress") or ""),
        account_type=str(payload.get("accountType") or ""),
        active=bool(payload.get("active", True)),
        time_zone=str(payload.get("timeZone") or ""),
    )


def _named(value: Any, field_name: str, warnings: list[str]) -> str | None:
    """The ``name`` of a Jira object field; a bare string is accepted but flagged as a schema change."""
    if value is None:
        return None
    if isinstance(value, dict):
        name = value.get("name")
        return None if name is None else str(name)
    if isinstance(value, str):
        warnings.append(f"{field_name} is a string, expected an object with a name")
        return value
    raise MalformedPayload(f"{field_name} has an unexpected shape: {type(value).__name__}")


def map_comment(payload: dict[str, Any]) -> CommentRecord:
    author = map_user(payload.get("author"))
    updater = map_user(payload.get("updateAuthor"))
    return CommentRecord(
        jira_id=_int_id(payload.get("id"), "comment id"),
        author=author.account_id if author else None,
        update_author=updater.account_id if updater else None,
        created=_datetime(payload.get("created"), "comment created"),
        updated=_datetime(payload.get("updated") or payload.get("created"), "comment updated"),
        body_adf=payload.get("body"),
        body_text=adf_to_text(payload.get("body")),
        visibility=payload.get("visibility") or None,
    )


def map_worklog(payload: dict[str, Any]) -> WorklogRecord:
    author = map_user(payload.get("author"))
    updater = map_user(payload.get("updateAuthor"))
    issue_id = payload.get("issueId")
    return WorklogRecord(
        jira_id=_int_id(payload.get("id"), "worklog id"),
        issue_jira_id=_optional_int(issue_id, "worklog issueId"),
        author=author.account_id if author else None,
        update_author=updater.account_id if updater else None,
        created=_datetime(payload.get("created"), "worklog created"),
        updated=_datetime(payload.get("updated") or payload.get("created"), "worklog updated"),
        started=_datetime(payload.get("started"), "worklog started"),
        time_spent_seconds=_int_id(
            payload.get("timeSpentSeconds") or 0, "worklog timeSpentSeconds", maximum=2**31 - 1
        ),
        comment_adf=payload.get("comment"),
        comment_text=adf_to_text(payload.get("comment")),
        visibility=payload.get("visibility") or None,
    )


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def map_history(payload: Any) -> tuple[list[ChangeRecord], UserRecord | None]:
    """A changelog history as its change items (and its author, for the users table)."""
    if not isinstance(payload, dict):
        raise MalformedPayload(f"changelog history has an unexpected shape: {type(payload).__name__}")
    history_id = _int_id(payload.get("id"), "changelog history id")
    created = _datetime(payload.get("created"), f"changelog history {history_id} created")
    author = map_user(payload.get("author"))
    items = payload.get("items")
    if not isinstance(items, list):
        raise MalformedPayload(f"changelog history {history_id} has no items list")
    changes = [
        ChangeRecord(
            history_id=history_id,
            item_index=index,
            author=author.account_id if author else None,
            created=created,
            field=str(item.get("field") or ""),
            field_type=str(item.get("fieldtype") or ""),
            field_id=str(item.get("fieldId") or ""),
            from_value=_optional_text(item.get("from")),
            from_string=_optional_text(item.get("fromString")),
            to_value=_optional_text(item.get("to")),
            to_string=_optional_text(item.get("toString")),
        )
        for index, item in enumerate(items)
        if isinstance(item, dict)
    ]
    return changes, author


def map_changelog(histories: list[Any]) -> tuple[list[ChangeRecord], list[UserRecord]]:
    changes: list[ChangeRecord] = []
    authors: list[UserRecord] = []
    for history in histories:
        items, author = map_history(history)
        changes.extend(items)
        if author:
            authors.append(author)
    return changes, authors


def map_sprint(payload: Any) -> SprintRecord:
    if not isinstance(payload, dict):
        raise MalformedPayload(f"sprint has an unexpected shape: {payload!r}")
    board = payload.get("boardId", payload.get("originBoardId"))
    return SprintRecord(
        jira_id=_int_id(payload.get("id"), "sprint id"),
        name=str(payload.get("name") or ""),
        state=str(payload.get("state") or "").lower(),
        board_id=_optional_int(board, "sprint boardId"),
        start_date=_optional_datetime(payload.get("startDate"), "sprint startDate"),
        end_date=_optional_datetime(payload.get("endDate"), "sprint endDate"),
        complete_date=_optional_datetime(payload.get("completeDate"), "sprint completeDate"),
        goal=str(payload.get("goal") or ""),
    )


def _embedded(container: Any, key: str, name: str) -> tuple[list[dict[str, Any]], int]:
    if container is None:
        return [], 0
    if not isinstance(container, dict) or not isinstance(container.get(key), list):
        raise MalformedPayload(f"{name} has an unexpected shape")
    items = [item for item in container[key] if isinstance(item, dict)]
    total = container.get("total")
    return items, int(total) if isinstance(total, int) else len(items)


def embedded_in_part(payload: Any) -> tuple[int | None, int | None, int | None] | None:
    """The totals of the comments, worklogs and changelog an issue payload embeds only in part (None
    for a part it embeds whole), or None when it embeds all three whole or is malformed (``map_issue``
    then says how). As ``map_issue`` counts them, without the cost of mapping."""
    fields = payload.get("fields") if isinstance(payload, dict) else None
    if not isinstance(fields, dict):
        return None
    try:
        parts = [
            _embedded(fields.get("comment"), "comments", "comment field"),
            _embedded(fields.get("worklog"), "worklogs", "worklog field"),
            _embedded(payload.get("changelog"), "histories", "changelog"),
        ]
    except MalformedPayload:
        return None
    comments, worklogs, histories = (total if len(items) < total else None for items, total in parts)
    return None if comments is worklogs is histories is None else (comments, worklogs, histories)


def map_issue(payload: Any, *, sprint_field: str = "", story_points_field: str = "") -> IssueRecord:
    if not isinstance(payload, dict):
        raise MalformedPayload("issue is not a JSON object")
    jira_id = _int_id(payload.get("id"), "issue id")
    fields = payload.get("fields")
    if not isinstance(fields, dict):
        raise MalformedPayload(f"issue {jira_id} has no fields object")
    warnings: list[str] = []
    users: dict[str, UserRecord] = {}

    def user_of(value: Any) -> str | None:
        record = map_user(value)
        if record:
            users.setdefault(record.account_id, record)
        return record.account_id if record else None

    status = fields.get("status")
    category = ""
    if isinstance(status, dict) and isinstance(status.get("statusCategory"), dict):
        category = str(status["statusCategory"].get("key") or "")
    comments_raw, comment_total = _embedded(fields.get("comment"), "comments", "comment field")
    worklogs_raw, worklog_total = _embedded(fields.get("worklog"), "worklogs", "worklog field")
    comments = [map_comment(c) for c in comments_raw]
    worklogs = [map_worklog(w) for w in worklogs_raw]
    for item in (*comments_raw, *worklogs_raw):
        user_of(item.get("author"))
        user_of(item.get("updateAuthor"))
    # Present only when asked for with expand=changelog; `total` says whether every history came.
    histories_raw, history_total = _embedded(payload.get("changelog"), "histories", "changelog")
    changes, authors = map_changelog(histories_raw)
    for author in authors:
        users.setdefault(author.account_id, author)
    sprints_raw = fields.get(sprint_field) if sprint_field else None
    if sprints_raw is not None and not isinstance(sprints_raw, list):
        warnings.append(f"{sprint_field} is not a list of sprints")
        sprints_raw = None
    points = fields.get(story_points_field) if story_points_field else None
    if points is not None and not isinstance(points, int | float):
        warnings.append(f"{story_points_field} is not a number")
        points = None
    parent = fields.get("parent")
    project = fields.get("project")
    labels = fields.get("labels") or []
    if not isinstance(labels, list):
        warnings.append("labels is not a list")
        labels = []
    description = fields.get("description")
    record = IssueRecord(
        jira_id=jira_id,
        key=str(payload.get("key") or ""),
        project_jira_id=(
            _int_id(project.get("id"), "project id")
            if isinstance(project, dict) and project.get("id")
            else None
        ),
        summary=str(fields.get("summary") or ""),
        status=_named(status, "status", warnings) or "",
        status_category=category,
        priority=_named(fields.get("priority"), "priority", warnings),
        issue_type=_named(fields.get("issuetype"), "issuetype", warnings) or "",
        assignee=user_of(fields.get("assignee")),
        reporter=user_of(fields.get("reporter")),
        parent_jira_id=_int_id(parent.get("id"), "parent id") if isinstance(parent, dict) else None,
        labels=sorted(str(label) for label in labels),
        story_points=float(points) if points is not None else None,
        created=_datetime(fields.get("created"), f"issue {jira_id} created"),
        updated=_datetime(fields.get("updated"), f"issue {jira_id} updated"),
        resolved=_optional_datetime(fields.get("resolutiondate"), f"issue {jira_id} resolutiondate"),
        description_adf=description,
        description_text=adf_to_text(description),
        raw={
            k: v
            for k, v in fields.items()
            if k not in MODELLED_FIELDS and k not in (sprint_field, story_points_field)
        },
        sprints=[map_sprint(s) for s in sprints_raw or []],
        comments=comments,
        comment_total=comment_total,
        worklogs=worklogs,
        worklog_total=worklog_total,
        changes=changes,
        history_count=len(histories_raw),
        history_total=history_total,
        schema_warnings=warnings,
    )
    record.users = list(users.values())
    return record
