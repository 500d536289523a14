"""The communication service: accept messages (``send_message``, ``notify``), deliver them once, keep score.

Delivery guarantees, all held by the ``Notification`` row rather than by the broker:
- one row per idempotency key (a UNIQUE column), so a repeated call returns the first message;
- a delivery sends only after a conditional UPDATE moved the row from QUEUED/RETRYING to SENDING, so a
  duplicate task message finds nothing to claim;
- a row left SENDING by a worker that died mid-send is not sent again (it may have gone out): once its lease
  is over it becomes FAILED with ``DELIVERY_UNKNOWN`` for a person to judge;
- retryable failures come back after a bounded exponential back-off; the attempt count lives in the row.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.errors import InvalidInput, NotFound
from notifications.models import ChannelConfig, Notification, Route
from notifications.transports import TRANSPORTS, DeliveryResult, Message, Transport

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"
DELIVER_TIME_LIMIT = 120  # seconds; the task's hard limit
SEND_LEASE = timedelta(seconds=DELIVER_TIME_LIMIT + 30)
EARLY_TOLERANCE = timedelta(seconds=1)  # a countdown may fire a hair before next_attempt_at
Status = Notification.Status


def _transport_class(channel: str) -> type[Transport]:
    try:
        return TRANSPORTS[channel]
    except KeyError:
        raise InvalidInput(
            f"Unknown channel {channel!r}", advice=f"Use one of: {', '.join(TRANSPORTS)}.", field="channel"
        ) from None


def _enqueue(notification_id: int, *, countdown: float = 0) -> None:
    """Publish "deliver row N" once the surrounding transaction commits (never before)."""
    options: dict[str, Any] = {"queue": "notifications"}
    if countdown > 0:
        options["countdown"] = countdown
    transaction.on_commit(
        lambda: current_app.send_task(DELIVER_TASK, args=[notification_id], **options), robust=True
    )


def send_message(
    *,
    channel: str,
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    facts: Mapping[str, str] | None = None,
    link: str = "",
    category: str = "",
    idempotency_key: str,
    route: Route | None = None,
    **options: Any,
) -> Notification:
    """One message on one channel, saved QUEUED and delivered after commit; a known key returns its
    message."""
    transport = _transport_class(channel)
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise InvalidInput(
            "idempotency_key must be 1 to 255 characters",
            advice="Derive it from what the message is about, e.g. f'alert:{project}:{episode}'.",
            field="idempotency_key",
        )
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    subject = subject.strip()
    if not subject or len(subject) > 255:
        raise InvalidInput("subject must be 1 to 255 characters", field="subject")
    if link and not link.startswith(("https://", "http://")):
        raise InvalidInput(f"link {link!r} is not an http(s) URL", field="link")
    fields = {
        "channel": channel,
        "recipient": transport.clean_recipient(recipient),
        "category": category,
        "route": route,
        "subject": subject,
        "text": text,
        "html": html,
        "facts": fact_pairs(facts),
        "link": link,
        "options": transport.clean_options(options),
    }
    config = ChannelConfig.objects.filter(channel=channel).first()
    if config is not None and not config.enabled:
        # Kept as a FAILED row rather than dropped: the admin shows what a disabled channel swallowed.
        fields.update(
            status=Status.FAILED,
            error_code="CHANNEL_DISABLED",
            error_message=f"The {channel} channel is disabled: {config.disabled_reason or 'by an operator'}",
        )
    try:
        with transaction.atomic():
            notification = Notification.objects.create(idempotency_key=key, **fields)
            if notification.status == Status.QUEUED:
                _enqueue(notification.id)
    except IntegrityError:  # the same key, committed by a concurrent caller
        return Notification.objects.get(idempotency_key=key)
    if notification.status == Status.FAILED:
        logger.warning("notification %s not sent: %s", notification.id, notification.error_message)
    return notification


# Billing and access problems need a person soon (email + phone), latency is a team-channel matter,
# orchestration waits on people by email. Migration 0002 installed these; route_defaults_install() restores
# them.
DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {
    "SUSPENDED_PAYMENT": ("email", "whatsapp"),
    "SITE_DEACTIVATED": ("email", "whatsapp"),
    "TOKEN_EXPIRED": ("email", "whatsapp"),
    "RATE_LIMITED": ("slack",),
    "SLOW_SYNC": ("slack",),
    "RECOVERED": ("email", "slack"),
    "ORCHESTRATION_APPROVAL_NEEDED": ("email",),
    "ORCHESTRATION_FAILED": ("email",),
    "ORCHESTRATION_SUCCEEDED": ("email",),
}


def route_defaults_install() -> list[Route]:
    """Create the default routes that are missing (existing routes, edited or not, are left alone)."""
    with transaction.atomic():
        return [
            Route.objects.get_or_create(category=category, channel=channel)[0]
            for category, channels in DEFAULT_ROUTES.items()
            for channel in channels
        ]


def fact_pairs(facts: Mapping[str, str] | None) -> list[list[str]]:
    return [[str(name), str(value)] for name, value in (facts or {}).items()]


def default_recipients(channel: str) -> list[str]:
    """Where a route without its own recipients sends (documented in docs/notifications.md)."""
    defaults: dict[str, list[str]] = {
        "email": list(settings.NOTIFY_EMAIL_TO),
        "slack": [settings.NOTIFY_SLACK_CHANNEL] if settings.NOTIFY_SLACK_CHANNEL else [],
        "whatsapp": list(settings.NOTIFY_WHATSAPP_TO),
    }
    return defaults.get(channel, [])


def notify(
    *,
    category: str,
    subject: str,
    text: str,
    facts: Mapping[str, str] | None = None,
    link: str = "",
    idempotency_key: str,
) -> list[Notification]:
    """Fan a message out through the enabled routes of ``category``: one message per route (per recipient on
    channels that address one recipient per message), keyed ``{idempotency_key}:{route_id}``."""
    if not category.strip():
        raise InvalidInput("category is required", field="category")
    routes = list(Route.objects.filter(category=category, enabled=True).order_by("id"))
    if not routes:
        logger.warning("no enabled route for notification category %s: nothing sent", category)
        return []
    sent: list[Notification] = []
    with transaction.atomic():
        for route in routes:
            recipients = route.recipient_list or default_recipients(route.channel)
            route_key = f"{idempotency_key}:{route.id}"
            common: dict[str, Any] = {
                "channel": route.channel,
                "subject": subject,
                "text": text,
                "facts": facts,
                "link": link,
                "category": category,
                "route": route,
            }
            if not recipients:
                sent.append(_unroutable(key=route_key, **common))
            elif TRANSPORTS[route.channel].multi_recipient or len(recipients) == 1:
                sent.append(
                    send_message(recipient=", ".join(recipients), idempotency_key=route_key, **common)
                )
            else:
                sent.extend(
                    send_message(recipient=recipient, idempotency_key=f"{route_key}:{recipient}", **common)
                    for recipient in recipients
                )
    return sent


def _unroutable(*, key: str, **fields: Any) -> Notification:
    """A route with nobody to send to is recorded as FAILED, so the gap shows in the admin."""
    route = fields["route"]
    fields["facts"] = fact_pairs(fields.get("facts"))
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            **fields,
            "recipient": "",
            "status": Status.FAILED,
            "error_code": "NO_RECIPIENTS",
            "error_message": f"Route {route} has no recipients and the {route.channel} default is empty: "
            "set the route's recipients or NOTIFY_EMAIL_TO / NOTIFY_SLACK_CHANNEL / NOTIFY_WHATSAPP_TO",
        },
    )
    if created:
        logger.error("notification %s not sent: %s", notification.id, notification.error_message)
    return notification


# --- delivery ---------------------------------------------------------------------------------------


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
            lease_expires_at=now + SEND_LEASE,
            updated_at=now,
        )
    )
    return Notification.objects.get(id=notification_id) if claimed else None


def _expire_lost_send(notification_id: int) -> bool:
    expired = Notification.objects.filter(
        id=notification_id, status=Status.SENDING, lease_expires_at__lt=timezone.now()
    ).update(
        status=Status.FAILED,
        error_code="DELIVERY_UNKNOWN",
        error_message="The worker sending this message stopped mid-send; it may or may not have arrived. "
        "It is not re-sent automatically so that it never arrives twice.",
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if expired:
        logger.error("notification %s: delivery outcome unknown (worker lost mid-send)", notification_id)
    return bool(expired)


def deliver(*, notification_id: int) -> DeliveryOutcome:
    """Send one queued message if this delivery wins the claim, and record what happened."""
    notification = _claim(notification_id)
    if notification is None:
        if _expire_lost_send(notification_id):
            return DeliveryOutcome(notification_id, Status.FAILED)
        return DeliveryOutcome(notification_id, "SKIPPED")
    config = ChannelConfig.objects.filter(channel=notification.channel).first()
    if config is not None and not config.enabled:
        result = DeliveryResult.failed(
            "CHANNEL_DISABLED",
            f"The {notification.channel} channel is disabled: {config.disabled_reason or 'by an operator'}",
            retryable=False,
        )
    else:
        transport = TRANSPORTS[notification.channel](
            options=config.options if config else {}, secret=config.secret if config else ""
        )
        result = _send(transport, notification)
    return DeliveryOutcome(notification_id, _record(notification, result), result)


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
    changes: dict[str, Any] = {"lease_expires_at": None, "updated_at": now}
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
        if changes["status"] == Status.RETRYING:
            _enqueue(notification.id, countdown=(changes["next_attempt_at"] - now).total_seconds())
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


def _channel_outcome(notification: Notification, result: DeliveryResult, now: Any) -> None:
    """Keep the channel's health: successes reset the count, final failures add up and switch it off."""
    config, _ = ChannelConfig.objects.select_for_update().get_or_create(channel=notification.channel)
    if result.ok:
        config.consecutive_failures = 0
        config.last_success_at = now
        config.save(update_fields=["consecutive_failures", "last_success_at", "updated_at"])
        return
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
    if config.enabled and config.consecutive_failures >= settings.NOTIFY_DISABLE_AFTER:
        config.enabled = False
        config.disabled_reason = (
            f"{config.consecutive_failures} consecutive failures, last {result.code} at "
            f"{now:%Y-%m-%d %H:%M} UTC. Fix the configuration, then enable the channel again."
        )
        logger.error("channel %s DISABLED: %s", notification.channel, config.disabled_reason)
    config.save()


