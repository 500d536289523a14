"""Delivery of accepted messages: claim, send through the channel's transport, record, keep channel health.

Guarantees, all held by the ``Notification`` row rather than by the broker:
- a delivery sends only after a conditional UPDATE moved the row from QUEUED/RETRYING (and due) to SENDING,
  so a duplicate task message finds nothing to claim;
- a row left SENDING by a worker that died mid-send is not sent again (it may have gone out): once its lease
  is over it becomes FAILED with ``DELIVERY_UNKNOWN`` for a person to judge;
- retryable failures come back after a bounded exponential back-off; the attempt count lives in the row;
- every final failure logs an ERROR and counts against the channel, which is switched off after
  NOTIFY_DISABLE_AFTER in a row;
- every try leaves an ``Attempt`` row with the transport's structured reason;
- NOTIFY_ALERT_AFTER final failures in a row raise one ops alert on the other channels (CHANNEL_FAILING),
  and the channel's next delivery sends one recovery notice (CHANNEL_RECOVERED).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import leases
from notifications import services
from notifications.models import Attempt, ChannelConfig, Notification
from notifications.publish import enqueue
from notifications.transports import TRANSPORTS, DeliveryResult, Message, Transport

logger = logging.getLogger(__name__)

DELIVER_TIME_LIMIT = 120  # seconds; the task's hard limit
SEND_LEASE = timedelta(seconds=DELIVER_TIME_LIMIT + 30)
EARLY_TOLERANCE = timedelta(seconds=1)  # a countdown may fire a hair before next_attempt_at
SUCCESS_STAMP_EVERY = timedelta(minutes=1)
Status = Notification.Status
# A send's lease has no token: the claim is the QUEUED/RETRYING -> SENDING transition itself, and an
# expired send is settled as DELIVERY_UNKNOWN instead of being taken over (it may have gone out).
SEND_LEASE_COLUMNS = leases.LeaseColumns(holder_field=None)


@dataclass(frozen=True)
class DeliveryOutcome:
    notification_id: int
    status: str  # the row's status after this delivery, or "SKIPPED" when this delivery had nothing to do
    result: DeliveryResult | None = None


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Exponential with jitter (half fixed, half random), at least Retry-After, at most NOTIFY_BACKOFF_MAX."""
    ceiling = min(settings.NOTIFY_BACKOFF_MAX, settings.NOTIFY_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return min(settings.NOTIFY_BACKOFF_MAX, max(delay, retry_after or 0.0))


def _claim(notification_id: int) -> Notification | None:
    now = timezone.now()
    claimed = (
        Notification.objects.filter(id=notification_id, status__in=[Status.QUEUED, Status.RETRYING])
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY_TOLERANCE))
        .update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            updated_at=now,
            **SEND_LEASE_COLUMNS.taken(None, now + SEND_LEASE),
        )
    )
    return Notification.objects.get(id=notification_id) if claimed else None


def _expire_lost_send(notification_id: int) -> bool:
    sending = Notification.objects.filter(id=notification_id, status=Status.SENDING)
    expired = leases.expired(sending, columns=SEND_LEASE_COLUMNS).update(
        status=Status.FAILED,
        error_code="DELIVERY_UNKNOWN",
        error_message="The worker sending this message stopped mid-send; it may or may not have arrived. "
        "It is not re-sent automatically so that it never arrives twice.",
        updated_at=timezone.now(),
        **SEND_LEASE_COLUMNS.released(),
    )
    if expired:
        logger.error("notification %s: delivery outcome unknown (worker lost mid-send)", notification_id)
        row = Notification.objects.only("error_message").get(id=notification_id)
        _attempt_record(
            notification_id, DeliveryResult.failed("DELIVERY_UNKNOWN", row.error_message, retryable=False)
        )
    return bool(expired)


def deliver(*, notification_id: int) -> DeliveryOutcome:
    """Send one queued message if this delivery wins the claim, and record what happened."""
    notification = _claim(notification_id)
    if notification is None:
        if _expire_lost_send(notification_id):
            return DeliveryOutcome(notification_id, Status.FAILED)
        return DeliveryOutcome(notification_id, "SKIPPED")
    transport = _transport(notification.channel)
    result = _send(transport, notification) if isinstance(transport, Transport) else transport
    return DeliveryOutcome(notification_id, _record(notification, result), result)


