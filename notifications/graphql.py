"""GraphQL: ``sendMessage`` and ``message(id)``, over ``services.message_submit`` and
``selectors.message_get``.

``sendMessage`` answers the shared error type as data (``errors``), like every control mutation;
``message`` answers null for a message the reader may not see (their own, or any for staff).
"""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import NotFound, PermissionDenied
from core.interfaces.graphql import Error, control_payload
from notifications import selectors, services
from notifications.models import Attempt, Notification
from notifications.permissions import SEND_MESSAGE_DENIED, can_send_messages
from notifications.transports import TRANSPORTS

Channel = graphene.Enum("Channel", [(kind, kind) for kind in TRANSPORTS])


class MessagePayload(graphene.InputObjectType):
    to = graphene.List(graphene.NonNull(graphene.String), required=True)
    cc = graphene.List(graphene.NonNull(graphene.String))
    bcc = graphene.List(graphene.NonNull(graphene.String))
    subject = graphene.String()
    text = graphene.String()
    html = graphene.String()
    from_ = graphene.String(name="from", description="Email only: the sender address.")


class MessageFailure(graphene.ObjectType):
    """A transport's structured reason for a failed try."""

    code = graphene.String(required=True)
    message = graphene.String(required=True)
    retryable = graphene.Boolean(required=True)


class MessageAttempt(graphene.ObjectType):
    number = graphene.Int(required=True)
    at = graphene.DateTime(required=True)
    outcome = graphene.String(required=True, description="SENT, RETRYING (failed, tried again) or FAILED.")
    reason = graphene.Field(MessageFailure, description="Null when the attempt delivered.")

    @staticmethod
    def resolve_reason(root: Attempt, info: graphene.ResolveInfo) -> MessageFailure | None:
        return MessageFailure(**root.reason) if root.reason else None


class Message(graphene.ObjectType):
    id = graphene.ID(required=True)
    channel = graphene.Field(Channel, required=True)
    to = graphene.String(required=True)
    subject = graphene.String(required=True)
    status = graphene.String(required=True, description="QUEUED, SENDING, RETRYING, SENT or FAILED.")
    attempt_count = graphene.Int(required=True)
    attempts = graphene.List(graphene.NonNull(MessageAttempt), required=True)
    last_error = graphene.Field(MessageFailure)
    next_attempt_at = graphene.DateTime()
    created_at = graphene.DateTime(required=True)
    delivered_at = graphene.DateTime()

    @staticmethod
    def resolve_to(root: Notification, info: graphene.ResolveInfo) -> str:
        return root.recipient

    @staticmethod
    def resolve_attempt_count(root: Notification, info: graphene.ResolveInfo) -> int:
        return root.attempts

    @staticmethod
    def resolve_attempts(root: Notification, info: graphene.ResolveInfo) -> list[Attempt]:
        return list(root.attempt_rows.all())

    @staticmethod
    def resolve_last_error(root: Notification, info: graphene.ResolveInfo) -> MessageFailure | None:
        return MessageFailure(**root.last_failure) if root.last_failure else None

    @staticmethod
    def resolve_delivered_at(root: Notification, info: graphene.ResolveInfo) -> Any:
        return root.sent_at


class SendMessagePayload(graphene.ObjectType):
    message = graphene.Field(Message)
    replayed = graphene.Boolean(
        description="True: the key was known with this payload; nothing was sent again."
    )
    errors = graphene.List(graphene.NonNull(Error), required=True)


_DENIED = PermissionDenied(SEND_MESSAGE_DENIED, advice="Ask for the notifications.send_message permission.")


def _payload(payload: MessagePayload) -> dict[str, Any]:
    fields = {name: value for name, value in dict(payload).items() if value is not None}
    if "from_" in fields:
        fields["from"] = fields.pop("from_")
    return fields


class SendMessage(graphene.Mutation):
    class Arguments:
        channel = Channel(required=True)
        payload = MessagePayload(required=True)
        idempotency_key = graphene.String()

    Output = SendMessagePayload

    @staticmethod
    def mutate(
        root: object,
        info: graphene.ResolveInfo,
        channel: Any,
        payload: MessagePayload,
        idempotency_key: str | None = None,
    ) -> Any:
        user = info.context.user
        return control_payload(
            info,
            SendMessagePayload,
            may_operate=can_send_messages,
            denied=_DENIED,
            call=lambda actor: services.message_submit(
                channel=getattr(channel, "value", channel),
                payload=_payload(payload),
                idempotency_key=idempotency_key,
                sender=user,
            ),
            render=lambda result: {"message": result.notification, "replayed": result.replayed},
            argument_names={"idempotency_key": "idempotencyKey"},
        )


class Query(graphene.ObjectType):
    message = graphene.Field(Message, id=graphene.ID(required=True))

    @staticmethod
    def resolve_message(root: object, info: graphene.ResolveInfo, id: str) -> Notification | None:
        try:
            return selectors.message_get(message_id=id, viewer=info.context.user)
        except NotFound:
            return None


class Mutation(graphene.ObjectType):
    send_message = SendMessage.Field()
