"""Webhook deliveries we accepted and the re-reads they asked for."""

from __future__ import annotations

from django.db import models

from sync.models.jira import JiraSite


class WebhookEvent(models.Model):
    """A webhook delivery we accepted; the unique identifier is how replays and Jira's retries are dropped."""

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="webhook_events")
    identifier = models.CharField(max_length=128, help_text="X-Atlassian-Webhook-Identifier")
    event = models.CharField(max_length=64)
    issue_jira_id = models.BigIntegerField(null=True, blank=True)
    sprint_jira_id = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "identifier"], name="webhookevent_unique_identifier"),
        ]
        indexes = [models.Index(fields=["site", "-received_at"], name="webhookevent_site_recent")]

    def __str__(self) -> str:
        return f"{self.event} {self.identifier}"


class PendingRefresh(models.Model):
    """An issue or sprint a webhook asked us to re-read: one row per thing, so bursts coalesce.

    ``generation`` moves with every event; a refresh that read Jira for generation N marks the row done
    only if no event came in meanwhile, otherwise it reads again.
    """

    class Kind(models.TextChoices):
        ISSUE = "issue"
        SPRINT = "sprint"

    site = models.ForeignKey(JiraSite, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    jira_id = models.BigIntegerField()
    generation = models.PositiveIntegerField(default=1)
    queued = models.BooleanField(default=True, help_text="A refresh task is enqueued for this row.")
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "kind", "jira_id"], name="pendingrefresh_unique_target"),
        ]

    def __str__(self) -> str:
        return f"refresh {self.kind} {self.jira_id}"
