"""The communication service: accept messages (``message_send``, ``message_publish``) and the operators'
actions.

One row per idempotency key (a UNIQUE column), so a repeated call returns the first message and sends
nothing. Sending happens in ``notifications.delivery`` on the ``notifications`` queue, after commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.codes import code_canonical
from core.errors import Conflict, InvalidInput, NotFound
from notifications.models import ChannelConfig, Notification, Route
from notifications.publish import enqueue
from notifications.transports import TRANSPORTS, Transport

logger = logging.getLogger(__name__)

Status = Notification.Status
CHANNEL_DISABLED = "CHANNEL_DISABLED"  # the category of "a channel was switched off" (delivery.py sends it)
CHANNEL_FAILING = "CHANNEL_FAILING"  # a channel failed NOTIFY_ALERT_AFTER times in a row (delivery.py)
CHANNEL_RECOVERED = "CHANNEL_RECOVERED"  # the failing channel delivered again
CATCH_ALL = Route.CATCH_ALL
CATEGORY_MAX_LENGTH = Notification._meta.get_field("category").max_length or 64


def _transport_class(channel: str) -> type[Transport]:
    try:
        return TRANSPORTS[channel]
    except KeyError:
        raise InvalidInput(
            f"Unknown channel {channel!r}", advice=f"Use one of: {', '.join(TRANSPORTS)}.", field="channel"
        ) from None


def _check_message(*, idempotency_key: str, subject: str, category: str, link: str) -> tuple[str, str]:
    """The caller's part of a message, checked before anything is saved; returns the key and subject."""
    key = idempotency_key.strip()
    if not key or len(key) > 255:
        raise InvalidInput(
            "idempotency_key must be 1 to 255 characters",
            advice="Derive it from what the message is about, e.g. f'alert:{project}:{episode}'.",
            field="idempotency_key",
        )
    subject = subject.strip()
    if not subject or len(subject) > 255 or "\n" in subject or "\r" in subject:
        raise InvalidInput("subject must be one line of 1 to 255 characters", field="subject")
    if len(category) > CATEGORY_MAX_LENGTH:
        raise InvalidInput(
            f"category must be at most {CATEGORY_MAX_LENGTH} characters",
            advice="Use a short code such as TOKEN_EXPIRED.",
            field="category",
        )
    if link and not link.startswith(("https://", "http://")):
        raise InvalidInput(f"link {link!r} is not an http(s) URL", field="link")
    return key, subject


def message_send(
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
    sender: Any = None,
    payload_digest: str = "",
    **options: Any,
) -> Notification:
    """One message on one channel, saved QUEUED and delivered after commit; a known key returns its
    message. ``sender`` and ``payload_digest`` are set by ``message_submit`` (the API's messages)."""
    transport = _transport_class(channel)
    key, subject = _check_message(
        idempotency_key=idempotency_key, subject=subject, category=category, link=link
    )
    category = code_canonical(category)
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    fields = {
        "channel": channel,
        "recipient": transport.clean_recipient(recipient),
        "category": category,
        "route": route,
        "subject": subject,
        "text": text,
        "html": html,
        "facts": _fact_strings(facts),
        "link": link,
        "options": transport.clean_options(options),
        "sender": sender,
        "payload_digest": payload_digest,
    }
    # Not the secret: accepting a message must not depend on decrypting it.
    config = ChannelConfig.objects.filter(channel=channel).only("enabled", "disabled_reason").first()
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
                enqueue(notification.id)
    except IntegrityError:  # the same key, committed by a concurrent caller
        return Notification.objects.get(idempotency_key=key)
    if notification.status == Status.FAILED:
        logger.warning("notification %s not sent: %s", notification.id, notification.error_message)
    return notification


# Billing and access problems need a person soon (email + phone), latency is a team-channel matter,
# orchestration waits on people by email, and every other category (a network failure, a poisoned run) still
# reaches the operators by email through the catch-all. Migrations 0002, 0005 and 0006 installed these (0007
# renamed RATE_LIMITED's to RATE_LIMIT);
# route_defaults_install() restores them.
DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {
    "SUSPENDED_PAYMENT": ("email", "whatsapp"),
    "SITE_DEACTIVATED": ("email", "whatsapp"),
    "TOKEN_EXPIRED": ("email", "whatsapp"),
    "RATE_LIMIT": ("slack",),
    "SLOW_SYNC": ("slack",),
    "RECOVERED": ("email", "slack"),
    "ORCHESTRATION_APPROVAL_NEEDED": ("email",),
    "ORCHESTRATION_FAILED": ("email",),
    "ORCHESTRATION_SUCCEEDED": ("email",),
    "CHANNEL_DISABLED": ("email",),
    # Both channels: delivery skips the failing one, so the alert always goes out on the other.
    CHANNEL_FAILING: ("email", "slack"),
    CHANNEL_RECOVERED: ("email", "slack"),
    CATCH_ALL: ("email",),
}


def route_defaults_install() -> list[Route]:
    """Create the default routes that are missing (existing routes, edited or not, are left alone)."""
    with transaction.atomic():
        return [
            Route.objects.get_or_create(category=category, channel=channel)[0]
            for category, channels in DEFAULT_ROUTES.items()
            for channel in channels
        ]


