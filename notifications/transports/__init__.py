"""Channel adapters. ``TRANSPORTS`` is the registry: model choices, validation and delivery derive from it."""

from notifications.transports.base import DeliveryResult, Message, Transport
from notifications.transports.email import EmailTransport
from notifications.transports.slack import SlackTransport
from notifications.transports.whatsapp import WhatsAppTransport

TRANSPORTS: dict[str, type[Transport]] = {
    transport.kind: transport for transport in (EmailTransport, SlackTransport, WhatsAppTransport)
}
CHANNEL_CHOICES = [(kind, transport.label) for kind, transport in TRANSPORTS.items()]

__all__ = ["CHANNEL_CHOICES", "TRANSPORTS", "DeliveryResult", "Message", "Transport"]
