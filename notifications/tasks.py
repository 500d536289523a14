"""Thin Celery task: unpack the id, call the delivery service. The row records every outcome."""

from __future__ import annotations

from celery import shared_task

from notifications import delivery, retention, task_names


@shared_task(
    name=task_names.DELIVER,
    soft_time_limit=delivery.DELIVER_TIME_LIMIT - 20,
    time_limit=delivery.DELIVER_TIME_LIMIT,
)
def deliver(notification_id: int) -> None:
    delivery.deliver(notification_id=notification_id)


@shared_task(name=task_names.REQUEUE_DUE, soft_time_limit=30, time_limit=60)
def requeue_due() -> None:
    delivery.requeue_due()


@shared_task(name=task_names.PURGE, soft_time_limit=1800, time_limit=1900)
def purge() -> None:
    retention.notifications_purge()
