"""Who may send messages through the API: holders of ``notifications.send_message``.

Unlike the apps' operate permissions, staff is not enough: the company's channels reach customers and
phones, so sending is granted explicitly (the "Message senders" group, or a superuser).
"""

from __future__ import annotations

from typing import Any

SEND_MESSAGE = "notifications.send_message"
SENDERS_GROUP = "Message senders"
SEND_MESSAGE_DENIED = (
    "Sending messages needs the notifications.send_message permission (Message senders group)"
)


def can_send_messages(user: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return bool(user.has_perm(SEND_MESSAGE))


def can_read_every_message(user: Any) -> bool:
    """Staff and superusers read every message; other senders read their own."""
    return bool(getattr(user, "is_active", False) and (user.is_staff or user.is_superuser))
