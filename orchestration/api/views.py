"""REST: ``/api/orchestrations/``. Views parse, check the permission, call the controls service, render.

A service's typed error propagates to ``core.interfaces.errors.rest_exception_handler``: 400, 404, or 409 for
``ALREADY_EXISTS`` and ``CONFLICT``, with the project's one error shape ``{code, message, field, advice}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from core.interfaces.rest import OperatePermission, control_response, parse_input
from orchestration import selectors
from orchestration.api.serializers import (
    CommentSerializer,
    OrchestrationDetailSerializer,
    OrchestrationSerializer,
    StartSerializer,
)
from orchestration.models import Orchestration
from orchestration.permissions import can_operate_orchestration
from orchestration.services import controls

Control = Callable[[str], controls.OrchestrationControlResult]


class CanOperateOrchestrations(OperatePermission):
    """Reads for any authenticated user; changes (checked before the input is even parsed) for operators."""

    message = "You need the orchestration.operate_orchestration permission"
    reads_open = True
    check = staticmethod(can_operate_orchestration)


class NewestFirst(CursorPagination):
    ordering = "-id"


class OrchestrationViewSet(viewsets.ReadOnlyModelViewSet[Orchestration]):
    pagination_class = NewestFirst
    permission_classes = [IsAuthenticated, CanOperateOrchestrations]
    lookup_value_regex = r"\d+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if self.action == "list":
            return selectors.orchestrations_list(
                status=self.request.query_params.get("status"),
                project_key=self.request.query_params.get("project"),
            )
        return selectors.orchestration_detail()

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return OrchestrationSerializer if self.action == "list" else OrchestrationDetailSerializer

    def _operate(self, request: Request, call: Control, created: bool = False) -> Response:
        def render(result: controls.OrchestrationControlResult) -> tuple[Any, int]:
            detail = selectors.orchestration_detail().get(id=result.orchestration_id)
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            return OrchestrationDetailSerializer(detail).data, code

        return control_response(request, call, render)

    def create(self, request: Request) -> Response:
        data = parse_input(StartSerializer, request)
        return self._operate(
            request,
            lambda actor: controls.orchestration_start(
                issue_key=data["issue_key"],
                site=data.get("site") or None,
                auto_proceed=data["auto_proceed"],
                actor=actor,
            ),
            created=True,
        )

    def _decide(
        self, request: Request, pk: str, service: Callable[..., controls.OrchestrationControlResult]
    ) -> Response:
        comment = parse_input(CommentSerializer, request)["comment"]
        return self._operate(
            request, lambda actor: service(orchestration_id=int(pk), actor=actor, comment=comment)
        )

    def _control(
        self, request: Request, pk: str, service: Callable[..., controls.OrchestrationControlResult]
    ) -> Response:
        return self._operate(request, lambda actor: service(orchestration_id=int(pk), actor=actor))

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk, controls.phase_approve)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk, controls.phase_reject)

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._control(request, pk, controls.orchestration_cancel)

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        return self._control(request, pk, controls.orchestration_retry)

    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self._control(request, pk, controls.orchestration_pause)

    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._control(request, pk, controls.orchestration_resume)

    @action(detail=False, methods=["get"])
    def metrics(self, request: Request) -> Response:
        return Response({"agents": selectors.agent_metrics()})
