"""The one contract every channel adapter implements: ``Transport(options, secret).send(message)``.

Adapters never raise for delivery problems; they return a ``DeliveryResult`` whose ``retryable`` flag tells
the delivery service whether to try again later. Bad *input* (an invalid address) is caught earlier, when the
message is accepted, by ``clean_recipient`` and ``clean_options``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.errors import InvalidInput


@dataclass(frozen=True)
class Message:
    recipient: str
    subject: str
    text: str
    html: str = ""
    facts: Mapping[str, str] = field(default_factory=dict)
    link: str = ""
    category: str = ""
    idempotency_key: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    provider_id: str = ""
    code: str = ""
    retryable: bool = False
    message: str = ""
    retry_after: float | None = None  # seconds the provider asked us to wait (HTTP Retry-After)

    @classmethod
    def sent(cls, provider_id: str = "") -> DeliveryResult:
        return cls(ok=True, provider_id=provider_id)

    @classmethod
    def failed(
        cls, code: str, message: str, *, retryable: bool, retry_after: float | None = None
    ) -> DeliveryResult:
        return cls(ok=False, code=code, retryable=retryable, message=message[:2000], retry_after=retry_after)


class Transport:
    kind: ClassVar[str]
    label: ClassVar[str]
    # Channels that address several recipients in one message (email); others get one message per recipient.
    multi_recipient: ClassVar[bool] = False
    # Keys message_send(**options) accepts for this channel.
    accepted_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, options: Mapping[str, Any], secret: str) -> None:
        self.options = options  # the channel configuration's non-secret settings
        self.secret = secret

    def send(self, message: Message) -> DeliveryResult:
        raise NotImplementedError

    @classmethod
    def clean_recipient(cls, recipient: str) -> str:
        recipient = recipient.strip()
        if not recipient:
            raise InvalidInput(f"A {cls.label} message needs a recipient", field="recipient")
        return recipient

    @classmethod
    def clean_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate per-message options and return their JSON-safe form (they wait in the database)."""
        unknown = sorted(set(options) - cls.accepted_options)
        if unknown:
            accepted = ", ".join(sorted(cls.accepted_options)) or "none"
            raise InvalidInput(
                f"{cls.label} messages do not take option(s) {', '.join(unknown)}",
                advice=f"Accepted options: {accepted}.",
                field=unknown[0],
            )
        return dict(options)


def facts_line(facts: Mapping[str, str], separator: str = " · ") -> str:
    """Facts on one line, for channels whose templates forbid new lines (WhatsApp parameters)."""
    return separator.join(f"{key}: {value}" for key, value in facts.items())
