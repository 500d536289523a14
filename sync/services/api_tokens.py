"""API tokens for scripts and modules (DRF's Token: ``Authorization: Token <key>`` on REST and GraphQL)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from core.errors import NotFound


@transaction.atomic
def api_token_issue(*, username: str, rotate: bool = False) -> str:
    """The user's token key, created on first use; ``rotate`` replaces it (the old key stops working)."""
    try:
        user = get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise NotFound(
            f"No user '{username}'",
            field="username",
            advice="Create one first: python manage.py createsuperuser (or in the admin)",
        ) from None
    if rotate:
        Token.objects.filter(user=user).delete()
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)
