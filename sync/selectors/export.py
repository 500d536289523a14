"""The export format: every synced row of a project as plain dicts in a stable order, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Prefetch

from core.isotime import iso_utc
from sync.models import Comment, IssueChange, IssueSprint, JiraUser, Project, Sprint, Worklog
from sync.selectors.issues import project_live_issues


def issues_export(*, project: Project, chunk_size: int = 500) -> Iterator[dict[str, Any]]:
    """Every live issue of the project with its comments and worklogs, sorted by Jira id; streamed."""
    issues = (
        project_live_issues(project=project)
        .select_related("assignee", "reporter")
        .prefetch_related(
            Prefetch("comments", queryset=Comment.objects.select_related("author").order_by("jira_id")),
            Prefetch("worklogs", queryset=Worklog.objects.select_related("author").order_by("jira_id")),
            Prefetch("issuesprint_set", queryset=IssueSprint.objects.select_related("sprint")),
        )
        .order_by("jira_id")
    )
    for issue in issues.iterator(chunk_size=chunk_size):
        yield {
            "id": str(issue.jira_id),
            "key": issue.key,
            "summary": issue.summary,
            "status": issue.status,
            "priority": issue.priority or None,
            "issuetype": issue.issue_type,
            "assignee": issue.assignee.account_id if issue.assignee else None,
            "reporter": issue.reporter.account_id if issue.reporter else None,
            "parent_id": str(issue.parent_jira_id) if issue.parent_jira_id else None,
            "labels": sorted(issue.labels),
            "sprint_ids": sorted(link.sprint.jira_id for link in issue.issuesprint_set.all()),
            "created": iso_utc(issue.created),
            "updated": iso_utc(issue.updated),
            "resolved": iso_utc(issue.resolved),
            "comments": [
                {
                    "id": str(c.jira_id),
                    "author": c.author.account_id if c.author else None,
                    "created": iso_utc(c.created),
                    "updated": iso_utc(c.updated),
                    "body_text": c.body_text,
                }
                for c in issue.comments.all()
            ],
            "worklogs": [
                {
                    "id": str(w.jira_id),
                    "author": w.author.account_id if w.author else None,
                    "started": iso_utc(w.started),
                    "time_spent_seconds": w.time_spent_seconds,
                    "updated": iso_utc(w.updated),
                }
                for w in issue.worklogs.all()
            ],
        }


def sprints_export(*, project: Project) -> Iterator[dict[str, Any]]:
    sprints = Sprint.objects.filter(project=project).order_by("jira_id")
    for s in sprints:
        yield {
            "id": s.jira_id,
            "board_id": s.board_id,
            "name": s.name,
            "state": s.state,
            "start_date": iso_utc(s.start_date),
            "end_date": iso_utc(s.end_date),
            "complete_date": iso_utc(s.complete_date),
            "goal": s.goal,
        }


def users_export(*, project: Project) -> Iterator[dict[str, Any]]:
    for u in JiraUser.objects.filter(site=project.site).order_by("account_id"):
        yield {
            "accountId": u.account_id,
            "displayName": u.display_name,
            "accountType": u.account_type,
            "active": u.active,
        }


def history_export(*, project: Project, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every change item of the project's live issues, sorted by issue id, history id and item; streamed."""
    rows = (
        IssueChange.objects.filter(issue__project=project, issue__deleted_at__isnull=True)
        .order_by("issue__jira_id", "history_id", "item_index")
        .values_list(
            "issue__jira_id",
            "history_id",
            "created",
            "author__account_id",
            "field",
            "from_value",
            "to_value",
            "from_string",
            "to_string",
        )
    )
    for issue_id, history_id, created, author, field, from_, to, from_string, to_string in rows.iterator(
        chunk_size=chunk_size
    ):
        yield {
            "issue_id": str(issue_id),
            "history_id": str(history_id),
            "created": iso_utc(created),
            "author": author,
            "field": field,
            "from": from_,
            "to": to,
            "from_string": from_string,
            "to_string": to_string,
        }
