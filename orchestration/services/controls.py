"""The one service every interface (GraphQL, REST, admin, commands) uses to steer orchestrations.

Each function is one transaction that locks the orchestration's row, so concurrent requests serialise;
the loser of a race gets a ``Conflict`` and changes nothing.

Reject semantics: rejecting ends the orchestration as CANCELLED with ``error_code=REJECTED`` and the
reviewer's comment; nothing after the gated phase runs. Start a new orchestration to try again.

Every control returns one ``OrchestrationControlResult``, so each face renders the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit.trail import audited
from core.errors import AlreadyExists, Conflict, NotFound
from core.tenancy import visible, visible_site_ids
from orchestration.models import ACTIVE_STATUSES, Approval, Orchestration, Phase, Status
from orchestration.policy import next_after
from orchestration.services.state import bump, current_execution, enqueue, finish, locked, record, schedule
from sync.models import Issue
from sync.selectors import key_ambiguous, site_by_ref


@dataclass(frozen=True)
class OrchestrationControlResult:
    """What one control did: the orchestration as the control left it, and which control it was."""

    orchestration: Orchestration
    action: str

    @property
    def orchestration_id(self) -> int:
        return self.orchestration.id

    @property
    def status(self) -> str:
        return str(self.orchestration.status)


def _get(orchestration_id: int) -> Orchestration:
    orchestration = locked(orchestration_id)
    sites = visible_site_ids()  # another tenant's orchestration does not exist for this caller
    if orchestration is None or (sites is not None and orchestration.project.site_id not in sites):
        raise NotFound(f"No orchestration {orchestration_id}", field="id")
    return orchestration


def _issue(issue_key: str, site: str | None) -> Issue:
    matching = visible(Issue.live.select_related("project").filter(key=issue_key.strip().upper()))
    if site:
        matching = matching.filter(site=site_by_ref(ref=site))
    matches = list(matching[:2])
    if not matches:
        raise NotFound(
            f"No synced issue '{issue_key}'" + (f" on site '{site}'" if site else ""),
            field="issueKey",
            advice="Register its project and sync it first (manage.py sync_project KEY --wait)",
        )
    if len(matches) > 1:
        site_ids = matching.values_list("site_id", flat=True)
        raise key_ambiguous(what="Issue", key=issue_key, site_ids=site_ids, field="issueKey")
    return matches[0]


@audited("orchestration.start", lambda a: f"issue {a['issue_key']}")
def orchestration_start(
    *, issue_key: str, site: str | None = None, auto_proceed: bool = False, actor: str = ""
) -> OrchestrationControlResult:
    """Start the workflow on a synced issue; ``site`` (id or name) picks one when several hold the key."""
    issue = _issue(issue_key, site)
    try:
        with transaction.atomic():
            orchestration = Orchestration.objects.create(
                issue=issue,
                issue_key=issue.key,
                project=issue.project,
                auto_proceed=auto_proceed,
                gates=list(settings.ORCHESTRATION_GATES),
                max_fix_attempts=settings.ORCHESTRATION_MAX_FIX_ATTEMPTS,
                requested_by=actor,
                heartbeat_at=timezone.now(),
                deadline_at=timezone.now() + timedelta(hours=settings.ORCHESTRATION_DEADLINE_HOURS),
            )
            record(
                orchestration,
                "CREATED",
                actor=actor,
                issue=issue.key,
                auto_proceed=auto_proceed,
                gates=orchestration.gates,
                max_fix_attempts=orchestration.max_fix_attempts,
            )
            schedule(orchestration, Phase.EXPLORE, actor=actor)
    except IntegrityError:
        active = Orchestration.objects.filter(issue=issue, status__in=ACTIVE_STATUSES).first()
        raise AlreadyExists(
            f"{issue.key} already has an active orchestration" + (f" ({active.id})" if active else ""),
            field="issueKey",
            advice="Cancel it first, or follow it",
        ) from None
    return OrchestrationControlResult(orchestration, "start")


def _decide(
    orchestration_id: int, decision: str, *, actor: str, comment: str
) -> tuple[Orchestration, Approval]:
    """Close the pending approval; the conditional UPDATE lets exactly one of concurrent deciders win."""
    orchestration = _get(orchestration_id)
    approval = orchestration.approvals.filter(decision=Approval.Decision.PENDING).first()
    won = approval is not None and Approval.objects.filter(
        id=approval.id, decision=Approval.Decision.PENDING
    ).update(decision=decision, decided_by=actor, decided_at=timezone.now(), comment=comment)
    if not won or orchestration.status != Status.AWAITING_APPROVAL:
        raise Conflict(
            f"Orchestration {orchestration_id} is {orchestration.status}, not awaiting approval",
            advice="It was decided already, or never asked for approval",
        )
    assert approval is not None
    record(orchestration, decision, actor=actor, phase=approval.phase, comment=comment)
    return orchestration, approval


@transaction.atomic
@audited("orchestration.approve", lambda a: f"orchestration {a['orchestration_id']}")
def phase_approve(*, orchestration_id: int, actor: str, comment: str = "") -> OrchestrationControlResult:
    orchestration, approval = _decide(
        orchestration_id, Approval.Decision.APPROVED, actor=actor, comment=comment
    )
    following = next_after(
        approval.phase,
        success=True,
        fix_attempts=orchestration.fix_attempts,
        max_fix_attempts=orchestration.max_fix_attempts,
    )
    Orchestration.objects.filter(id=orchestration.id).update(status=Status.RUNNING)
    if following.done:
        finish(orchestration, Status.SUCCEEDED, actor=actor)
    else:
        assert following.phase is not None
        schedule(orchestration, following.phase, actor=actor)
    orchestration.refresh_from_db()
    return OrchestrationControlResult(orchestration, "approve")


@transaction.atomic
@audited("orchestration.reject", lambda a: f"orchestration {a['orchestration_id']}")
def phase_reject(*, orchestration_id: int, actor: str, comment: str = "") -> OrchestrationControlResult:
    orchestration, approval = _decide(
        orchestration_id, Approval.Decision.REJECTED, actor=actor, comment=comment
    )
    finish(
        orchestration,
        Status.CANCELLED,
        error_code="REJECTED",
        message=f"{approval.phase} rejected by {actor}" + (f": {comment}" if comment else ""),
        actor=actor,
    )
    return OrchestrationControlResult(orchestration, "reject")


def _is_leased(orchestration: Orchestration) -> bool:
    expires = orchestration.lease_expires_at
    return bool(orchestration.lease_token) and expires is not None and expires > timezone.now()


@transaction.atomic
@audited("orchestration.cancel", lambda a: f"orchestration {a['orchestration_id']}")
def orchestration_cancel(*, orchestration_id: int, actor: str) -> OrchestrationControlResult:
    """Ends it now, or, while a phase runs, at that phase's next checkpoint (heartbeat or phase end)."""
    orchestration = _get(orchestration_id)
    if orchestration.is_terminal:
        raise Conflict(f"Orchestration {orchestration_id} is already {orchestration.status}")
    if _is_leased(orchestration):
        if not orchestration.cancel_requested:
            Orchestration.objects.filter(id=orchestration.id).update(cancel_requested=True)
            record(orchestration, "CANCEL_REQUESTED", actor=actor)
    else:
        finish(orchestration, Status.CANCELLED, actor=actor, message=f"Cancelled by {actor}")
    orchestration.refresh_from_db()
    return OrchestrationControlResult(orchestration, "cancel")