def _fact_strings(facts: Mapping[str, str] | None) -> dict[str, str]:
    return {str(name): str(value) for name, value in (facts or {}).items()}


def channel_default_recipients(*, channel: str) -> list[str]:
    """Where a route without its own recipients sends (documented in docs/notifications.md)."""
    defaults: dict[str, list[str]] = {
        "email": list(settings.NOTIFY_EMAIL_TO),
        "slack": [settings.NOTIFY_SLACK_CHANNEL] if settings.NOTIFY_SLACK_CHANNEL else [],
        "whatsapp": list(settings.NOTIFY_WHATSAPP_TO),
    }
    return defaults.get(channel, [])


def message_publish(
    *,
    category: str,
    subject: str,
    text: str,
    facts: Mapping[str, str] | None = None,
    link: str = "",
    idempotency_key: str,
    exclude_channel: str = "",
) -> list[Notification]:
    """Fan a message out through the enabled routes of ``category`` (the catch-all routes when it has none):
    one message per route (per recipient on channels that address one recipient per message), keyed
    ``{idempotency_key}:{route_id}``. ``exclude_channel`` skips that channel's routes (an alert about it)."""
    if not category.strip():
        raise InvalidInput("category is required", field="category")
    category = code_canonical(category)  # an old code name is routed, and stored, as its new one
    _check_message(idempotency_key=idempotency_key, subject=subject, category=category, link=link)
    routes = [route for route in routes_for(category) if route.channel != exclude_channel]
    if not routes:
        logger.warning(
            "no enabled route for notification category %s (nor an enabled catch-all %r route): nothing sent",
            category,
            CATCH_ALL,
        )
        return []
    sent: list[Notification] = []
    with transaction.atomic():
        for route in routes:
            recipients = route.recipient_list or channel_default_recipients(channel=route.channel)
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
                sent.append(
                    _unroutable(
                        key=route_key,
                        recipient="",
                        code="NO_RECIPIENTS",
                        problem=f"Route {route} has no recipients and the {route.channel} default is empty",
                        **common,
                    )
                )
                continue
            if TRANSPORTS[route.channel].multi_recipient or len(recipients) == 1:
                batches = [(", ".join(recipients), route_key)]
            else:
                batches = [(recipient, f"{route_key}:{recipient}") for recipient in recipients]
            for recipient, key in batches:
                try:
                    sent.append(message_send(recipient=recipient, idempotency_key=key, **common))
                except InvalidInput as error:
                    if error.field != "recipient":
                        raise
                    # An address typed into a route or a setting must not silence the other routes.
                    problem = f"Route {route} has an invalid recipient: {error.message}"
                    sent.append(
                        _unroutable(
                            key=key, recipient=recipient, code="INVALID_RECIPIENT", problem=problem, **common
                        )
                    )
    return sent


def routes_for(category: str) -> list[Route]:
    """The enabled routes of ``category``; when it has none, the enabled catch-all routes, so a failure
    nobody routed yet still reaches a person. Routes of the category itself always win."""
    category = code_canonical(category)
    candidates = Route.objects.filter(category__in={category, CATCH_ALL}, enabled=True).order_by("id")
    by_category: dict[bool, list[Route]] = {True: [], False: []}
    for route in candidates:
        by_category[route.category == category].append(route)
    return by_category[True] or by_category[False]


def _unroutable(*, key: str, code: str, problem: str, **fields: Any) -> Notification:
    """A route that cannot be sent to is recorded as FAILED, so the gap shows in the admin."""
    fields["facts"] = _fact_strings(fields.get("facts"))
    fields["recipient"] = fields["recipient"][:1000]
    notification, created = Notification.objects.get_or_create(
        idempotency_key=key,
        defaults={
            **fields,
            "status": Status.FAILED,
            "error_code": code,
            "error_message": f"{problem}: fix the route's recipients in the admin, or the channel's default "
            "(NOTIFY_EMAIL_TO / NOTIFY_SLACK_CHANNEL / NOTIFY_WHATSAPP_TO)",
        },
    )
    if created:
        logger.error("notification %s not sent: %s", notification.id, notification.error_message)
    return notification


# --- operators' actions -------------------------------------------------------------------------------


