"""Retention of sync's trail: logs after SYNC_LOG_RETENTION_DAYS, finished runs after
SYNC_RUN_RETENTION_DAYS (folded into SyncRunDaily first). Webhook events have their own purge
(``webhooks.webhook_events_purge``), hourly.

Every purge deletes in batches (``core.retention``) and never touches a queued or running run, nor the
logs of one: the engine still writes to them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

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
        # A run cancelled before it started has no finished_at: its creation dates it.
        aged = Q(finished_at__lt=before) | Q(finished_at__isnull=True, created_at__lt=before)
        return SyncRun.objects.filter(aged, status__in=TERMINAL_STATUSES)

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
    SyncRun.objects.filter(id__in=ids).delete()


def _add_to_daily(groups: dict[GroupKey, list[int]]) -> None:
    """Add the totals to their aggregate rows, creating missing ones. Another purge may create the same
    row meanwhile (the insert then fails): the savepoint rolls back and the next attempt updates it."""
    fields = ("runs", "duration_ms", "request_total", "jira_ms")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                existing: dict[GroupKey, Any] = {
                    (row.project_id, row.day, row.status, row.error_code): row
                    for row in SyncRunDaily.objects.select_for_update().filter(
                        project_id__in={key[0] for key in groups}, day__in={key[1] for key in groups}
                    )
                }
                changed, created = [], []
                for key, totals in groups.items():
                    row = existing.get(key)
                    if row is None:
                        project_id, day, status, code = key
                        row = SyncRunDaily(project_id=project_id, day=day, status=status, error_code=code)
                        created.append(row)
                    else:
                        changed.append(row)
                    for name, value in zip(fields, totals, strict=True):
                        setattr(row, name, getattr(row, name) + value)
                SyncRunDaily.objects.bulk_update(changed, fields)
                SyncRunDaily.objects.bulk_create(created)
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not add purged runs to their daily aggregate")
