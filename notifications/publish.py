"""Publishing "deliver notification N" to the notifications queue, after the surrounding commit."""

from __future__ import annotations

from core.publish import publish_after_commit
from notifications import task_names

DELIVER_TASK = task_names.DELIVER


def enqueue(notification_id: int, *, countdown: float = 0) -> None:
    """Publish once the surrounding transaction commits (never before: the worker must find the row)."""
    publish_after_commit(DELIVER_TASK, args=[notification_id], queue="notifications", countdown=countdown)
