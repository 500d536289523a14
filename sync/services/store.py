"""Writes mapped Jira records into the database: idempotent upserts, older data never overwrites newer.

Callers own the transaction (a batch and its cursor commit together); every function here issues a
constant number of queries per batch, whatever its size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from sync.jira.mapping import (
    ChangeRecord,
    CommentRecord,
    IssueRecord,
    SprintRecord,
    UserRecord,
    WorklogRecord,
)
from sync.models import (
    Comment,
    Issue,
    IssueChange,
    IssueSprint,
    JiraSite,
    JiraUser,
    Project,
    Sprint,
    Worklog,
)
from sync.services import bulk

_USER_FIELDS = ["display_name", "account_type", "active"]
_JIRA_IDENTITY = ("site_id", "jira_id")
# Columns by attname; all but the site are rewritten when a row is upserted again.
_ISSUE_COLUMNS = (
    "site_id",
    "project_id",
    "jira_id",
    "key",
    "summary",
    "status",
    "status_category",
    "priority",
    "issue_type",
    "assignee_id",
    "reporter_id",
    "parent_jira_id",
    "labels",
    "story_points",
    "created",
    "updated",
    "resolved",
    "description_adf",
    "description_text",
    "raw",
    "deleted_at",
    "synced_at",
)
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


def upsert_users(site: JiraSite, users: Iterable[UserRecord], *, with_email: bool = False) -> dict[str, int]:
    """Upsert users; returns accountId -> row id for every given user.

    The first record of an account wins: callers list full records (with names) before bare ids.
    """
    unique: dict[str, UserRecord] = {}
    for user in users:
        unique.setdefault(user.account_id, user)
    if not unique:
        return {}
    rows = [
        JiraUser(
            site=site,
            account_id=u.account_id,
            display_name=u.display_name,
            email=u.email,
            account_type=u.account_type,
            active=u.active,
            time_zone=u.time_zone,
        )
        for u in unique.values()
    ]
    fields = [*_USER_FIELDS, "email", "time_zone"] if with_email else _USER_FIELDS
    JiraUser.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["site", "account_id"], update_fields=fields
    )
    return dict(
        JiraUser.objects.filter(site=site, account_id__in=list(unique)).values_list("account_id", "id")
    )


def upsert_sprints(
    site: JiraSite, sprints: Iterable[SprintRecord], *, board_project: Project | None = None
) -> dict[int, int]:
    """Upsert sprints (read from ``board_project``'s boards, if given); returns Jira id -> row id."""
    unique = {s.jira_id: s for s in sprints}
    if not unique:
        return {}
    Sprint.objects.bulk_create(
        [
            Sprint(
                site=site,
                jira_id=s.jira_id,
                board_id=s.board_id,
                project=board_project,
                name=s.name,
                state=s.state,
                start_date=s.start_date,
                end_date=s.end_date,
                complete_date=s.complete_date,
                goal=s.goal,
            )
            for s in unique.values()
        ],
        update_conflicts=True,
        unique_fields=["site", "jira_id"],
        update_fields=[
            *(["project"] if board_project else []),
            "board_id",
            "name",
            "state",
            "start_date",
            "end_date",
            "complete_date",
            "goal",
        ],
    )
    return dict(Sprint.objects.filter(site=site, jira_id__in=list(unique)).values_list("jira_id", "id"))


def _newest_first_filter(
    records: Sequence[IssueRecord], stored: dict[int, datetime]
) -> tuple[list[IssueRecord], int]:
    """Keep the records at least as new as what is stored (equal re-applies are harmless)."""
    fresh = [r for r in records if r.jira_id not in stored or r.updated >= stored[r.jira_id]]
    return fresh, len(records) - len(fresh)


def apply_issue_batch(
    *,
    site: JiraSite,
    project: Project,
    records: Sequence[IssueRecord],
    projects_by_jira_id: dict[int, int],
) -> Counter[str]:
    """Upsert one page of issues with their users, sprint links, comments and worklogs.

    Each record must carry its *complete* comment and worklog lists (overflow already fetched): they
    replace what is stored for that issue, which is how deletions of comments reach us.
    """
    counts: Counter[str] = Counter()
    if not records:
        return counts
    ids = [r.jira_id for r in records]
    stored = dict(
        Issue.objects.select_for_update().filter(site=site, jira_id__in=ids).values_list("jira_id", "updated")
    )
    fresh, stale = _newest_first_filter(records, stored)
    counts["issues_stale"] += stale
    if not fresh:
        return counts

    users = upsert_users(
        site,
        (
            u
            for r in fresh
            for u in (
                *r.users,
                *(UserRecord(c.author) for c in r.comments if c.author),
                *(UserRecord(w.author) for w in r.worklogs if w.author),
            )
        ),
    )
    sprints = upsert_sprints(site, (s for r in fresh for s in r.sprints))
    now = timezone.now()
    bulk.upsert(
        Issue,
        _ISSUE_COLUMNS,
        (
            (
                site.id,
                projects_by_jira_id.get(r.project_jira_id or 0, project.id),
                r.jira_id,
                r.key,
                r.summary,
                r.status,
                r.status_category,
                r.priority or "",
                r.issue_type,
                users.get(r.assignee) if r.assignee else None,
                users.get(r.reporter) if r.reporter else None,
                r.parent_jira_id,
                r.labels,
                r.story_points,
                r.created,
                r.updated,
                r.resolved,
                r.description_adf,
                r.description_text,
                r.raw,
                None,
                now,
            )
            for r in fresh
        ),
        conflict=_JIRA_IDENTITY,
        update=_ISSUE_COLUMNS[1:],
    )
    counts["issues_upserted"] += len(fresh)
    issue_pk = dict(
        Issue.objects.filter(site=site, jira_id__in=[r.jira_id for r in fresh]).values_list("jira_id", "id")
    )
    pks = list(issue_pk.values())

    IssueSprint.objects.filter(issue_id__in=pks).delete()
    IssueSprint.objects.bulk_create(
        [
            IssueSprint(issue_id=issue_pk[r.jira_id], sprint_id=sprints[s.jira_id])
            for r in fresh
            for s in {s.jira_id: s for s in r.sprints}.values()
        ],
        ignore_conflicts=True,
    )

    comments = [(issue_pk[r.jira_id], c) for r in fresh for c in r.comments]
    counts["comments_deleted"] += _delete_missing(Comment, pks, [c.jira_id for _, c in comments])
    counts["comments_upserted"] += _upsert_comments(site, comments, users)
    worklogs = [(issue_pk[r.jira_id], w) for r in fresh for w in r.worklogs]
    counts["worklogs_deleted"] += _delete_missing(Worklog, pks, [w.jira_id for _, w in worklogs])
    counts["worklogs_upserted"] += upsert_worklogs(site, worklogs, users)
    changes = [(issue_pk[r.jira_id], c) for r in fresh for c in r.changes]
    counts["changes_upserted"] += _upsert_changes(site, changes, users)
    return counts


def _upsert_changes(
    site: JiraSite, changes: Sequence[tuple[int, ChangeRecord]], users: dict[str, int]
) -> int:
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


def _delete_missing(model: type[Comment] | type[Worklog], issue_pks: list[int], keep: list[int]) -> int:
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


def _upsert_comments(
    site: JiraSite, comments: Sequence[tuple[int, CommentRecord]], users: dict[str, int]
) -> int:
    bulk.upsert(
        Comment,
        _COMMENT_COLUMNS,
        (
            (*_authored_row(site, issue_id, c, users), c.body_adf, c.body_text, c.visibility)
            for issue_id, c in comments
        ),
        conflict=_JIRA_IDENTITY,
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
        conflict=_JIRA_IDENTITY,
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


def delete_worklogs(*, project: Project, jira_ids: Sequence[int]) -> int:
    deleted, _ = Worklog.objects.filter(issue__project=project, jira_id__in=jira_ids).delete()
    return deleted


def mark_issues_deleted(*, project: Project, live_ids: set[int], account_ids: Sequence[str]) -> int:
    """Soft-delete the project's stored issues (within the run's scope) that Jira no longer lists."""
    scope = Issue.live.filter(project=project)
    if account_ids:
        scope = scope.filter(
            Q(assignee__account_id__in=account_ids) | Q(reporter__account_id__in=account_ids)
        )
    gone = [pk for pk, jira_id in scope.values_list("id", "jira_id") if jira_id not in live_ids]
    if gone:
        Issue.objects.filter(id__in=gone).update(deleted_at=timezone.now())
    return len(gone)
