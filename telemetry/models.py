"""What telemetry learnt from the sync trail: each project's back-off state, the schedule changes it made
(append-only, the admin's history of every episode) and the slow runs it noticed.

Rows here are derived from SyncRun/SyncLog rows only; deleting them all and re-analysing is safe.
"""

from __future__ import annotations

from django.db import models

from sync.models import Project, SyncRun


class BackoffState(models.Model):
    """Where the analysis of one project stands: the runs already read and the failure episode in progress."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="backoff")
    last_run_id = models.BigIntegerField(default=0, help_text="Highest terminal SyncRun id analysed.")
    level = models.PositiveSmallIntegerField(default=0, help_text="0: the operator's cron; n: ladder rung n.")
    category = models.CharField(max_length=64, blank=True, help_text="Error code of the current episode.")
    consecutive_failures = models.PositiveIntegerField(default=0)
    episode_run_id = models.BigIntegerField(
        null=True, blank=True, help_text="First failed run of the episode; names it in idempotency keys."
    )
    episode_started_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"back-off of {self.project}"

    @property
    def alerted(self) -> bool:
        return self.last_alert_at is not None


class ScheduleChange(models.Model):
    """One move on the ladder (or back to the operator's cron); never updated, never deleted by telemetry."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="schedule_changes")
    level = models.PositiveSmallIntegerField()
    cron = models.CharField(max_length=128, blank=True, help_text="Effective cron; empty: the operator's.")
    category = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    run = models.ForeignKey(SyncRun, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"], name="schedchange_project_recent")]

    def __str__(self) -> str:
        return f"{self.project} to level {self.level}"


class SlowRun(models.Model):
    """A successful run that took far longer than the project's recent median (the SLOW_SYNC signal)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="slow_runs")
    # Outlives its run (sync's retention purges runs): the slow-run counter of /metrics must never drop.
    run = models.OneToOneField(SyncRun, null=True, on_delete=models.SET_NULL, related_name="slow")
    duration_ms = models.PositiveIntegerField()
    median_ms = models.PositiveIntegerField(help_text="p50 of the comparable runs before it.")
    jira_ms_per_request = models.PositiveIntegerField(
        default=0, help_text="Set when Jira's slowness flagged the run: its mean wait per request."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"slow run {self.run_id} of {self.project}"

    @property
    def ratio(self) -> float:
        return self.duration_ms / self.median_ms if self.median_ms else 0.0
