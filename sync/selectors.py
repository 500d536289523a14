"""Read queries shared by the interfaces (admin, GraphQL, REST, commands)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from sync.models import (
    Comment,
    Issue,
    IssueChange,
    IssueSprint,
    JiraSite,
    JiraUser,
    Project,
    Sprint,
    SyncRun,
    Worklog,
)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, the export format: ``2024-01-31T09:15:30.123Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def live_issues(project: Project) -> QuerySet[Issue]:
    return Issue.live.filter(project=project)


def export_issues(project: Project, *, chunk_size: int = 500) -> Iterator[dict[str, Any]]:
    """Every live issue of the project with its comments and worklogs, sorted by Jira id; streamed."""
    issues = (
        live_issues(project)
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


def export_sprints(project: Project) -> Iterator[dict[str, Any]]:
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


def export_users(project: Project) -> Iterator[dict[str, Any]]:
    for u in JiraUser.objects.filter(site=project.site).order_by("account_id"):
        yield {
            "accountId": u.account_id,
            "displayName": u.display_name,
            "accountType": u.account_type,
            "active": u.active,
        }


def recent_runs(project: Project, limit: int = 20) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(project=project).order_by("-created_at")[:limit]


def run_summary(run: SyncRun) -> dict[str, Any]:
    """What a person (or a script, as JSON) wants to know about a finished or running sync."""
    counts = run.counts or {}
    return {
        "run_id": run.id,
        "project": run.project.key,
        "status": run.status,
        "full": run.full,
        "issues": counts.get("issues_upserted", 0),
        "issues_deleted": counts.get("issues_deleted", 0),
        "comments": counts.get("comments_upserted", 0),
        "comments_deleted": counts.get("comments_deleted", 0),
        "worklogs": counts.get("worklogs_upserted", 0),
        "worklogs_deleted": counts.get("worklogs_deleted", 0),
        "sprints": counts.get("sprints_upserted", 0),
        "users": counts.get("users_upserted", 0),
        "issues_skipped": counts.get("issues_malformed", 0),
        "http_requests": run.request_total,
        "http_requests_by_endpoint": run.http_requests,
        "duration_s": round((run.duration_ms or 0) / 1000, 3),
        "error_code": run.error_code or None,
        "error": run.error_message or None,
    }


# --- History (Jira changelogs) ---------------------------------------------------------------------

CHANGE_ORDER = ("created", "history_id", "item_index")


def issue_changes() -> QuerySet[IssueChange]:
    """Change items oldest first, with their authors: prefetch it as ``Prefetch("changes", ...)``."""
    return IssueChange.objects.select_related("author").order_by(*CHANGE_ORDER)


def history_prefetch() -> Prefetch[Any]:
    return Prefetch("changes", queryset=issue_changes())


def export_history(project: Project, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
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


@dataclass(frozen=True)
class StatusTime:
    status: str
    seconds: float


def time_in_status(
    issue: Issue, changes: Iterable[IssueChange] | None = None, *, as_of: datetime | None = None
) -> list[StatusTime]:
    """Seconds the issue spent in each status from its creation until ``as_of`` (now), in the order the
    statuses were first entered; they add up to the issue's age.

    Pass ``changes`` (e.g. the prefetched ``issue.changes.all()``) to read without a query.
    """
    items = issue.changes.all() if changes is None else changes
    moves = sorted(
        (c for c in items if c.field == "status"), key=lambda c: (c.created, c.history_id, c.item_index)
    )
    end = as_of or timezone.now()
    current = (moves[0].from_string if moves else None) or issue.status
    since = issue.created
    spent: dict[str, timedelta] = {}
    for move in moves:
        at = min(max(move.created, since), end)  # clock skew must not make time negative
        spent[current] = spent.get(current, timedelta(0)) + (at - since)
        current, since = move.to_string or "", at
    spent[current] = spent.get(current, timedelta(0)) + max(end - since, timedelta(0))
    return [StatusTime(status, delta.total_seconds()) for status, delta in spent.items()]


def _sprint_ids(value: str | None) -> set[int]:
    return {int(part) for part in (value or "").split(",") if part.strip().isdigit()}


@dataclass(frozen=True)
class SprintScopeChange:
    issue: Issue
    change: Literal["added", "removed"]
    at: datetime
    author: JiraUser | None
    history_id: int


def sprint_scope_changes(sprint: Sprint) -> list[SprintScopeChange]:
    """Issues added to or removed from the sprint after it started (until it completed), oldest first."""
    if sprint.start_date is None:
        return []
    sprint_field = JiraSite.objects.filter(id=sprint.site_id).values_list("sprint_field", flat=True).first()
    window = Q(created__gt=sprint.start_date)
    if sprint.complete_date is not None:
        window &= Q(created__lte=sprint.complete_date)
    number = str(sprint.jira_id)
    candidates = (
        IssueChange.objects.filter(window, site_id=sprint.site_id, issue__deleted_at__isnull=True)
        .filter(Q(field="Sprint") | Q(field_id=sprint_field or "-"))
        .filter(Q(from_value__contains=number) | Q(to_value__contains=number))  # narrowed, then parsed
        .select_related("issue", "author")
        .order_by(*CHANGE_ORDER)
    )
    changes = []
    for item in candidates:
        before, after = _sprint_ids(item.from_value), _sprint_ids(item.to_value)
        if (sprint.jira_id in after) == (sprint.jira_id in before):
            continue
        kind: Literal["added", "removed"] = "added" if sprint.jira_id in after else "removed"
        changes.append(SprintScopeChange(item.issue, kind, item.created, item.author, item.history_id))
    return changes


def assignee_handoffs(project: Project) -> QuerySet[IssueChange]:
    """Changes of assignee away from someone (to another person or to nobody), oldest first."""
    return (
        IssueChange.objects.filter(
            issue__project=project, issue__deleted_at__isnull=True, field="assignee", from_value__isnull=False
        )
        .select_related("issue", "author")
        .order_by(*CHANGE_ORDER)
    )


# --- Webhooks ---------------------------------------------------------------------------------------


def webhook_status(sites: QuerySet[JiraSite]) -> QuerySet[JiraSite]:
    """Sites annotated with ``webhook_last_event`` and ``webhook_events_today`` (UTC day)."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return sites.annotate(
        webhook_last_event=Max("webhook_events__received_at"),
        webhook_events_today=Count("webhook_events", filter=Q(webhook_events__received_at__gte=today)),
    )
