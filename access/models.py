from __future__ import annotations

from django.conf import settings
from django.db import models

from core import scopes


class ApiToken(models.Model):
    """A caller's credential for REST and GraphQL. Only a SHA-256 digest of the secret is stored: the secret
    is 256 random bits, so a digest cannot be reversed or guessed, and a database read or a backup yields no
    usable token. ``prefix`` is the public part of the secret (``jpp_`` and 8 characters) that finds the row
    and names the token in lists and logs."""

    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the secret, hex.")
    scopes = models.JSONField(default=list, help_text=f"Any of {', '.join(scopes.SCOPES)}.")
    site_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Jira site ids it may see; empty: every site its owner sees.",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Written at most once a minute.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    migrated = models.BooleanField(default=False, help_text="Hashed from a key of the old plain-text tokens.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
