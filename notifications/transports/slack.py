"""Slack: an incoming-webhook URL, or a bot token + channel through chat.postMessage; Block Kit messages.

The channel configuration's secret is either the webhook URL (starts with ``https://``) or the bot token.
For a webhook the recipient is informational (the webhook is bound to its channel); for a bot token it is the
channel.
Options: ``api_url`` (default https://slack.com/api/chat.postMessage, overridable for tests and proxies).
"""

from __future__ import annotations

from typing import Any

import requests

from notifications.transports import http
from notifications.transports.base import DeliveryResult, Message, Transport

API_URL = "https://slack.com/api/chat.postMessage"
FIELDS_PER_SECTION = 10  # Block Kit's limit
# chat.postMessage errors that go away on their own; every other error needs a person.
_RETRYABLE_API_ERRORS = {
    "ratelimited",
    "service_unavailable",
    "internal_error",
    "request_timeout",
    "fatal_error",
}


def blocks(message: Message) -> list[dict[str, Any]]:
    """Header, text, the facts as two-column fields, and a button to the link."""
    result: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150], "emoji": False}},
    ]
    if message.text:
        result.append({"type": "section", "text": {"type": "mrkdwn", "text": message.text[:3000]}})
    facts = list(message.facts.items())
    for start in range(0, len(facts), FIELDS_PER_SECTION):
        fields = [
            {"type": "mrkdwn", "text": f"*{key}*\n{value}"}
            for key, value in facts[start : start + FIELDS_PER_SECTION]
        ]
        result.append({"type": "section", "fields": fields})
    if message.link:
        result.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": message.link}
                ],
            }
        )
    return result


def _chat_post_message_id(response: requests.Response) -> str:
    body = response.json()
    if body.get("ok"):
        return str(body.get("ts", ""))
    error = str(body.get("error", "unknown_error"))
    raise http.ProviderRejected(
        DeliveryResult.failed(
            "RATE_LIMITED" if error == "ratelimited" else f"SLACK_{error.upper()}",
            f"Slack refused the message: {error}",
            retryable=error in _RETRYABLE_API_ERRORS,
            retry_after=http.retry_after_seconds(response.headers.get("Retry-After")),
        )
    )


class SlackTransport(Transport):
    kind = "slack"
    label = "Slack"

    def send(self, message: Message) -> DeliveryResult:
        if not self.secret:
            return DeliveryResult.failed(
                "NOT_CONFIGURED",
                "The Slack channel has neither a webhook URL nor a bot token: set one in the admin",
                retryable=False,
            )
        payload: dict[str, Any] = {
            "text": f"{message.subject}\n{message.text}".strip(),
            "blocks": blocks(message),
        }
        if self.secret.startswith(("https://", "http://")):
            # A webhook answers a plain "ok" and gives no message id.
            return http.post(
                self.secret, json=payload, secrets=(self.secret,), provider_id=lambda _response: ""
            )
        payload["channel"] = message.recipient
        return http.post(
            str(self.options.get("api_url") or API_URL),
            json=payload,
            headers={"Authorization": f"Bearer {self.secret}"},
            secrets=(self.secret,),
            provider_id=_chat_post_message_id,
        )
