"""Retention of sync's trail: logs after SYNC_LOG_RETENTION_DAYS, finished runs after
SYNC_RUN_RETENTION_DAYS (folded into SyncRunDaily first). Webhook events have their own purge
(``webhooks.webhook_events_purge``), hourly.

Every purge deletes in batches (``core.retention``) and never touches a queued or running run, nor the
logs of one: the engine still writes to them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from core.retention import cutoff, purge_in_batches
from sync.models import ACTIVE_RUN_STATUSES, RunStatus, SyncLog, SyncRun, SyncRunDaily

TERMINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
GroupKey = tuple[int, date, str, str]  # project, day, status, error code


def sync_logs_purge(*, dry_run: bool = False, now: datetime | None = None, days: int | None = None) -> int:
    """Delete logs older than the window, except those of a run in flight."""
    before = cutoff(settings.SYNC_LOG_RETENTION_DAYS if days is None else days, now)

    def candidates() -> QuerySet[SyncLog]:
        return SyncLog.objects.filter(created_at__lt=before).exclude(run__status__in=ACTIVE_RUN_STATUSES)

    return purge_in_batches(
        candidates, lambda ids: SyncLog.objects.filter(id__in=ids).delete(), dry_run=dry_run
    )


def sync_runs_purge(*, dry_run: bool = False, now: datetime | None = None, days: int | None = None) -> int:
    """Fold finished runs older than the window into the daily aggregate, then delete them (their logs and
    slow-run marks go with them)."""
    before = cutoff(settings.SYNC_RUN_RETENTION_DAYS if days is None else days, now)

    def candidates() -> QuerySet[SyncRun]:
        # Every terminal transition sets finished_at (skipped ticks included): its index finds them.
        return SyncRun.objects.filter(finished_at__lt=before, status__in=TERMINAL_STATUSES)

    return purge_in_batches(candidates, _fold_and_delete, dry_run=dry_run)


def _fold_and_delete(ids: list[int]) -> None:
    groups: dict[GroupKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    columns = ("project_id", "finished_at", "created_at", "status", "error_code")
    for row in SyncRun.objects.filter(id__in=ids).values(*columns, "duration_ms", "request_total", "jira_ms"):
        moment = row["finished_at"] or row["created_at"]
        totals = groups[(row["project_id"], moment.date(), row["status"], row["error_code"])]
        totals[0] += 1
        totals[1] += row["duration_ms"] or 0
        totals[2] += row["request_total"]
        totals[3] += row["jira_ms"]
    _add_to_daily(groups)
    # Only ids: the delete cascades to logs and unhooks telemetry rows without loading whole runs.
    SyncRun.objects.filter(id__in=ids).only("id").delete()


def _add_to_daily(groups: dict[GroupKey, list[int]]) -> None:
    """Add the totals to their aggregate rows in one upsert (PostgreSQL and SQLite share the syntax):
    atomic per row, so two purges adding to the same day never lose a count, and one statement per batch
    whatever the number of groups."""
    if not groups:
        return
    rows: list[tuple[int | date | str, ...]] = [(*key, *totals) for key, totals in groups.items()]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    table = SyncRunDaily._meta.db_table
    columns = "project_id, day, status, error_code, runs, duration_ms, request_total, jira_ms"
    # Only the model's own table and column names are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns})"  # noqa: S608
        f" VALUES {values} ON CONFLICT (project_id, day, status, error_code) DO UPDATE SET"
        f" runs = {table}.runs + excluded.runs, duration_ms = {table}.duration_ms + excluded.duration_ms,"
        f" request_total = {table}.request_total + excluded.request_total,"
        f" jira_ms = {table}.jira_ms + excluded.jira_ms"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
