"""Delivery rows, routing rules and channel configurations of the communication service.

A ``Notification`` is saved before anything is sent and is the memory of its delivery: the task message only
says "deliver row N", and a conditional UPDATE on the row's status decides which delivery may send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.codes import code_canonical
from core.crypto import EncryptedTextField
from core.errors import InvalidInput
from notifications.transports import CHANNEL_CHOICES, TRANSPORTS


class OrderedFactsField(models.JSONField):
    """A dict in Python, a list of ``[name, value]`` pairs in the database: jsonb does not keep the order of
    an object's keys, and facts are shown in the order the caller gave them."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        value = super().from_db_value(value, expression, connection)
        return {str(name): fact for name, fact in value} if isinstance(value, list) else value

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            value = [[name, fact] for name, fact in value.items()]
        return super().get_prep_value(value)


class Notification(models.Model):
    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        SENDING = "SENDING", "Sending"
        RETRYING = "RETRYING", "Retrying"
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed"

    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    recipient = models.TextField(
        help_text="Email addresses (comma-separated), Slack channel or phone number."
    )
    category = models.CharField(max_length=64, blank=True, db_index=True)
    route = models.ForeignKey(
        "Route", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    subject = models.CharField(max_length=255)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    facts = OrderedFactsField(default=dict, blank=True)
    link = models.URLField(max_length=2000, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text="Channel options: cc, bcc, attachments...")
    idempotency_key = models.CharField(max_length=255, unique=True)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for it through the API; empty for the product's own messages.",
    )
    payload_digest = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of an API request: the same key must mean the same message.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_id = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A SENDING row past this time lost its worker mid-send."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]
        # Not implied by staff: sending on the company's channels is granted explicitly.
        permissions = [("send_message", "Can send messages")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}: {self.subject}"

    @property
    def last_failure(self) -> dict[str, Any] | None:
        """The last try's structured reason; retryable while the message waits for another try."""
        if not self.error_code:
            return None
        retryable = self.status == self.Status.RETRYING
        return {"code": self.error_code, "message": self.error_message, "retryable": retryable}


class Attempt(models.Model):
    """One try at delivering a notification, with the transport's structured reason when it failed."""

    class Outcome(models.TextChoices):
        SENT = "SENT", "Sent"
        RETRYING = "RETRYING", "Failed, will retry"
        FAILED = "FAILED", "Failed"

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    code = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    retryable = models.BooleanField(default=False)

    class Meta:
        ordering = ["notification", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="attempt_unique_number")
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome} {self.code}".strip()

    @property
    def reason(self) -> dict[str, Any] | None:
        """Why this try failed (None when it delivered)."""
        if self.outcome == self.Outcome.SENT:
            return None
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class Route(models.Model):
    """Which channel (and recipients) a category of event goes to. Several routes per category fan out; the
    catch-all category ``*`` takes every category without an enabled route of its own."""

    CATCH_ALL = "*"

    category = models.CharField(
        max_length=64,
        help_text="e.g. TOKEN_EXPIRED, SUSPENDED_PAYMENT, RATE_LIMIT, SLOW_SYNC, RECOVERED, "
        "ORCHESTRATION_FAILED; * is the catch-all: every category without an enabled route of its own. "
        "Old code names (RATE_LIMITED, NETWORK) are saved as their new ones.",
    )
    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES)
    recipients = models.TextField(
        blank=True,
        help_text="Comma-separated. Empty: the channel's default recipients from the settings "
        "(NOTIFY_EMAIL_TO, NOTIFY_SLACK_CHANNEL, NOTIFY_WHATSAPP_TO).",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "channel"]
        constraints = [models.UniqueConstraint(fields=["category", "channel"], name="route_unique_channel")]

    def __str__(self) -> str:
        category = "* (catch-all)" if self.category == self.CATCH_ALL else self.category
        return f"{category} → {self.channel}"

    @property
    def recipient_list(self) -> list[str]:
        return [item.strip() for item in self.recipients.split(",") if item.strip()]

    def clean(self) -> None:
        # Before the unique check: a route typed with an old code name is the route of its new name.
        self.category = code_canonical(self.category.strip())
        transport = TRANSPORTS.get(self.channel)
        if transport is None:
            return  # the channel field reports its own error
        for recipient in self.recipient_list:
            try:
                transport.clean_recipient(recipient)
            except InvalidInput as error:
                raise ValidationError({"recipients": f"{error.message}. {error.advice}".strip()}) from None


class ChannelConfig(models.Model):
    """How to reach a channel (non-secret options + one encrypted secret) and how healthy it is."""

    channel = models.CharField(max_length=16, choices=CHANNEL_CHOICES, unique=True)
    enabled = models.BooleanField(
        default=True, help_text="Switched off automatically after repeated permanent failures."
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="Non-secret settings, see docs/notifications.md (email: host, port, username, use_tls, "
        "from_email; Slack: api_url; WhatsApp: provider, phone_number_id, template, language, account_sid, "
        "from_number, content_sid, api_url).",
    )
    secret = EncryptedTextField(
        blank=True,
        help_text="SMTP password, Slack webhook URL or bot token, WhatsApp access token or Twilio auth "
        "token. Stored encrypted; never displayed.",
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    alert_raised_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while a failing-channel alert is open (one alert per episode); cleared by a delivery.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "channel configuration"

    def __str__(self) -> str:
        return self.get_channel_display()

    @property
    def healthy(self) -> bool:
        return self.enabled and self.consecutive_failures == 0
