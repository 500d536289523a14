"""HTTP delivery shared by the Slack and WhatsApp adapters: one POST, its outcome as a DeliveryResult.

Not for Jira (that is sync/jira/client.py). Status classes map to retryability once, here: 429, 408 and 5xx
are worth another attempt later, other 4xx are permanent. Exception texts are redacted because requests
puts the URL (a Slack webhook URL *is* a secret) into its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from core.redaction import REDACTED, redact, register_secret
from notifications.transports.base import DeliveryResult

_RETRYABLE_STATUSES = {408, 425, 429}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def describe(exc: requests.RequestException, url: str) -> str:
    """What went wrong, naming the host but never the URL's path (where a webhook keeps its secret)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None) or exc
    path = urlsplit(url).path
    text = f"{type(exc).__name__} reaching {urlsplit(url).netloc}: {reason}"
    return redact(text.replace(path, REDACTED) if len(path) > 1 else text)


def status_code(status: int) -> str:
    if status == 429:
        return "RATE_LIMITED"
    if status in (401, 403):
        return "AUTH_FAILED"
    if status in (404, 410):
        return "NOT_FOUND"
    if status >= 500:
        return "SERVER_ERROR"
    return f"HTTP_{status}"


def post(
    url: str,
    *,
    provider_id: Callable[[requests.Response], str],
    secrets: tuple[str, ...] = (),
    **kwargs: Any,
) -> DeliveryResult:
    """POST and classify. ``provider_id`` reads the provider's message id from a 2xx response; it may return a
    DeliveryResult-worthy failure by raising ``ProviderRejected`` (Slack answers 200 with ``ok: false``)."""
    for secret in secrets:
        register_secret(secret)  # whatever goes wrong below, logs and stored errors never carry it
    try:
        response = requests.post(url, timeout=settings.NOTIFY_HTTP_TIMEOUT, **kwargs)
    except requests.Timeout as exc:
        return DeliveryResult.failed("TIMEOUT", describe(exc, url), retryable=True)
    except requests.RequestException as exc:
        return DeliveryResult.failed("NETWORK_ERROR", describe(exc, url), retryable=True)
    if response.ok:
        try:
            return DeliveryResult.sent(provider_id(response))
        except ProviderRejected as rejected:
            return rejected.result
        except (ValueError, LookupError, AttributeError):  # accepted, but an answer we cannot read an id from
            return DeliveryResult.sent("")
    status = response.status_code
    return DeliveryResult.failed(
        status_code(status),
        redact(f"HTTP {status}: {response.text[:500]}"),
        retryable=status in _RETRYABLE_STATUSES or status >= 500,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
    )


class ProviderRejected(Exception):
    def __init__(self, result: DeliveryResult) -> None:
        super().__init__(result.message)
        self.result = result
