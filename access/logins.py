"""Sign-in throttling for the admin (and any login through ``django.contrib.auth.authenticate``): after
``LOGIN_FAILURES_ALLOWED`` failures within ``LOGIN_LOCKOUT_SECONDS`` from one address, or for one username
from anywhere, further sign-ins are refused for the rest of that window, even with the right password, so
a password cannot be guessed online. Counted from Django's own ``user_login_failed`` signal."""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest

from access import failures
from core.context import client_address


def _keys(request: HttpRequest | None, username: str) -> list[str]:
    # The username is hashed: cache keys must not carry what a person typed (it may be a password).
    keys = [f"login-failures:user:{hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]}"]
    if request is not None:
        keys.append(f"login-failures:client:{client_address(request) or 'unknown'}")
    return keys


def locked(request: HttpRequest | None, username: str) -> bool:
    return failures.over(_keys(request, username), settings.LOGIN_FAILURES_ALLOWED)


@receiver(user_login_failed)
def _count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    failures.count(_keys(request, str(credentials.get("username") or "")), settings.LOGIN_LOCKOUT_SECONDS)


@receiver(user_logged_in)
def _forget_failures(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    cache.delete(_keys(None, user.get_username())[0])  # the address keeps its count: it may guess others


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        if locked(self.request, str(self.data.get("username") or "")):
            minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
            raise forms.ValidationError(
                f"Too many failed sign-ins. Try again in {minutes} minutes, or ask an administrator to "
                "reset your password.",
                code="throttled",
            )
        return super().clean()
