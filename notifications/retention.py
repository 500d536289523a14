"""Retention of notifications: sent and failed messages older than NOTIFICATION_RETENTION_DAYS go.
Queued, sending and retrying ones stay whatever their age: they are still to be delivered."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from core.retention import cutoff, purge_in_batches
from notifications.models import Notification

FINISHED = (Notification.Status.SENT, Notification.Status.FAILED)


def notifications_purge(
    *, dry_run: bool = False, now: datetime | None = None, days: int | None = None
) -> int:
    before = cutoff(settings.NOTIFICATION_RETENTION_DAYS if days is None else days, now)

    def candidates() -> QuerySet[Notification]:
        return Notification.objects.filter(status__in=FINISHED, created_at__lt=before)

    return purge_in_batches(
        candidates, lambda ids: Notification.objects.filter(id__in=ids).delete(), dry_run=dry_run
    )