def _transport(channel: str) -> Transport | DeliveryResult:
    """The channel's configured transport, or why there is none to send with."""
    try:
        config = ChannelConfig.objects.filter(channel=channel).first()  # decrypts the secret
    except ImproperlyConfigured as exc:  # the key that encrypted the secret is gone
        return DeliveryResult.failed("SECRET_UNREADABLE", str(exc), retryable=False)
    if config is not None and not config.enabled:
        return DeliveryResult.failed(
            "CHANNEL_DISABLED",
            f"The {channel} channel is disabled: {config.disabled_reason or 'by an operator'}",
            retryable=False,
        )
    return TRANSPORTS[channel](
        options=config.options if config else {}, secret=config.secret if config else ""
    )


def _send(transport: Transport, notification: Notification) -> DeliveryResult:
    message = Message(
        recipient=notification.recipient,
        subject=notification.subject,
        text=notification.text,
        html=notification.html,
        facts=dict(notification.facts),
        link=notification.link,
        category=notification.category,
        idempotency_key=notification.idempotency_key,
        options=notification.options,
    )
    try:
        return transport.send(message)
    except Exception as exc:  # an adapter bug must end in a FAILED row, not in a row stuck SENDING
        logger.exception("notification %s: the %s adapter crashed", notification.id, notification.channel)
        return DeliveryResult.failed(
            "INTERNAL_ERROR", f"{type(exc).__name__} in the adapter", retryable=False
        )


def _record(notification: Notification, result: DeliveryResult) -> str:
    now = timezone.now()
    changes: dict[str, Any] = {**SEND_LEASE_COLUMNS.released(), "updated_at": now}
    if result.ok:
        changes.update(
            status=Status.SENT, provider_id=result.provider_id, sent_at=now, error_code="", error_message=""
        )
    else:
        changes.update(error_code=result.code, error_message=result.message)
        if result.retryable and notification.attempts < settings.NOTIFY_MAX_ATTEMPTS:
            delay = backoff_seconds(notification.attempts, result.retry_after)
            changes.update(status=Status.RETRYING, next_attempt_at=now + timedelta(seconds=delay))
        else:
            changes.update(status=Status.FAILED, next_attempt_at=None)
    with transaction.atomic():
        Notification.objects.filter(id=notification.id).update(**changes)
        _attempt_record(notification.id, result, outcome=changes["status"], at=now)
        if changes["status"] == Status.RETRYING:
            enqueue(notification.id, countdown=(changes["next_attempt_at"] - now).total_seconds())
            logger.warning(
                "notification %s on %s failed (%s), attempt %s of %s; retrying at %s",
                notification.id,
                notification.channel,
                result.code,
                notification.attempts,
                settings.NOTIFY_MAX_ATTEMPTS,
                changes["next_attempt_at"].isoformat(),
            )
        elif result.code != "CHANNEL_DISABLED":
            _channel_outcome(notification, result, now)
    return str(changes["status"])


def _attempt_record(
    notification_id: int, result: DeliveryResult, *, outcome: str = Status.FAILED, at: datetime | None = None
) -> None:
    # Numbered by the rows already there, not by ``attempts``: "send again" resets that count to zero.
    # Only the delivery holding the claim records, so two cannot pick the same number.
    Attempt.objects.create(
        notification_id=notification_id,
        number=Attempt.objects.filter(notification_id=notification_id).count() + 1,
        at=at or timezone.now(),
        outcome=outcome,
        code=result.code,
        message=result.message,
        retryable=result.retryable,
    )