def channel_send_test(*, channel: str, recipient: str = "", actor: str = "") -> Notification:
    """A test message through a channel, to its given or default recipient(s)."""
    transport = _transport_class(channel)
    recipients = [recipient] if recipient else channel_default_recipients(channel=channel)
    if not recipients:
        raise InvalidInput(
            f"No recipient for a {transport.label} test message",
            advice="Set the channel's default recipients (NOTIFY_EMAIL_TO, NOTIFY_SLACK_CHANNEL, "
            "NOTIFY_WHATSAPP_TO) or give one.",
            field="recipient",
        )
    return message_send(
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
        enqueue(notification_id)
    return Notification.objects.get(id=notification_id)


# --- Messages sent through the API (GraphQL sendMessage, POST /api/messages/) -------------------------

PAYLOAD_FIELDS = ("to", "cc", "bcc", "subject", "text", "html", "from")
# What each channel can carry besides ``to`` and ``text``; the rest is refused rather than dropped.
CHANNEL_PAYLOAD_FIELDS: dict[str, frozenset[str]] = {
    "email": frozenset({"cc", "bcc", "subject", "html", "from"}),
    "slack": frozenset({"subject"}),
    "whatsapp": frozenset({"subject"}),
}
CLIENT_KEY_MAX_LENGTH = 200  # the stored key adds the sender's namespace


@dataclass(frozen=True)
class MessageSubmitted:
    notification: Notification
    replayed: bool  # True: the key was known with this payload; nothing new was sent


def _addresses(value: Any, *, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise InvalidInput(f"{field} must be a string or a list of strings", field=field)
    return [item.strip() for item in items if item.strip()]


def _normalised_payload(channel: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(payload) - set(PAYLOAD_FIELDS))
    if unknown:
        raise InvalidInput(
            f"Unknown payload field(s) {', '.join(unknown)}",
            advice=f"A payload has: {', '.join(PAYLOAD_FIELDS)}.",
            field=unknown[0],
        )
    given = {name: value for name, value in payload.items() if value not in (None, "", [])}
    label = _transport_class(channel).label
    extra = CHANNEL_PAYLOAD_FIELDS.get(channel, frozenset())
    refused = sorted(set(given) - {"to", "text"} - extra)
    if refused:
        raise InvalidInput(
            f"{label} messages do not take {', '.join(refused)}",
            advice=f"{label} messages take: {', '.join(['to', 'text', *sorted(extra)])}.",
            field=refused[0],
        )
    for name in ("subject", "text", "html", "from"):
        if name in given and not isinstance(given[name], str):
            raise InvalidInput(f"{name} must be a string", field=name)
    normal: dict[str, Any] = {
        name: given[name] for name in ("subject", "text", "html", "from") if name in given
    }
    for name in ("to", "cc", "bcc"):
        if name in given:
            normal[name] = _addresses(given[name], field=name)
    if not normal.get("to"):
        raise InvalidInput(f"A {label} message needs a recipient", field="to")
    if channel == "email":
        if not normal.get("subject"):
            raise InvalidInput("An email needs a subject", field="subject")
        if not (normal.get("text") or normal.get("html")):
            raise InvalidInput("An email needs text or html", field="text")
    else:
        if len(normal["to"]) != 1:
            raise InvalidInput(
                f"A {label} message goes to exactly one recipient",
                advice="Send one message per recipient, each with its own idempotency key.",
                field="to",
            )
        if not normal.get("text", "").strip():
            raise InvalidInput(f"A {label} message needs text", field="text")
    return normal


def _submit_key(*, sender: Any, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return f"api:{sender.pk}:{uuid.uuid4()}"
    key = idempotency_key.strip()
    if not key or len(key) > CLIENT_KEY_MAX_LENGTH:
        raise InvalidInput(
            f"The idempotency key must be 1 to {CLIENT_KEY_MAX_LENGTH} characters", field="idempotency_key"
        )
    # Keys are the client's: two senders choosing the same key do not share a message.
    return f"api:{sender.pk}:{key}"


# The transport's names for what the API calls to / from.
_API_FIELD = {"recipient": "to", "from_email": "from"}


def message_submit(
    *, channel: str, payload: Mapping[str, Any], idempotency_key: str | None, sender: Any
) -> MessageSubmitted:
    """A message from an API client: validated per channel, accepted once per idempotency key. The same
    key with the same payload returns the first message (nothing is sent again); with another payload it is
    a Conflict. Without a key every call is a new message."""
    _transport_class(channel)
    normal = _normalised_payload(channel, payload)
    key = _submit_key(sender=sender, idempotency_key=idempotency_key)
    digest = hashlib.sha256(
        json.dumps({"channel": channel, "payload": normal}, sort_keys=True).encode()
    ).hexdigest()
    existing = Notification.objects.filter(idempotency_key=key).first()
    if existing is None:
        text = normal.get("text", "")
        options: dict[str, Any] = {}
        for name, option in (("cc", "cc"), ("bcc", "bcc"), ("from", "from_email")):
            if name in normal:
                options[option] = normal[name]
        try:
            notification = message_send(
                channel=channel,
                recipient=", ".join(normal["to"]),
                # Chat channels have no subject line: the first line of the text stands in (admin, lists).
                subject=normal.get("subject") or text.strip().splitlines()[0][:255],
                text=text,
                html=normal.get("html", ""),
                category="API",
                idempotency_key=key,
                sender=sender,
                payload_digest=digest,
                **options,
            )
        except InvalidInput as error:
            error.field = _API_FIELD.get(error.field, error.field)
            raise
        if notification.payload_digest == digest:
            return MessageSubmitted(notification, replayed=False)
        existing = notification  # a concurrent call with this key won
    if existing.payload_digest != digest:
        raise Conflict(
            f"Idempotency key {idempotency_key!r} was used for another message ({existing.id})",
            advice="Use a new key for a new message; repeat a key only to retry the very same request.",
            field="idempotency_key",
        )
    return MessageSubmitted(existing, replayed=True)
