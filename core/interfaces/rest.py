"""REST's face for control actions: the operate permission, parsed input, and the control's result
rendered by the view. A control's typed error propagates to ``errors.rest_exception_handler``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from core import scopes
from core.scopes import scope_denied

Result = TypeVar("Result")


class ReadScope(BasePermission):
    """In every view's defaults: a read (a safe method) made with a token needs its ``read`` scope. Acts
    check their own scope, with their permission (``OperatePermission``)."""

    message = scope_denied(scopes.READ)

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method not in SAFE_METHODS or scopes.allows(request.auth, scopes.READ)


class OperatePermission(BasePermission):
    """An app's operate check as a DRF permission; subclasses set ``check``, ``message`` and the token
    ``scope`` the act needs (a token must hold it, and its owner the permission)."""

    reads_open: ClassVar[bool] = False  # True: safe methods need only the read scope
    scope: ClassVar[str] = scopes.OPERATE
    message = "You may not operate this"

    @staticmethod
    def check(user: Any) -> bool:
        return False

    def has_permission(self, request: Request, view: Any) -> bool:
        read = self.reads_open and request.method in SAFE_METHODS
        scope = scopes.READ if read else self.scope
        if not scopes.allows(request.auth, scope):
            self.message = scope_denied(scope)
            return False
        return read or self.check(request.user)


def parse_input(serializer: type[Serializer[Any]], request: Request) -> dict[str, Any]:
    """The request body validated by ``serializer`` (a 400 in the one error shape when it is not)."""
    parsed = serializer(data=request.data)
    parsed.is_valid(raise_exception=True)
    return dict(parsed.validated_data)


def control_response(
    request: Request,
    call: Callable[[str], Result],
    render: Callable[[Result], tuple[Any, int]],
) -> Response:
    """Run one control as the caller and answer ``render(result)`` as (body, status)."""
    body, status = render(call(request.user.get_username()))
    return Response(body, status=status)