def requeue_due(*, grace: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Publish again the messages whose task message went missing (a broker restart, a failed publish):
    RETRYING past their time or QUEUED for longer than ``grace``; and settle sends lost with their worker.
    A message that was not missing after all is harmless: the claim lets one delivery send."""
    now = timezone.now()
    for notification_id in Notification.objects.filter(
        status=Status.SENDING, lease_expires_at__lt=now
    ).values_list("id", flat=True)[:limit]:
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
            _enqueue(notification_id)
    if due:
        logger.warning("re-published %s notification(s) whose task message was missing", len(due))
    return due


# --- operators' actions -------------------------------------------------------------------------------


def channel_send_test(*, channel: str, recipient: str = "", actor: str = "") -> Notification:
    """A test message through a channel, to its given or default recipient(s)."""
    transport = _transport_class(channel)
    recipients = [recipient] if recipient else default_recipients(channel)
    if not recipients:
        raise InvalidInput(
            f"No recipient for a {transport.label} test message",
            advice="Set the channel's default recipients (NOTIFY_EMAIL_TO, NOTIFY_SLACK_CHANNEL, "
            "NOTIFY_WHATSAPP_TO) or give one.",
            field="recipient",
        )
    return send_message(
        channel=channel,
        recipient=", ".join(recipients) if transport.multi_recipient else recipients[0],
        subject="Jira++ test message",
        text=f"A test of the {transport.label} channel" + (f", sent by {actor}." if actor else "."),
        facts={"Channel": transport.label, "Requested by": actor or "an operator"},
        category="TEST",
        idempotency_key=f"test:{channel}:{uuid.uuid4().hex}",
    )


def channel_enable(*, channel: str) -> ChannelConfig:
    """Switch a channel back on and forget its failure streak (after fixing its configuration)."""
    updated = ChannelConfig.objects.filter(channel=channel).update(
        enabled=True, consecutive_failures=0, disabled_reason="", updated_at=timezone.now()
    )
    if not updated:
        raise NotFound(f"Channel {channel!r} has no configuration", field="channel")
    return ChannelConfig.objects.get(channel=channel)


def notification_retry(*, notification_id: int) -> Notification:
    """Queue a FAILED message again (a person decided it should go out after all)."""
    with transaction.atomic():
        requeued = Notification.objects.filter(id=notification_id, status=Status.FAILED).update(
            status=Status.QUEUED,
            next_attempt_at=None,
            error_code="",
            error_message="",
            attempts=0,
            updated_at=timezone.now(),
        )
        if not requeued:
            raise InvalidInput(
                f"Notification {notification_id} is not FAILED", advice="Only failed messages can be retried."
            )
        _enqueue(notification_id)
    return Notification.objects.get(id=notification_id)
