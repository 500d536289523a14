"""Reads of the sync trail: jobs, per-entity states, runs and logs."""

from __future__ import annotations

from typing import Any

from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from core.errors import InvalidInput
from core.tenancy import visible
from sync.models import ACTIVE_RUN_STATUSES, Project, SyncJob, SyncLog, SyncRun, SyncState
from sync.services.schedules import SKIPPED_OVERLAP

MAX_TRAIL_LIMIT = 100


def run_last_value(*, column: str, project_ref: str) -> Subquery:
    """The latest run's ``column`` for the project ``OuterRef(project_ref)`` names, as a subquery to annotate
    with. Overlap skips are bookkeeping, not a result: the last run that did something."""
    runs = (
        SyncRun.objects.filter(project=OuterRef(project_ref))
        .exclude(error_code=SKIPPED_OVERLAP)
        .order_by("-created_at", "-id")
    )
    return Subquery(runs.values(column)[:1], output_field=JSONField() if column == "counts" else None)


def runs_recent(*, project: Project, limit: int = 20) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(project=project).order_by("-created_at")[:limit]


def run_summary(*, run: SyncRun) -> dict[str, Any]:
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
        "history_items": counts.get("changes_upserted", 0),
        "sprints": counts.get("sprints_upserted", 0),
        "users": counts.get("users_upserted", 0),
        "issues_skipped": counts.get("issues_malformed", 0),
        "http_requests": run.request_total,
        "http_requests_by_endpoint": run.http_requests,
        "duration_s": round((run.duration_ms or 0) / 1000, 3),
        "error_code": run.error_code or None,
        "error": run.error_message or None,
    }


def sync_jobs() -> QuerySet[SyncJob]:
    """Jobs annotated with their active run, or else their latest one (``workflow_run_id``)."""
    runs = SyncRun.objects.filter(project_id=OuterRef("project_id"))
    active = runs.filter(status__in=ACTIVE_RUN_STATUSES).order_by("-created_at").values("id")[:1]
    latest = runs.order_by("-created_at").values("id")[:1]
    return visible(
        SyncJob.objects.select_related("project", "periodic_task")  # scheduleId is the task's name
        .annotate(workflow_run_id=Coalesce(Subquery(active), Subquery(latest)))
        .order_by("project__key"),
        "project__site_id",
    )


def sync_job_get(*, project: Project) -> SyncJob:
    return sync_jobs().get(project=project)


def sync_states(*, project: Project) -> QuerySet[SyncState]:
    return SyncState.objects.filter(project=project).order_by("entity")


def _trail_limit(limit: int | None) -> int:
    return max(1, min(limit or 20, MAX_TRAIL_LIMIT))


def sync_runs(*, project: Project, limit: int | None = None) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(project=project).order_by("-created_at", "-id")[: _trail_limit(limit)]


def sync_logs(*, project: Project, limit: int | None = None, level: str | None = None) -> QuerySet[SyncLog]:
    """The project's newest log lines; ``level`` keeps only lines of exactly that level (so the DEBUG
    trail can be read apart from the INFO summaries it sits between)."""
    logs = SyncLog.objects.filter(project=project)
    if level:
        if level not in SyncLog.Level.values:
            raise InvalidInput(
                f"Unknown log level '{level}'; one of {', '.join(SyncLog.Level.values)}", field="level"
            )
        logs = logs.filter(level=level)
    return logs.order_by("-created_at", "-id")[: _trail_limit(limit)]
