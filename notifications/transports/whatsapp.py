"""WhatsApp through the WhatsApp Cloud API (Meta) or Twilio, as an approved template message.

Business-initiated WhatsApp messages must use a pre-approved template, so the facts travel as its parameters:
``{{1}}`` subject, ``{{2}}`` facts on one line, ``{{3}}`` link (see docs/notifications.md for the template).

Options: ``provider`` (``cloud``, default, or ``twilio``); for ``cloud``: ``phone_number_id``, ``template``
(default ``jiraplus_alert``), ``language`` (default ``en``), ``api_url`` (default https://graph.facebook.com/v21.0);
for ``twilio``: ``account_sid``, ``from_number``, ``content_sid`` (the template), ``api_url`` (default
https://api.twilio.com). The secret is the Cloud API access token or the Twilio auth token.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from core.errors import InvalidInput
from notifications.transports import http
from notifications.transports.base import DeliveryResult, Message, Transport, facts_line

CLOUD_API_URL = "https://graph.facebook.com/v21.0"
TWILIO_API_URL = "https://api.twilio.com"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SPACES = re.compile(r"\s+")


def template_parameters(message: Message) -> list[str]:
    # Template parameters may not contain new lines, tabs or runs of spaces, nor be empty.
    values = [message.subject, facts_line(message.facts), message.link]
    return [_SPACES.sub(" ", value).strip()[:1000] or "-" for value in values]


def cloud_payload(message: Message, *, template: str, language: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": message.recipient.removeprefix("+"),
        "type": "template",
        "template": {
            "name": template,
            "language": {"code": language},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in template_parameters(message)],
                }
            ],
        },
    }


def twilio_form(message: Message, *, from_number: str, content_sid: str) -> dict[str, str]:
    variables = {str(n): value for n, value in enumerate(template_parameters(message), start=1)}
    return {
        "To": f"whatsapp:{message.recipient}",
        "From": f"whatsapp:{from_number}",
        "ContentSid": content_sid,
        "ContentVariables": json.dumps(variables),
    }


def _cloud_message_id(response: requests.Response) -> str:
    messages = response.json().get("messages") or [{}]
    return str(messages[0].get("id", ""))


def _twilio_message_id(response: requests.Response) -> str:
    return str(response.json().get("sid", ""))


class WhatsAppTransport(Transport):
    kind = "whatsapp"
    label = "WhatsApp"

    @classmethod
    def clean_recipient(cls, recipient: str) -> str:
        recipient = super().clean_recipient(recipient).replace(" ", "")
        if not E164.match(recipient):
            raise InvalidInput(
                f"{recipient!r} is not a phone number in international format",
                advice="Write it as + country code + number, e.g. +14155550123.",
                field="recipient",
            )
        return recipient

    def send(self, message: Message) -> DeliveryResult:
        provider = str(self.options.get("provider") or "cloud")
        if provider == "twilio":
            return self._send_twilio(message)
        if provider != "cloud":
            return DeliveryResult.failed(
                "NOT_CONFIGURED",
                f"Unknown WhatsApp provider {provider!r} (use cloud or twilio)",
                retryable=False,
            )
        missing = self._missing("phone_number_id")
        if missing:
            return missing
        base = str(self.options.get("api_url") or CLOUD_API_URL).rstrip("/")
        url = f"{base}/{self.options['phone_number_id']}/messages"
        payload = cloud_payload(
            message,
            template=str(self.options.get("template") or "jiraplus_alert"),
            language=str(self.options.get("language") or "en"),
        )
        return http.post(
            url,
            json=payload,
            headers={"Authorization": f"Bearer {self.secret}"},
            secrets=(self.secret,),
            provider_id=_cloud_message_id,
        )

    def _send_twilio(self, message: Message) -> DeliveryResult:
        missing = self._missing("account_sid", "from_number", "content_sid")
        if missing:
            return missing
        sid = str(self.options["account_sid"])
        base = str(self.options.get("api_url") or TWILIO_API_URL).rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        form = twilio_form(
            message,
            from_number=str(self.options["from_number"]),
            content_sid=str(self.options["content_sid"]),
        )
        return http.post(
            url, data=form, auth=(sid, self.secret), secrets=(self.secret,), provider_id=_twilio_message_id
        )

    def _missing(self, *keys: str) -> DeliveryResult | None:
        absent = [key for key in keys if not self.options.get(key)]
        if not self.secret:
            absent.append("token (secret)")
        if not absent:
            return None
        return DeliveryResult.failed(
            "NOT_CONFIGURED",
            f"The WhatsApp channel lacks {', '.join(absent)}: set them in the admin",
            retryable=False,
        )
