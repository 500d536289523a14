from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One act, written by the service that did it once it succeeded. Never edited."""

    class Via(models.TextChoices):
        REST = "rest"
        GRAPHQL = "graphql"
        ADMIN = "admin"
        WEB = "web"
        COMMAND = "command"  # a management command, a task, a shell: no request

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=64, db_index=True, help_text="e.g. sync.pause, token.create")
    target = models.CharField(max_length=255, blank=True, help_text="What it acted on, e.g. project ALPHA")
    actor = models.CharField(max_length=150, blank=True, db_index=True, help_text="The user, when known")
    token = models.CharField(max_length=16, blank=True, help_text="The API token's prefix, when one was used")
    address = models.CharField(max_length=45, blank=True, help_text="The client's address (REMOTE_ADDR)")
    via = models.CharField(max_length=8, choices=Via.choices)
    detail = models.JSONField(default=dict, blank=True, help_text="The act's plain arguments, never a secret")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target} by {self.actor or '?'}"
