"""Reads of Jira changelogs: time in status, a sprint's scope changes, assignee hand-offs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from core.tenancy import visible
from sync.models import Issue, IssueChange, JiraSite, JiraUser, Project, Sprint
from sync.selectors.issues import CHANGE_ORDER, IssueIncludes, issue_history, issue_rows


@dataclass(frozen=True)
class StatusTime:
    status: str
    seconds: float


def issue_time_in_status(
    *, issue: Issue, changes: Iterable[IssueChange] | None = None, as_of: datetime | None = None
) -> list[StatusTime]:
    """Seconds the issue spent in each status from its creation until ``as_of`` (now), in the order the
    statuses were first entered; they add up to the issue's age.

    Reads the changes prefetched by ``issues_with_details(history=True)`` when there are.
    """
    items = issue_history(issue=issue) if changes is None else changes
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


def sprint_by_jira_id(*, sprint_id: int) -> Sprint:
    sprints = list(visible(Sprint.objects.filter(jira_id=sprint_id), "project__site_id")[:2])
    if not sprints:
        raise NotFound(f"No synced sprint {sprint_id}", field="sprintId")
    if len(sprints) > 1:
        raise InvalidInput(f"Sprint {sprint_id} exists on several sites", field="sprintId")
    return sprints[0]


def sprint_scope_changes(
    *, sprint: Sprint, includes: IssueIncludes | None = None, parents: IssueIncludes | None = None
) -> list[SprintScopeChange]:
    """Issues added to or removed from the sprint after it started (until it completed), oldest first.

    With ``includes`` (and ``parents``), the issues come as ``issue_rows`` loads them (no N+1).
    """
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
    if includes is None or not changes:
        return changes
    detailed = issue_rows(
        issues=Issue.objects.filter(id__in={c.issue.id for c in changes}), includes=includes, parents=parents
    )
    by_id = {issue.id: issue for issue in detailed}
    return [replace(c, issue=by_id[c.issue.id]) for c in changes]


def assignee_handoffs(*, project: Project) -> QuerySet[IssueChange]:
    """Changes of assignee away from someone (to another person or to nobody), oldest first."""
    return (
        IssueChange.objects.filter(
            issue__project=project, issue__deleted_at__isnull=True, field="assignee", from_value__isnull=False
        )
        .select_related("issue", "author")
        .order_by(*CHANGE_ORDER)
    )
