"""Publishing "deliver notification N" to the notifications queue, after the surrounding commit."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

DELIVER_TASK = "notifications.deliver"


def enqueue(notification_id: int, *, countdown: float = 0) -> None:
    """Publish once the surrounding transaction commits (never before: the worker must find the row)."""
    options: dict[str, Any] = {"queue": "notifications"}
    if countdown > 0:
        options["countdown"] = countdown
    transaction.on_commit(
        lambda: current_app.send_task(DELIVER_TASK, args=[notification_id], **options), robust=True
    )
