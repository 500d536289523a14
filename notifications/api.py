"""REST: ``POST /api/messages/`` and ``GET /api/messages/{id}/``, over ``services.message_submit`` and
``selectors.message_get``.

The ``Idempotency-Key`` header is required: a client retrying a POST after a timeout must not send twice.
The first request answers 201; a replay (same key, same body) answers 200 with the same body and
``Idempotent-Replayed: true``; the same key with another body is a 409. Errors are the shared shape
(``core.interfaces.errors.rest_exception_handler``).
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import scopes
from core.errors import InvalidInput
from core.interfaces.rest import OperatePermission, parse_input
from notifications import selectors, services
from notifications.models import Attempt, Notification
from notifications.permissions import SEND_MESSAGE_DENIED, can_send_messages
from notifications.transports import CHANNEL_CHOICES

IDEMPOTENCY_HEADER = "Idempotency-Key"


class CanSendMessages(OperatePermission):
    """Reads for any authenticated user (the selector keeps them to their own); sending needs the
    permission, checked before the body is parsed."""

    message = SEND_MESSAGE_DENIED
    reads_open = True
    scope = scopes.NOTIFY
    check = staticmethod(can_send_messages)


class PayloadSerializer(serializers.Serializer[dict[str, Any]]):
    to = serializers.ListField(child=serializers.CharField())
    cc = serializers.ListField(child=serializers.CharField(), required=False)
    bcc = serializers.ListField(child=serializers.CharField(), required=False)
    subject = serializers.CharField(required=False, allow_blank=True)
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField(required=False, help_text="Email only: the sender address.")
        return fields


class SendSerializer(serializers.Serializer[dict[str, Any]]):
    channel = serializers.ChoiceField(choices=CHANNEL_CHOICES)
    payload = PayloadSerializer()


class ReasonSerializer(serializers.Serializer[Any]):
    """A transport's structured reason for a failed try."""

    code = serializers.CharField()
    message = serializers.CharField()
    retryable = serializers.BooleanField()


class AttemptSerializer(serializers.ModelSerializer[Attempt]):
    reason = ReasonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Attempt
        fields = ["number", "at", "outcome", "reason"]


class MessageSerializer(serializers.ModelSerializer[Notification]):
    to = serializers.CharField(source="recipient")
    attempt_count = serializers.IntegerField(source="attempts")
    attempts = AttemptSerializer(source="attempt_rows", many=True)
    last_error = ReasonSerializer(source="last_failure", read_only=True, allow_null=True)
    delivered_at = serializers.DateTimeField(source="sent_at")

    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "to",
            "subject",
            "status",
            "attempt_count",
            "attempts",
            "last_error",
            "next_attempt_at",
            "created_at",
            "delivered_at",
        ]


def _rendered(notification: Notification) -> Any:
    # Read back with its attempts: the body of a replay is the message as it stands now.
    return MessageSerializer(
        Notification.objects.prefetch_related("attempt_rows").get(id=notification.id)
    ).data


class MessageListView(APIView):
    permission_classes = [IsAuthenticated, CanSendMessages]

    @extend_schema(
        request=SendSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer},
        parameters=[OpenApiParameter(IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, required=True)],
        summary="Send a message on one channel (idempotent per key)",
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            raise InvalidInput(
                f"The {IDEMPOTENCY_HEADER} header is required",
                advice="Send a unique key per message (a UUID) and repeat it only to retry that request.",
                field=IDEMPOTENCY_HEADER,
            )
        data = parse_input(SendSerializer, request)
        result = services.message_submit(
            channel=data["channel"], payload=data["payload"], idempotency_key=key, sender=request.user
        )
        if result.replayed:
            return Response(
                _rendered(result.notification),
                status=status.HTTP_200_OK,
                headers={"Idempotent-Replayed": "true"},
            )
        return Response(_rendered(result.notification), status=status.HTTP_201_CREATED)


class MessageDetailView(APIView):
    permission_classes = [IsAuthenticated, CanSendMessages]

    @extend_schema(
        responses={200: MessageSerializer}, summary="A message with its delivery state and attempts"
    )
    def get(self, request: Request, message_id: int) -> Response:
        return Response(
            MessageSerializer(selectors.message_get(message_id=message_id, viewer=request.user)).data
        )


urlpatterns = [
    path("", MessageListView.as_view(), name="message-list"),
    path("<int:message_id>/", MessageDetailView.as_view(), name="message-detail"),
]
