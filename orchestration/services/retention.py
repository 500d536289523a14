"""Retention of orchestration's trail: the events of orchestrations that finished more than
ORCHESTRATION_EVENT_RETENTION_DAYS ago. The orchestration rows (status, phases, approvals) stay; only
their event history goes, so an old orchestration can no longer be replayed. Events of an orchestration
still in progress are never purged: its state is rebuilt from them.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from core.retention import cutoff, purge_in_batches
from orchestration.models import TERMINAL_STATUSES, Event


def orchestration_events_purge(
    *, dry_run: bool = False, now: datetime | None = None, days: int | None = None
) -> int:
    before = cutoff(settings.ORCHESTRATION_EVENT_RETENTION_DAYS if days is None else days, now)

    def candidates() -> QuerySet[Event]:
        return Event.objects.filter(
            orchestration__status__in=TERMINAL_STATUSES, orchestration__finished_at__lt=before
        )

    return purge_in_batches(candidates, _delete_events, dry_run=dry_run)


def _delete_events(ids: list[int]) -> None:
    # Events refuse QuerySet.delete() (append-only for every other caller); retention is the one writer
    # allowed to remove them, by id, in SQL.
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Event._meta.db_table} WHERE id IN ({placeholders})", ids)  # noqa: S608
