"""Email through Django's email framework: SMTP by default, any django-anymail provider via EMAIL_BACKEND.

Per message: ``to`` (the recipient, comma-separated), and the options ``cc``, ``bcc``, ``reply_to`` (lists or
comma-separated strings), ``from_email`` and ``attachments`` (``{"filename", "content", "mimetype"}``, content
as bytes or text). Without ``html`` the message gets an HTML part rendered from the text, facts and link with
inline styles (mail clients drop <style> blocks).

Channel options (all optional; without ``host`` the project's EMAIL_* settings apply): ``host``, ``port``,
``username``, ``use_tls``, ``use_ssl``, ``timeout``, ``from_email``. The secret is the SMTP password.
"""

from __future__ import annotations

import base64
import smtplib
from collections.abc import Iterable, Mapping
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.core.validators import validate_email
from django.template.loader import render_to_string

from core.errors import InvalidInput
from core.redaction import redact
from notifications.transports import http
from notifications.transports.base import DeliveryResult, Message, Transport

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024  # they wait in the database until sent


def addresses(value: str | Iterable[str], *, field: str) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value)
    result = [str(item).strip() for item in items if str(item).strip()]
    for address in result:
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(
                f"{address!r} is not an email address", advice="Use name@example.com.", field=field
            ) from None
    return result


def _attachment(item: Any) -> dict[str, str]:
    if isinstance(item, list | tuple) and len(item) == 3:
        item = dict(zip(("filename", "content", "mimetype"), item, strict=True))
    if not isinstance(item, Mapping) or not item.get("filename") or item.get("content") is None:
        raise InvalidInput(
            "An attachment needs a filename and content",
            advice='Pass {"filename": "report.csv", "content": b"...", "mimetype": "text/csv"}.',
            field="attachments",
        )
    content = item["content"]
    raw = content.encode() if isinstance(content, str) else bytes(content)
    if len(raw) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"Attachment {item['filename']!r} is {len(raw)} bytes; the limit is {MAX_ATTACHMENT_BYTES}",
            advice="Link to large files instead of attaching them.",
            field="attachments",
        )
    return {
        "filename": str(item["filename"]),
        "content_b64": base64.b64encode(raw).decode(),
        "mimetype": str(item.get("mimetype") or "application/octet-stream"),
    }


def option_flag(value: Any) -> bool:
    """Options are typed by hand in the admin: "false" must not mean True."""
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


def plain_text(message: Message) -> str:
    """The text part carries the same facts and link as the HTML part, for text-only readers."""
    parts = [message.text.strip()]
    if message.facts:
        parts.append("\n".join(f"{name}: {value}" for name, value in message.facts.items()))
    if message.link:
        parts.append(message.link)
    return "\n\n".join(part for part in parts if part) + "\n"


def _classify(exc: Exception) -> DeliveryResult:
    """Which failures another attempt can fix: connection trouble and 4xx SMTP replies, not refusals."""
    try:
        detail = str(exc)
    except Exception:  # anymail errors without an HTTP response cannot render themselves
        detail = " ".join(map(str, exc.args))
    text = redact(f"{type(exc).__name__}: {detail}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused | AnymailRecipientsRefused):
        return DeliveryResult.failed("RECIPIENT_REFUSED", text, retryable=False)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryResult.failed("AUTH_FAILED", text, retryable=False)
    if isinstance(exc, smtplib.SMTPResponseException):
        temporary = 400 <= exc.smtp_code < 500
        return DeliveryResult.failed(
            "SMTP_TEMPORARY" if temporary else "SMTP_REJECTED", text, retryable=temporary
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):  # refused, reset, timed out, DNS
        return DeliveryResult.failed("NETWORK_ERROR", text, retryable=True)
    if isinstance(exc, AnymailAPIError) and exc.status_code:
        status = exc.status_code
        return DeliveryResult.failed(http.status_code(status), text, retryable=status == 429 or status >= 500)
    if isinstance(exc, AnymailError | smtplib.SMTPException):
        return DeliveryResult.failed("PROVIDER_ERROR", text, retryable=False)
    raise exc


class EmailTransport(Transport):
    kind = "email"
    label = "Email"
    multi_recipient = True
    accepted_options = frozenset({"cc", "bcc", "reply_to", "from_email", "attachments"})

    @classmethod
    def clean_recipient(cls, recipient: str) -> str:
        return ", ".join(addresses(super().clean_recipient(recipient), field="recipient"))

    @classmethod
    def clean_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean_options(options)
        for key in ("cc", "bcc", "reply_to"):
            if key in cleaned:
                cleaned[key] = addresses(cleaned[key], field=key)
        if "from_email" in cleaned:
            cleaned["from_email"] = str(cleaned["from_email"]).strip()
            # "Name <address>" is allowed; the address part must be valid.
            addresses(cleaned["from_email"].rsplit("<", 1)[-1].rstrip(">"), field="from_email")
        if "attachments" in cleaned:
            cleaned["attachments"] = [_attachment(item) for item in cleaned["attachments"]]
        return cleaned

    def connection(self) -> Any:
        host = self.options.get("host")
        if not host:
            return get_connection(fail_silently=False)
        return get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            fail_silently=False,
            host=str(host),
            port=int(self.options.get("port") or 25),
            username=str(self.options.get("username") or ""),
            password=self.secret,
            use_tls=option_flag(self.options.get("use_tls")),
            use_ssl=option_flag(self.options.get("use_ssl")),
            timeout=float(self.options.get("timeout") or settings.NOTIFY_HTTP_TIMEOUT),
        )

    def build(self, message: Message) -> EmailMultiAlternatives:
        options = message.options
        from_email = str(
            options.get("from_email") or self.options.get("from_email") or settings.NOTIFY_EMAIL_FROM
        )
        html = message.html or render_to_string(
            "notifications/email.html",
            {"subject": message.subject, "text": message.text, "facts": message.facts, "link": message.link},
        )
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=plain_text(message),
            from_email=from_email,
            to=addresses(message.recipient, field="recipient"),
            cc=list(options.get("cc", [])),
            bcc=list(options.get("bcc", [])),
            reply_to=list(options.get("reply_to", [])),
            headers={
                "Message-ID": make_msgid(domain=from_email.rsplit("@", 1)[-1].rstrip(">") or None),
                "X-Jiraplus-Category": message.category,
                "X-Jiraplus-Idempotency-Key": message.idempotency_key,
            },
        )
        email.attach_alternative(html, "text/html")
        for item in options.get("attachments", []):
            email.attach(item["filename"], base64.b64decode(item["content_b64"]), item["mimetype"])
        return email

    def send(self, message: Message) -> DeliveryResult:
        email = self.build(message)
        try:
            sent = self.connection().send_messages([email])
        except Exception as exc:
            return _classify(exc)
        if not sent:
            return DeliveryResult.failed("NOT_SENT", "The email backend accepted nothing", retryable=False)
        # The provider's id when anymail sent it (it may be 0), else the Message-ID we set.
        provider_id = getattr(getattr(email, "anymail_status", None), "message_id", None)
        return DeliveryResult.sent(
            str(email.extra_headers["Message-ID"] if provider_id is None else provider_id)
        )
