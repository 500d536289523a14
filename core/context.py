"""The request a service runs under, for what must know the caller without every service taking it as an
argument (the audit trail, the caller's sites). Set by ``RequestMiddleware``; a management command, a task
or a shell runs under none. DRF authenticates a token later, in the view, on this same request object, so
what reads it at the time of the act sees the token's user and credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("request", default=None)


def current_request() -> HttpRequest | None:
    return _request.get()


def client_address(request: HttpRequest) -> str:
    """The client's address as the server saw it ("" when unknown). Behind a proxy this is the proxy's,
    the same choice DRF's throttles make (NUM_PROXIES aside)."""
    return str(request.META.get("REMOTE_ADDR") or "")


@contextmanager
def acting_request(request: HttpRequest | None) -> Iterator[None]:
    reset = _request.set(request)
    try:
        yield
    finally:
        _request.reset(reset)


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with acting_request(request):
            return self.get_response(request)
