"""What hangs off an issue: comments, worklogs (from issue pages and from the change feed) and
changelog items."""

from __future__ import annotations

from collections.abc import Sequence

from sync.jira.records import ChangeRecord, CommentRecord, UserRecord, WorklogRecord
from sync.models import Comment, Issue, IssueChange, JiraSite, Project, Worklog
from sync.services import bulk
from sync.services.store.users_sprints import upsert_users

JIRA_IDENTITY = ("site_id", "jira_id")
# Columns by attname; all but the site are rewritten when a row is upserted again.
_COMMENT_COLUMNS = (
    "site_id",
    "issue_id",
    "jira_id",
    "author_id",
    "update_author_id",
    "created",
    "updated",
    "body_adf",
    "body_text",
    "visibility",
)
_WORKLOG_COLUMNS = (
    "site_id",
    "issue_id",
    "jira_id",
    "author_id",
    "update_author_id",
    "created",
    "updated",
    "started",
    "time_spent_seconds",
    "comment_adf",
    "comment_text",
    "visibility",
)
_CHANGE_COLUMNS = (
    "site_id",
    "issue_id",
    "history_id",
    "item_index",
    "author_id",
    "created",
    "field",
    "field_type",
    "field_id",
    "from_value",
    "from_string",
    "to_value",
    "to_string",
)
_CHANGE_IDENTITY = ("site_id", "history_id", "item_index")


def upsert_changes(site: JiraSite, changes: Sequence[tuple[int, ChangeRecord]], users: dict[str, int]) -> int:
    """Changelog items are append-only in Jira: upserting on (site, history id, item) is idempotent."""
    if not changes:
        return 0
    bulk.upsert(
        IssueChange,
        _CHANGE_COLUMNS,
        (
            (
                site.id,
                issue_id,
                c.history_id,
                c.item_index,
                users.get(c.author) if c.author else None,
                c.created,
                c.field,
                c.field_type,
                c.field_id,
                c.from_value,
                c.from_string,
                c.to_value,
                c.to_string,
            )
            for issue_id, c in changes
        ),
        conflict=_CHANGE_IDENTITY,
        update=_CHANGE_COLUMNS[1:],
    )
    return len(changes)


def delete_missing(model: type[Comment] | type[Worklog], issue_pks: list[int], keep: list[int]) -> int:
    """Delete the issues' rows not in ``keep``: how deletions of comments and worklogs reach us."""
    deleted, _ = model.objects.filter(issue_id__in=issue_pks).exclude(jira_id__in=keep).delete()
    return deleted


def _authored_row(
    site: JiraSite, issue_id: int, record: CommentRecord | WorklogRecord, users: dict[str, int]
) -> tuple[object, ...]:
    """The leading columns comments and worklogs share (see _COMMENT_COLUMNS, _WORKLOG_COLUMNS)."""
    return (
        site.id,
        issue_id,
        record.jira_id,
        users.get(record.author) if record.author else None,
        users.get(record.update_author) if record.update_author else None,
        record.created,
        record.updated,
    )


def upsert_comments(
    site: JiraSite, comments: Sequence[tuple[int, CommentRecord]], users: dict[str, int]
) -> int:
    bulk.upsert(
        Comment,
        _COMMENT_COLUMNS,
        (
            (*_authored_row(site, issue_id, c, users), c.body_adf, c.body_text, c.visibility)
            for issue_id, c in comments
        ),
        conflict=JIRA_IDENTITY,
        update=_COMMENT_COLUMNS[1:],
    )
    return len(comments)


def upsert_worklogs(
    site: JiraSite,
    worklogs: Sequence[tuple[int, WorklogRecord]],
    users: dict[str, int] | None = None,
) -> int:
    if not worklogs:
        return 0
    if users is None:
        users = upsert_users(site, (UserRecord(w.author) for _, w in worklogs if w.author))
    bulk.upsert(
        Worklog,
        _WORKLOG_COLUMNS,
        (
            (
                *_authored_row(site, issue_id, w, users),
                w.started,
                w.time_spent_seconds,
                w.comment_adf,
                w.comment_text,
                w.visibility,
            )
            for issue_id, w in worklogs
        ),
        conflict=JIRA_IDENTITY,
        update=_WORKLOG_COLUMNS[1:],
    )
    return len(worklogs)


def apply_worklog_changes(*, site: JiraSite, project: Project, worklogs: Sequence[WorklogRecord]) -> int:
    """Upsert worklogs from the change feed that belong to this project's stored issues (newer wins)."""
    issue_pk = dict(
        Issue.objects.filter(
            project=project, jira_id__in={w.issue_jira_id for w in worklogs if w.issue_jira_id}
        ).values_list("jira_id", "id")
    )
    stored = dict(
        Worklog.objects.filter(site=site, jira_id__in=[w.jira_id for w in worklogs]).values_list(
            "jira_id", "updated"
        )
    )
    fresh = [
        (issue_pk[w.issue_jira_id], w)
        for w in worklogs
        if w.issue_jira_id in issue_pk and (w.jira_id not in stored or w.updated >= stored[w.jira_id])
    ]
    return upsert_worklogs(site, fresh)


def worklog_issue_ids(*, project: Project, jira_ids: Sequence[int], authors: Sequence[str]) -> list[int]:
    """Jira ids of the project's stored issues holding these worklogs by these authors (none: [])."""
    if not jira_ids or not authors:
        return []
    return sorted(
        set(
            Worklog.objects.filter(
                issue__project=project, jira_id__in=jira_ids, author__account_id__in=authors
            ).values_list("issue__jira_id", flat=True)
        )
    )


def delete_worklogs(*, project: Project, jira_ids: Sequence[int]) -> int:
    deleted, _ = Worklog.objects.filter(issue__project=project, jira_id__in=jira_ids).delete()
    return deleted