def _channel_outcome(notification: Notification, result: DeliveryResult, now: datetime) -> None:
    """Keep the channel's health: successes reset the count, final failures add up and switch it off."""
    if result.ok:
        # An open alert implies a failure streak, so this UPDATE matches (and locks) only in a recovery.
        recovered = ChannelConfig.objects.filter(
            channel=notification.channel, alert_raised_at__isnull=False
        ).update(alert_raised_at=None, consecutive_failures=0, last_success_at=now, updated_at=now)
        if recovered:
            _announce_recovered(notification.channel, now)
            return
        # One row per channel is hot: a success writes it only to end a failure streak or once a minute.
        ChannelConfig.objects.filter(channel=notification.channel).filter(
            Q(consecutive_failures__gt=0)
            | Q(last_success_at__isnull=True)
            | Q(last_success_at__lt=now - SUCCESS_STAMP_EVERY)
        ).update(consecutive_failures=0, last_success_at=now, updated_at=now)
        return
    # The secret is not needed here (and may be the very thing that cannot be read).
    configs = ChannelConfig.objects.select_for_update().defer("secret")
    config, _ = configs.get_or_create(channel=notification.channel)
    config.consecutive_failures += 1
    config.last_error_code = result.code
    config.last_error_message = result.message
    config.last_failure_at = now
    logger.error(
        "notification %s on %s FAILED (%s): %s — %s consecutive failure(s) of this channel",
        notification.id,
        notification.channel,
        result.code,
        result.message,
        config.consecutive_failures,
    )
    if config.alert_raised_at is None and config.consecutive_failures >= settings.NOTIFY_ALERT_AFTER:
        config.alert_raised_at = now  # one alert per episode: the next delivery closes it
        config.save()
        _announce_failing(config, now)
    if config.enabled and config.consecutive_failures >= settings.NOTIFY_DISABLE_AFTER:
        config.enabled = False
        config.disabled_reason = (
            f"{config.consecutive_failures} consecutive failures, last {result.code} at "
            f"{now:%Y-%m-%d %H:%M} UTC. Fix the configuration, then enable the channel again."
        )
        logger.error("channel %s DISABLED: %s", notification.channel, config.disabled_reason)
        config.save()
        _announce_disabled(config, now)
        return
    config.save()


def _announce_disabled(config: ChannelConfig, now: datetime) -> None:
    """Tell people through the other channels (routes of CHANNEL_DISABLED; by default email). A message
    routed to the disabled channel itself is recorded as FAILED CHANNEL_DISABLED, so this cannot loop."""
    services.message_publish(
        category=services.CHANNEL_DISABLED,
        subject=f"Jira++: the {config} notification channel is disabled",
        text=f"Messages to {config} are no longer sent. {config.disabled_reason}",
        facts={
            "Channel": str(config),
            "Failures in a row": str(config.consecutive_failures),
            "Last error": f"{config.last_error_code}: {config.last_error_message}"[:500],
        },
        idempotency_key=f"channel-disabled:{config.channel}:{now.isoformat()}",
    )


def _announce_failing(config: ChannelConfig, now: datetime) -> None:
    """The ops alert of a failing channel, on the routes of CHANNEL_FAILING but never the channel itself."""
    services.message_publish(
        category=services.CHANNEL_FAILING,
        subject=f"Jira++: the {config} notification channel is failing",
        text=f"{config.consecutive_failures} messages to {config} failed in a row; the last failed with "
        f"{config.last_error_code}. Check the channel's configuration and the provider.",
        facts={
            "Channel": str(config),
            "Failures in a row": str(config.consecutive_failures),
            "Last error": f"{config.last_error_code}: {config.last_error_message}"[:500],
        },
        idempotency_key=f"channel-failing:{config.channel}:{now.isoformat()}",
        exclude_channel=config.channel,
    )


def _announce_recovered(channel: str, now: datetime) -> None:
    label = TRANSPORTS[channel].label
    services.message_publish(
        category=services.CHANNEL_RECOVERED,
        subject=f"Jira++: the {label} notification channel delivers again",
        text=f"A message to {label} was delivered at {now:%Y-%m-%d %H:%M} UTC; the failure episode is over.",
        facts={"Channel": label},
        idempotency_key=f"channel-recovered:{channel}:{now.isoformat()}",
        exclude_channel=channel,
    )


def requeue_due(*, grace: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Publish again the messages whose task message went missing (a broker restart, a failed publish):
    RETRYING past their time or QUEUED for longer than ``grace``; and settle sends lost with their worker.
    A message that was not missing after all is harmless: the claim lets one delivery send."""
    now = timezone.now()
    sending = Notification.objects.filter(status=Status.SENDING)
    lost = leases.expired(sending, now=now, columns=SEND_LEASE_COLUMNS)
    for notification_id in lost.values_list("id", flat=True)[:limit]:
        _expire_lost_send(notification_id)
    due = list(
        Notification.objects.filter(
            Q(status=Status.RETRYING, next_attempt_at__lt=now - grace)
            | Q(status=Status.QUEUED, updated_at__lt=now - grace)
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    with transaction.atomic():
        for notification_id in due:
            enqueue(notification_id)
    if due:
        logger.warning("re-published %s notification(s) whose task message was missing", len(due))
    return due
