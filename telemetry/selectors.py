"""Read queries of telemetry: what the analyser has not read yet, and the figures behind /metrics and the
dashboard. Only classified columns (status, error_code, duration_ms, request_total, counts) are read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber

from sync.models import Project, RunStatus, SyncLog, SyncRun, SyncRunDaily
from telemetry.models import BackoffState, ScheduleChange, SlowRun

TERMINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
FIRST_SIGHT_RUNS = 100  # a project seen for the first time: its recent history is enough
RECENT_RUNS = 20


def projects_with_new_runs() -> list[int]:
    """Projects with a terminal run newer than the last one analysed (one indexed lookup each)."""
    newest = (
        SyncRun.objects.filter(project=OuterRef("pk"), status__in=TERMINAL_STATUSES)
        .order_by("-id")
        .values("id")[:1]
    )
    analysed = BackoffState.objects.filter(project=OuterRef("pk")).values("last_run_id")
    return list(
        Project.objects.annotate(newest=Subquery(newest), analysed=Coalesce(Subquery(analysed), Value(0)))
        .filter(newest__gt=F("analysed"))
        .order_by("id")
        .values_list("id", flat=True)
    )


def runs_to_analyse(*, project_id: int, after_run_id: int) -> list[dict[str, Any]]:
    """Terminal runs after the cursor, oldest first, up to the project's active run (runs of a project
    are sequential, so nothing after an active run can be terminal)."""
    columns = (
        "id",
        "status",
        "error_code",
        "finished_at",
        "created_at",
        "duration_ms",
        "full",
        "jira_ms",
        "request_total",
    )
    if after_run_id == 0:
        recent = SyncRun.objects.filter(project_id=project_id).order_by("-id").values(*columns)
        rows = list(recent[:FIRST_SIGHT_RUNS])[::-1]
    else:
        rows = list(
            SyncRun.objects.filter(project_id=project_id, id__gt=after_run_id).order_by("id").values(*columns)
        )
    terminal = []
    for row in rows:
        if row["status"] not in TERMINAL_STATUSES:
            break
        terminal.append(row)
    return terminal


def run_failure_details(*, run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The classified error (code, advice, retry_after, status) each failed run logged."""
    return {
        run_id: details
        for run_id, details in SyncLog.objects.filter(run_id__in=list(run_ids), level=SyncLog.Level.ERROR)
        .order_by("id")
        .values_list("run_id", "details")
        if run_id is not None
    }


def run_durations_previous(*, project_id: int, before_run_id: int, full: bool, limit: int) -> list[int]:
    """Durations of the last successful runs of the same kind (full or incremental) before a run."""
    return [
        duration
        for duration in SyncRun.objects.filter(
            project_id=project_id,
            id__lt=before_run_id,
            status=RunStatus.SUCCEEDED,
            full=full,
            duration_ms__isnull=False,
        )
        .order_by("-id")
        .values_list("duration_ms", flat=True)[:limit]
        if duration is not None
    ]


def alerted_states_due(*, alerted_before: Any) -> QuerySet[BackoffState]:
    return BackoffState.objects.filter(
        consecutive_failures__gt=0, last_alert_at__lte=alerted_before
    ).select_related("project__site")


# --- Metrics and dashboard -------------------------------------------------------------------------


def _records_of(counts: dict[str, Any]) -> int:
    """Records a run wrote: every ``*_upserted`` and ``*_deleted`` counter."""
    return sum(
        int(value)
        for key, value in counts.items()
        if key.endswith(("_upserted", "_deleted")) and isinstance(value, int | float)
    )


@dataclass
class ProjectFigures:
    project_id: int
    key: str
    site: str
    runs: dict[str, int] = field(default_factory=dict)  # by status
    failures: dict[str, int] = field(default_factory=dict)  # by error code
    throughput: float = 0.0  # records per second over the recent successful runs
    requests_per_run: float = 0.0  # over the recent terminal runs
    backoff_level: int = 0
    last_error_code: str = ""
    slow_runs: int = 0
    recent: list[dict[str, Any]] = field(default_factory=list)  # oldest first, for charts


def project_figures() -> list[ProjectFigures]:
    """Per project: run and failure totals, recent throughput and request counts, back-off state.

    A constant number of queries whatever the number of projects.
    """
    figures = {
        project.id: ProjectFigures(project_id=project.id, key=project.key, site=project.site.name)
        for project in Project.objects.select_related("site").order_by("site__name", "key")
    }
    by_status = SyncRun.objects.values_list("project_id", "status").annotate(n=Count("id")).order_by()
    for project_id, status, n in by_status:
        figures[project_id].runs[status] = n
    failed = SyncRun.objects.filter(status=RunStatus.FAILED)
    by_code = failed.values_list("project_id", "error_code").annotate(n=Count("id")).order_by()
    for project_id, code, n in by_code:
        figures[project_id].failures[code or "UNKNOWN"] = n
    # Runs past their retention live on as daily aggregates: the totals keep counting them.
    purged = SyncRunDaily.objects.values_list("project_id", "status", "error_code").annotate(n=Sum("runs"))
    for project_id, status, code, n in purged.order_by():
        item = figures[project_id]
        item.runs[status] = item.runs.get(status, 0) + n
        if status == RunStatus.FAILED:
            item.failures[code or "UNKNOWN"] = item.failures.get(code or "UNKNOWN", 0) + n
    for project_id, n in SlowRun.objects.values_list("project_id").annotate(n=Count("id")).order_by():
        figures[project_id].slow_runs = n
    for project_id, level in BackoffState.objects.values_list("project_id", "level"):
        figures[project_id].backoff_level = level
    columns = ("id", "status", "error_code", "duration_ms", "request_total", "counts", "finished_at")
    # The latest RECENT_RUNS of every project in one query (a window function, filtered in SQL).
    recent = (
        SyncRun.objects.filter(status__in=TERMINAL_STATUSES)
        .annotate(rank=Window(RowNumber(), partition_by=F("project_id"), order_by=F("id").desc()))
        .filter(rank__lte=RECENT_RUNS)
        .order_by("project_id", "id")
        .values("project_id", *columns)
    )
    for row in recent:
        figures[row.pop("project_id")].recent.append(dict(row))
    for item in figures.values():
        _summarise_recent(item)
    return list(figures.values())


def _summarise_recent(item: ProjectFigures) -> None:
    succeeded = [
        r for r in item.recent if r["status"] == RunStatus.SUCCEEDED and r["duration_ms"] is not None
    ]
    seconds = sum(r["duration_ms"] for r in succeeded) / 1000
    if seconds:
        item.throughput = sum(_records_of(r["counts"] or {}) for r in succeeded) / seconds
    if item.recent:
        item.last_error_code = item.recent[-1]["error_code"]
        item.requests_per_run = sum(r["request_total"] for r in item.recent) / len(item.recent)


def schedule_changes(*, limit: int = 50) -> QuerySet[ScheduleChange]:
    return ScheduleChange.objects.select_related("project__site").order_by("-created_at")[:limit]
