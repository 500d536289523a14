"""DRF authentication for API tokens: ``Authorization: Bearer <token>`` (or ``Token <token>``, the header
the previous tokens used). Failed attempts are throttled per client address and per token prefix, so
neither a guessing client nor a guessed token gets unlimited tries."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from access import failures, tokens
from access.models import ApiToken
from core.context import client_address
from core.errors import NotAuthenticated

KEYWORDS = (b"bearer", b"token")
_WINDOW = 60  # seconds


def _keys(request: Request, secret: str) -> list[str]:
    keys = [f"auth-failures:client:{client_address(request) or 'unknown'}"]
    if prefix := tokens.token_prefix(secret):
        keys.append(f"auth-failures:prefix:{prefix}")
    return keys


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be '<keyword> <token>'")
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(tokens.INVALID) from None
        keys = _keys(request, secret)
        limit = settings.API_AUTH_FAILURES_PER_MINUTE
        if failures.over(keys, limit):
            raise exceptions.Throttled(_WINDOW, detail="Too many failed authentications; try again later")
        try:
            token = tokens.token_authenticate(secret)
        except NotAuthenticated as refused:
            failures.count(keys, _WINDOW)
            raise exceptions.AuthenticationFailed(refused.message) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
