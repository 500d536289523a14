"""The six-phase workflow's memory: the database, not the broker, says what is done.

An ``Orchestration`` is one run of EXPLORE → PLAN → CODE → TEST (→ FIX → TEST)* → DOCUMENT on one issue.
Each time a phase runs it gets a ``PhaseExecution`` whose idempotency key is stable across retries and
crashes, so side effects keyed on it happen once. ``step`` moves with every transition and fences Celery
messages ("advance X at step N"): a message for an older step is a no-op. ``Event`` rows are the
append-only history from which the state can be rebuilt (``orchestration.history.replay``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q


class Phase(models.TextChoices):
    EXPLORE = "EXPLORE"
    PLAN = "PLAN"
    CODE = "CODE"
    TEST = "TEST"
    FIX = "FIX"
    DOCUMENT = "DOCUMENT"


class Status(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING, Status.AWAITING_APPROVAL, Status.PAUSED)
RUNNABLE_STATUSES = (Status.PENDING, Status.RUNNING)
TERMINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)


class Orchestration(models.Model):
    issue = models.ForeignKey("sync.Issue", on_delete=models.PROTECT, related_name="orchestrations")
    issue_key = models.CharField(max_length=64, help_text="The issue's key when the run started.")
    project = models.ForeignKey("sync.Project", on_delete=models.PROTECT, related_name="orchestrations")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    current_phase = models.CharField(max_length=16, choices=Phase.choices, blank=True)
    auto_proceed = models.BooleanField(default=False)
    gates = models.JSONField(default=list, blank=True, help_text="Phases followed by an approval gate.")
    max_fix_attempts = models.PositiveIntegerField(default=3)
    fix_attempts = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=150, blank=True)
    correlation_id = models.UUIDField(default=uuid.uuid4, editable=False)
    step = models.PositiveIntegerField(default=0, help_text="Transitions so far; fences task messages.")
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Durable timer: the current phase's retry is not due before this."
    )
    cancel_requested = models.BooleanField(default=False)
    pause_requested = models.BooleanField(default=False)
    deadline_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue"],
                condition=Q(status__in=["PENDING", "RUNNING", "AWAITING_APPROVAL", "PAUSED"]),
                name="one_active_orchestration_per_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="orch_status_lease"),
            models.Index(fields=["project", "-created_at"], name="orch_project_recent"),
        ]
        permissions = [
            ("operate_orchestration", "Can start, approve, reject, cancel and retry orchestrations")
        ]

    def __str__(self) -> str:
        return f"orchestration {self.pk} of {self.issue_key}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class PhaseExecution(models.Model):
    class State(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        RETRY_WAIT = "RETRY_WAIT"
        SUCCEEDED = "SUCCEEDED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    orchestration = models.ForeignKey(Orchestration, on_delete=models.CASCADE, related_name="phases")
    phase = models.CharField(max_length=16, choices=Phase.choices)
    iteration = models.PositiveIntegerField(default=1, help_text="Nth run of this phase (TEST after FIX).")
    attempt = models.PositiveIntegerField(default=0, help_text="Claims of this phase: retries and takeovers.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    idempotency_key = models.CharField(max_length=100, unique=True)
    checkpoint = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    artifacts = models.JSONField(default=list, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.idempotency_key

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class AgentExecution(models.Model):
    class Status(models.TextChoices):
        RUNNING = "RUNNING"
        SUCCEEDED = "SUCCEEDED"  # the agent ran and reported success
        FAILED = "FAILED"  # the agent ran and reported failure (e.g. tests failed)
        ERROR = "ERROR"  # the agent raised: transient or permanent error
        ABANDONED = "ABANDONED"  # its worker died or lost the lease before recording an outcome

    phase_execution = models.ForeignKey(PhaseExecution, on_delete=models.CASCADE, related_name="agents")
    agent = models.CharField(max_length=200)
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_type = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["agent", "status"], name="agentexec_agent_status")]

    def __str__(self) -> str:
        return f"{self.agent} #{self.attempt} of {self.phase_execution_id}"


class Approval(models.Model):
    class Decision(models.TextChoices):
        PENDING = "PENDING"
        APPROVED = "APPROVED"
        REJECTED = "REJECTED"

    orchestration = models.ForeignKey(Orchestration, on_delete=models.CASCADE, related_name="approvals")
    phase = models.CharField(max_length=16, choices=Phase.choices, help_text="The phase awaiting approval.")
    requested_at = models.DateTimeField(auto_now_add=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["orchestration"],
                condition=Q(decision="PENDING"),
                name="one_pending_approval_per_orchestration",
            ),
        ]

    def __str__(self) -> str:
        return f"approval of {self.phase} ({self.decision})"


class EventQuerySet(models.QuerySet["Event"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Events are append-only")


class Event(models.Model):
    """One transition. Append-only: the history that ``history.replay`` rebuilds state from."""

    orchestration = models.ForeignKey(Orchestration, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=200, blank=True)
    correlation_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["orchestration_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["orchestration", "seq"], name="event_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Events are append-only")
        super().save(*args, **kwargs)
