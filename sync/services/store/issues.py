"""Issue pages: the issues with their users, sprint links and children; and soft deletion of the
issues Jira no longer lists."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from core.interfaces.fields import model_fields
from sync.fieldmaps import ISSUE_DETAIL
from sync.jira.records import IssueRecord, UserRecord
from sync.models import Comment, Issue, IssueSprint, JiraSite, Project, Worklog
from sync.services import bulk
from sync.services.scope import stored_in_scope
from sync.services.store.children import (
    JIRA_IDENTITY,
    delete_missing,
    upsert_changes,
    upsert_comments,
    upsert_worklogs,
)
from sync.services.store.users_sprints import upsert_sprints, upsert_users

# Columns by attname; all but the site are rewritten when a row is upserted again. The public ones come
# from the issue map (so the store writes every field the APIs read), the rest are storage only.
_ISSUE_COLUMNS = (
    "site_id",
    "project_id",
    # jira_id … description_text, in the map's order, which the row below keeps.
    *model_fields(ISSUE_DETAIL, attname=True),
    "parent_jira_id",
    "description_adf",
    "raw",
    "deleted_at",
    "synced_at",
)


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
                r.labels,
                r.story_points,
                r.created,
                r.updated,
                r.resolved,
                users.get(r.assignee) if r.assignee else None,
                users.get(r.reporter) if r.reporter else None,
                r.description_text,
                r.parent_jira_id,
                r.description_adf,
                r.raw,
                None,
                now,
            )
            for r in fresh
        ),
        conflict=JIRA_IDENTITY,
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
    counts["comments_deleted"] += delete_missing(Comment, pks, [c.jira_id for _, c in comments])
    counts["comments_upserted"] += upsert_comments(site, comments, users)
    worklogs = [(issue_pk[r.jira_id], w) for r in fresh for w in r.worklogs]
    counts["worklogs_deleted"] += delete_missing(Worklog, pks, [w.jira_id for _, w in worklogs])
    counts["worklogs_upserted"] += upsert_worklogs(site, worklogs, users)
    changes = [(issue_pk[r.jira_id], c) for r in fresh for c in r.changes]
    counts["changes_upserted"] += upsert_changes(site, changes, users)
    return counts


def mark_issues_deleted(
    *,
    project: Project,
    live_ids: set[int],
    account_ids: Sequence[str],
    left_ids: Sequence[int] = (),
    updated_before: datetime | None = None,
) -> int:
    """Soft-delete the project's stored issues (within the run's scope) that Jira no longer lists.

    ``left_ids`` are issues that were in scope before this run deleted what kept them there (a tracked
    account's worklog from the deletion feed): the stored rows no longer show it, so they are named.
    With ``updated_before`` (when ``live_ids`` were read), issues Jira updated later are left alone:
    created or moved in after that read, they would be missing from it."""
    live = Issue.live.filter(project=project)
    if updated_before is not None:
        live = live.filter(updated__lte=updated_before)
    scope = stored_in_scope(live, account_ids)
    if account_ids and left_ids:
        scope = scope | live.filter(jira_id__in=left_ids)
    gone = [pk for pk, jira_id in scope.values_list("id", "jira_id") if jira_id not in live_ids]
    if gone:
        Issue.objects.filter(id__in=gone).update(deleted_at=timezone.now())
    return len(gone)
