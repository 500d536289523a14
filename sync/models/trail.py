"""The trail every sync leaves: its schedule (SyncJob), per-entity watermarks (SyncState), runs and logs."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from sync.models.jira import Project


class SyncJob(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PAUSED = "PAUSED"
        ERROR = "ERROR"
        # Unregistered with its data kept: no beat entry, every control refuses it, webhooks skip it.
        UNREGISTERED = "UNREGISTERED"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="sync_job")
    cron = models.CharField(max_length=128, default="*/15 * * * *")
    time_zone = models.CharField(max_length=64, default="UTC")
    effective_cron = models.CharField(max_length=128, blank=True, help_text="Set while backed off.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    paused_note = models.TextField(blank=True)
    paused_by = models.CharField(max_length=150, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("operate_sync", "Can start, pause, resume, reschedule and trigger syncs")]

    def __str__(self) -> str:
        return f"sync {self.project}"

    @property
    def active_cron(self) -> str:
        """The cron the project runs on now: the back-off one while backed off, else the operator's."""
        return self.effective_cron or self.cron

    @property
    def workflow_id(self) -> str:
        """Stable per project (the spec's workflowId): the site and Jira's project id, which neither a run
        nor a key renamed in Jira changes."""
        return f"sync:{self.project.site_id}:{self.project.jira_id}"

    @property
    def schedule_id(self) -> str:
        """The name of the beat entry (django-celery-beat PeriodicTask) that ticks the job; while there is
        none, the name ``schedule_install`` gives it."""
        if self.periodic_task is not None:  # no query when the selector joined it (sync_jobs)
            return self.periodic_task.name
        return f"sync project {self.project.site_id}:{self.project.key}"


class SyncEntity(models.TextChoices):
    ISSUE = "issue"
    COMMENT = "comment"
    WORKLOG = "worklog"
    SPRINT = "sprint"
    USER = "user"


class SyncState(models.Model):
    class Status(models.TextChoices):
        IDLE = "IDLE"
        RUNNING = "RUNNING"
        SUCCESS = "SUCCESS"
        FAILED = "FAILED"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sync_states")
    entity = models.CharField(max_length=16, choices=SyncEntity.choices)
    last_sync_time = models.DateTimeField(
        null=True, blank=True, help_text="Everything Jira changed before this instant is stored."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    last_error_code = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "entity"], name="syncstate_unique_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.entity}"


class RunStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class SyncRun(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual"
        COMMAND = "command"
        API = "api"
        ADMIN = "admin"
        BACKFILL = "backfill"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    full = models.BooleanField(default=False)
    account_ids = models.JSONField(default=list, blank=True)
    nominal_time = models.DateTimeField(null=True, blank=True, help_text="Scheduled fire time.")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    step = models.CharField(max_length=32, default="start")
    seq = models.PositiveIntegerField(default=0, help_text="Steps committed; fences duplicate messages.")
    cursor = models.JSONField(default=dict, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    http_requests = models.JSONField(default=dict, blank=True)
    request_total = models.PositiveIntegerField(default=0)
    jira_ms = models.PositiveBigIntegerField(default=0, help_text="Time spent waiting for Jira's answers.")
    approx_total = models.PositiveIntegerField(null=True, blank=True)
    issues_done = models.PositiveIntegerField(default=0)
    coalesced = models.PositiveIntegerField(default=0, help_text="Requests merged into this run.")
    attempt = models.PositiveIntegerField(default=0)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # Set by sync_cancel; the engine ends the run CANCELLED at its next step boundary.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=150, blank=True)
    cancel_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["QUEUED", "RUNNING"]),
                name="one_active_run_per_project",
            ),
            models.UniqueConstraint(
                fields=["project", "nominal_time"],
                condition=Q(nominal_time__isnull=False),
                name="one_run_per_scheduled_tick",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="syncrun_project_recent"),
            # The retention purge's scan: finished runs by age.
            models.Index(fields=["finished_at"], name="syncrun_finished"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.project}"

    @property
    def is_terminal(self) -> bool:
        return self.status not in ACTIVE_RUN_STATUSES


class SyncLog(models.Model):
    class Level(models.TextChoices):
        DEBUG = "DEBUG"
        INFO = "INFO"
        WARNING = "WARNING"
        ERROR = "ERROR"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sync_logs")
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.CASCADE, related_name="logs")
    level = models.CharField(max_length=8, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.level} {self.message[:60]}"


class SyncRunDaily(models.Model):
    """What purged runs leave behind: per project, day (of finishing, UTC), status and error code, how many
    runs there were and what they cost. Telemetry adds these to the live runs, so its totals survive the
    run retention; only purged runs are counted here, never a run still in SyncRun."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="run_days")
    day = models.DateField()
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    error_code = models.CharField(max_length=64, blank=True)
    runs = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(default=0)
    request_total = models.PositiveBigIntegerField(default=0)
    jira_ms = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "day", "status", "error_code"], name="syncrundaily_unique_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.day} {self.status} x{self.runs}"
