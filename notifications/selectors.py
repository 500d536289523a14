"""Reads of the communication service: one message for its reader, and outcome counts for telemetry."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from core.errors import NotFound
from notifications.models import ChannelConfig, Notification
from notifications.permissions import can_read_every_message


def message_get(*, message_id: int | str, viewer: Any) -> Notification:
    """The message with its attempts, if ``viewer`` may see it (their own, or any for staff). A message they
    may not see is NotFound, not refused: its existence is not disclosed."""
    missing = NotFound(f"No message {message_id}", field="id")
    if not str(message_id).isdigit() or not getattr(viewer, "is_authenticated", False):
        raise missing
    messages = Notification.objects.prefetch_related("attempt_rows")
    if not can_read_every_message(viewer):
        messages = messages.filter(sender_id=viewer.pk)
    notification = messages.filter(id=int(message_id)).first()
    if notification is None:
        raise missing
    return notification


def message_outcome_counts() -> dict[tuple[str, str], int]:
    """Messages by (channel, status), over the retention window."""
    rows = Notification.objects.order_by().values_list("channel", "status").annotate(count=Count("id"))
    return {(channel, status): count for channel, status, count in rows}


def message_failure_counts() -> dict[tuple[str, str], int]:
    """FAILED messages by (channel, error code): the transports' structured reasons."""
    rows = (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .order_by()
        .values_list("channel", "error_code")
        .annotate(count=Count("id"))
    )
    return {(channel, code or "UNKNOWN"): count for channel, code, count in rows}


def channel_health() -> list[ChannelConfig]:
    return list(ChannelConfig.objects.defer("secret").order_by("channel"))