@transaction.atomic
@audited("orchestration.retry", lambda a: f"orchestration {a['orchestration_id']}")
def orchestration_retry(*, orchestration_id: int, actor: str) -> OrchestrationControlResult:
    """Resume a FAILED orchestration from its failed phase: a new execution of that phase (fresh
    idempotency key, fresh fix budget); completed phases are not run again."""
    orchestration = _get(orchestration_id)
    if orchestration.status != Status.FAILED:
        raise Conflict(
            f"Only failed orchestrations can be retried; {orchestration_id} is {orchestration.status}"
        )
    failed = current_execution(orchestration)
    if failed is None:
        raise Conflict(f"Orchestration {orchestration_id} never ran a phase")
    try:
        with transaction.atomic():
            Orchestration.objects.filter(id=orchestration.id).update(
                status=Status.RUNNING,
                error_code="",
                error_message="",
                finished_at=None,
                fix_attempts=0,
                cancel_requested=False,
                deadline_at=timezone.now() + timedelta(hours=settings.ORCHESTRATION_DEADLINE_HOURS),
            )
    except IntegrityError:
        raise AlreadyExists(
            f"{orchestration.issue_key} has another active orchestration", advice="Cancel it first"
        ) from None
    orchestration.refresh_from_db()
    record(orchestration, "RETRY_REQUESTED", actor=actor, phase=failed.phase)
    schedule(orchestration, failed.phase, actor=actor)
    return OrchestrationControlResult(orchestration, "retry")


@transaction.atomic
@audited("orchestration.pause", lambda a: f"orchestration {a['orchestration_id']}")
def orchestration_pause(*, orchestration_id: int, actor: str) -> OrchestrationControlResult:
    """Nothing new starts while paused; a running phase finishes first (pause is seen at its end)."""
    orchestration = _get(orchestration_id)
    if orchestration.status not in (Status.PENDING, Status.RUNNING):
        raise Conflict(f"Orchestration {orchestration_id} is {orchestration.status}; only running ones pause")
    if _is_leased(orchestration):
        Orchestration.objects.filter(id=orchestration.id).update(pause_requested=True)
        record(orchestration, "PAUSE_REQUESTED", actor=actor)
    else:
        bump(orchestration, status=Status.PAUSED, pause_requested=False)
        record(orchestration, "PAUSED", actor=actor)
    orchestration.refresh_from_db()
    return OrchestrationControlResult(orchestration, "pause")


@transaction.atomic
@audited("orchestration.resume", lambda a: f"orchestration {a['orchestration_id']}")
def orchestration_resume(*, orchestration_id: int, actor: str) -> OrchestrationControlResult:
    orchestration = _get(orchestration_id)
    if orchestration.status == Status.PAUSED:
        bump(orchestration, status=Status.RUNNING, pause_requested=False, next_attempt_at=None)
        record(orchestration, "RESUMED", actor=actor, status=Status.RUNNING)
        enqueue(orchestration.id, orchestration.step)
    elif orchestration.pause_requested:
        Orchestration.objects.filter(id=orchestration.id).update(pause_requested=False)
        record(orchestration, "RESUMED", actor=actor, status=orchestration.status)
    else:
        raise Conflict(f"Orchestration {orchestration_id} is {orchestration.status}, not paused")
    orchestration.refresh_from_db()
    return OrchestrationControlResult(orchestration, "resume")
