"""Read queries shared by the agents and the interfaces (GraphQL, REST, admin, commands)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.isotime import iso_utc
from core.tenancy import visible
from orchestration.models import AgentExecution, Approval, Event, Orchestration, PhaseExecution
from sync.models import Comment, Issue, Worklog
from sync.selectors import project_live_issues


def issue_context(*, issue: Issue) -> dict[str, Any]:
    """The issue as synced, with its comments, worklogs, sprints, parent and siblings: an agent's input."""
    issue = (
        Issue.objects.select_related("assignee", "reporter", "project")
        .prefetch_related(
            Prefetch("comments", queryset=Comment.objects.select_related("author").order_by("created")),
            Prefetch("worklogs", queryset=Worklog.objects.select_related("author").order_by("started")),
            "sprints",
        )
        .get(id=issue.id)
    )
    parent = (
        project_live_issues(project=issue.project)
        .filter(site=issue.site_id, jira_id=issue.parent_jira_id)
        .first()
        if issue.parent_jira_id
        else None
    )
    siblings = (
        project_live_issues(project=issue.project)
        .filter(parent_jira_id=issue.parent_jira_id)
        .exclude(id=issue.id)
        .order_by("key")
        .values("key", "summary", "status")
        if issue.parent_jira_id
        else []
    )
    return {
        "key": issue.key,
        "project": issue.project.key,
        "summary": issue.summary,
        "description": issue.description_text,
        "status": issue.status,
        "status_category": issue.status_category,
        "issue_type": issue.issue_type,
        "priority": issue.priority,
        "labels": sorted(issue.labels),
        "story_points": issue.story_points,
        "assignee": issue.assignee.display_name if issue.assignee else None,
        "reporter": issue.reporter.display_name if issue.reporter else None,
        "created": iso_utc(issue.created),
        "updated": iso_utc(issue.updated),
        "comments": [
            {
                "author": c.author.display_name if c.author else None,
                "created": iso_utc(c.created),
                "text": c.body_text,
            }
            for c in issue.comments.all()
        ],
        "worklogs": [
            {
                "author": w.author.display_name if w.author else None,
                "started": iso_utc(w.started),
                "seconds": w.time_spent_seconds,
                "comment": w.comment_text,
            }
            for w in issue.worklogs.all()
        ],
        "sprints": [
            {"name": s.name, "state": s.state, "goal": s.goal, "end": iso_utc(s.end_date)}
            for s in sorted(issue.sprints.all(), key=lambda s: s.jira_id)
        ],
        "parent": {"key": parent.key, "summary": parent.summary, "status": parent.status} if parent else None,
        "siblings": list(siblings),
    }


def orchestrations_list(
    *, status: str | None = None, project_key: str | None = None
) -> QuerySet[Orchestration]:
    query = visible(Orchestration.objects.select_related("project").order_by("-id"), "project__site_id")
    if status:
        query = query.filter(status=status)
    if project_key:
        query = query.filter(project__key=project_key.upper())
    return query


def orchestration_detail() -> QuerySet[Orchestration]:
    """One orchestration with everything its detail views show, in a constant number of queries."""
    return (
        visible(Orchestration.objects, "project__site_id")
        .select_related("project")
        .prefetch_related(
            Prefetch("phases", queryset=PhaseExecution.objects.prefetch_related("agents").order_by("id")),
            Prefetch("approvals", queryset=Approval.objects.order_by("id")),
            Prefetch("events", queryset=Event.objects.order_by("seq")),
        )
    )


def orchestration_timeline(*, orchestration: Orchestration) -> list[Event]:
    return list(Event.objects.filter(orchestration=orchestration).order_by("seq"))


def phase_outputs_latest(*, executions: Iterable[PhaseExecution]) -> dict[str, dict[str, Any]]:
    """Phase -> outputs of its latest successful execution (what the next phase's agents build on)."""
    ordered = sorted(executions, key=lambda e: e.id)
    return {e.phase: e.output for e in ordered if e.state == PhaseExecution.State.SUCCEEDED}


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1])


def agent_metrics() -> list[dict[str, Any]]:
    """Per agent: runs by status, p50/p95 duration and error types, derived from AgentExecution rows."""
    rows = AgentExecution.objects.exclude(status=AgentExecution.Status.RUNNING).values_list(
        "agent", "status", "duration_ms", "error_code"
    )
    durations: dict[str, list[int]] = defaultdict(list)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    for agent, status, duration, error_code in rows:
        statuses[agent][status] += 1
        if duration is not None:
            durations[agent].append(duration)
        if error_code:
            errors[agent][error_code] += 1
    return [
        {
            "agent": agent,
            "runs": sum(statuses[agent].values()),
            "by_status": dict(statuses[agent]),
            "p50_ms": _percentile(sorted(durations[agent]), 0.5),
            "p95_ms": _percentile(sorted(durations[agent]), 0.95),
            "errors": dict(errors[agent]),
        }
        for agent in sorted(statuses)
    ]
