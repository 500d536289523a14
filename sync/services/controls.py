"""The one way to steer a project's sync: start, pause, resume, reschedule, trigger, cancel, tracked users,
and telemetry's back-off cron. Admin, GraphQL, REST, commands and telemetry all call these functions.

Each control is one transaction: the SyncJob row is locked, changed, the beat entry re-installed
(schedules.schedule_install), and a SyncLog line records who did what. Controls that start runs or resume the
schedule first prove the site's credentials still work, so a broken site is refused with Jira's
classified error before anything changes.

Every control returns one ``SyncControlResult``, so each face (admin, GraphQL, REST, commands) renders
the same fields instead of re-shaping a job, a run request or a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.audit.trail import audited
from core.errors import Conflict, InvalidInput, NotFound, ServiceError
from sync.jira.errors import JiraError, JiraErrorCode
from sync.models import (
    ACTIVE_RUN_STATUSES,
    Issue,
    JiraUser,
    Project,
    ProjectTrackedUser,
    SyncJob,
    SyncLog,
    SyncRun,
)
from sync.services import runs, schedules, scope, sites

# Jira answers that no retry fixes: the site needs a person before syncs can run.
_BROKEN_SITE_CODES = frozenset(
    {
        JiraErrorCode.AUTH_FAILED,
        JiraErrorCode.TOKEN_EXPIRED,
        JiraErrorCode.FORBIDDEN,
        JiraErrorCode.SUSPENDED_PAYMENT,
        JiraErrorCode.SUSPENDED_INACTIVITY,
        JiraErrorCode.SITE_DEACTIVATED,
    }
)


@dataclass(frozen=True)
class SyncControlResult:
    """What one control did to a project: its job as the control left it, the run it started or joined
    (``run_created`` False when it joined the active one), and for tracked users the accounts changed."""

    project: Project
    action: str
    job: SyncJob
    run: SyncRun | None = None
    run_created: bool | None = None
    removed: int | None = None
    added: tuple[str, ...] = ()

    @property
    def project_key(self) -> str:
        return self.project.key

    @property
    def run_id(self) -> int | None:
        return None if self.run is None else self.run.id


def _with_run(project: Project, action: str, job: SyncJob, request: runs.SyncRequest) -> SyncControlResult:
    return SyncControlResult(project, action, job, run=request.run, run_created=request.created)


class SiteUnavailable(ServiceError):
    """The project's Jira site refuses our credentials (code is Jira's classified code)."""

    code = "SITE_UNAVAILABLE"


class Busy(ServiceError):
    code = "RUN_IN_PROGRESS"


def _check_site(project: Project) -> None:
    """One cheap authenticated call; transient failures (network, 5xx, 429) don't block a control."""
    try:
        with sites.site_client(site=project.site) as client:
            client.myself()
    except JiraError as error:
        if error.code in _BROKEN_SITE_CODES:
            raise SiteUnavailable(
                f"Site '{project.site.name}' of project {project.key} refuses our credentials: "
                f"{error.message}",
                code=str(error.code),
                advice=error.advice,
                field="site",
            ) from None


def _registered(job: SyncJob) -> SyncJob:
    if job.status == SyncJob.Status.UNREGISTERED:
        raise Conflict(
            f"Project {job.project.key} is unregistered: its data is kept, nothing syncs it",
            field="project",
            advice="Register the project again to sync it",
        )
    return job


def _locked_job(project: Project, *, registered: bool = True) -> SyncJob:
    try:
        job = (
            SyncJob.objects.select_for_update(of=("self",))
            .select_related("project", "periodic_task__crontab")
            .get(project=project)
        )
    except SyncJob.DoesNotExist:
        raise NotFound(f"Project {project.key} has no sync job", field="project") from None
    return _registered(job) if registered else job


def _audit(project: Project, message: str, **details: object) -> None:
    SyncLog.objects.create(project=project, level=SyncLog.Level.INFO, message=message, details=details)


def _save_and_install(job: SyncJob, *fields: str) -> None:
    job.save(update_fields=[*fields, "updated_at"])
    schedules.schedule_install(job=job)


def _resume(job: SyncJob, actor: str) -> None:
    if job.status == SyncJob.Status.PAUSED:
        job.status = SyncJob.Status.ACTIVE
    job.paused_note, job.paused_by, job.paused_at = "", "", None
    _save_and_install(job, "status", "paused_note", "paused_by", "paused_at")
    _audit(job.project, f"Schedule resumed by {actor or 'unknown'}", actor=actor)
    runs.continue_parked(project=job.project)


@audited("sync.pause", lambda a: f"project {a['project'].key}")
def sync_pause(*, project: Project, note: str = "", actor: str = "") -> SyncControlResult:
    """Stop scheduled runs (manual triggers still work); the beat entry is disabled, the cron kept.
    A run in flight stops at its next step boundary and continues from there on resume."""
    with transaction.atomic():
        job = _locked_job(project)
        job.status = SyncJob.Status.PAUSED
        job.paused_note, job.paused_by, job.paused_at = note, actor, timezone.now()
        _save_and_install(job, "status", "paused_note", "paused_by", "paused_at")
        _audit(
            project, f"Schedule paused by {actor or 'unknown'}" + (f": {note}" if note else ""), actor=actor
        )
    return SyncControlResult(project, "pause", job)


@audited("sync.resume", lambda a: f"project {a['project'].key}")
def sync_resume(*, project: Project, actor: str = "") -> SyncControlResult:
    """Scheduled runs again from the next slot; slots missed while paused never fire. The only run it
    starts is the continuation of one the pause stopped mid-way."""
    _check_site(project)
    with transaction.atomic():
        job = _locked_job(project)
        _resume(job, actor)
    return SyncControlResult(project, "resume", job)


@audited("sync.start", lambda a: f"project {a['project'].key}")
def sync_start(
    *, project: Project, full: bool = False, actor: str = "", trigger: str = SyncRun.Trigger.MANUAL
) -> SyncControlResult:
    """Resume the schedule and run a sync now (coalesced with an active run)."""
    _check_site(project)
    with transaction.atomic():
        job = _locked_job(project)
        _resume(job, actor)
        return _with_run(
            project, "start", job, runs.request_sync(project=project, full=full, trigger=trigger)
        )


@audited("sync.reschedule", lambda a: f"project {a['project'].key}")
def sync_reschedule(*, project: Project, cron: str, actor: str = "") -> SyncControlResult:
    """Store a validated cron; beat uses it within seconds, from the next slot after now."""
    expression = schedules.cron_validate(expression=cron)
    with transaction.atomic():
        job = _locked_job(project)
        previous, job.cron = job.cron, expression
        _save_and_install(job, "cron")
        _audit(
            project,
            f"Schedule changed from '{previous}' to '{expression}' by {actor or 'unknown'}",
            actor=actor,
            previous=previous,
            cron=expression,
        )
    return SyncControlResult(project, "reschedule", job)


@audited("sync.trigger", lambda a: f"project {a['project'].key}")
def sync_trigger(
    *,
    project: Project,
    full: bool = False,
    account_ids: Sequence[str] = (),
    actor: str = "",
    trigger: str = SyncRun.Trigger.MANUAL,
) -> SyncControlResult:
    """One run outside the schedule, paused or not; joins the project's active run if there is one."""
    job = _job(project)
    _check_site(project)
    request = runs.request_sync(
        project=project, full=full, account_ids=_clean_ids(account_ids), trigger=trigger
    )
    return _with_run(project, "trigger", job, request)


def _job(project: Project) -> SyncJob:
    try:
        return _registered(SyncJob.objects.select_related("project").get(project=project))
    except SyncJob.DoesNotExist:
        raise NotFound(f"Project {project.key} has no sync job", field="project") from None


def _clean_ids(account_ids: Sequence[str]) -> list[str]:
    if any(not a or not a.strip() for a in account_ids):
        raise InvalidInput("Account ids must not be empty", field="account_ids")
    return sorted({a.strip() for a in account_ids})


@audited("tracked_users.add", lambda a: f"project {a['project'].key}")
def tracked_users_add(*, project: Project, account_ids: Sequence[str], actor: str = "") -> SyncControlResult:
    """Track more accounts and backfill them: one full-history run limited to the newly tracked ones.

    No run (and nothing added) when every account was already tracked. Refused (nothing changed)
    while a run is open, because that run's scope was fixed when it started and would miss the new accounts.
    """
    ids = _clean_ids(account_ids)
    if not ids:
        raise InvalidInput("Give at least one account id to track", field="account_ids")
    _check_site(project)
    with transaction.atomic():
        job = _locked_job(project)  # serialises with other controls of this project
        active = SyncRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None:
            raise Busy(
                f"Project {project.key} has run {active.id} in progress",
                field="account_ids",
                advice="Add the tracked users once it finishes, so their backfill covers them.",
            )
        added = []
        for account_id in ids:
            user, _ = JiraUser.objects.get_or_create(site=project.site, account_id=account_id)
            link, created = ProjectTrackedUser.objects.get_or_create(project=project, user=user)
            if created or not link.is_tracked:
                ProjectTrackedUser.objects.filter(id=link.id).update(is_tracked=True)
                added.append(account_id)
        if not added:
            return SyncControlResult(project, "track", job)
        _audit(project, f"Tracking {', '.join(added)} (by {actor or 'unknown'})", actor=actor, added=added)
        request = runs.request_sync(
            project=project, full=True, account_ids=added, trigger=SyncRun.Trigger.BACKFILL
        )
    return SyncControlResult(
        project, "track", job, run=request.run, run_created=request.created, added=tuple(added)
    )


@audited("tracked_users.remove", lambda a: f"project {a['project'].key}")
def tracked_users_remove(
    *, project: Project, account_ids: Sequence[str], purge: bool = False, actor: str = ""
) -> SyncControlResult:
    """Stop syncing these accounts' issues; ``removed`` counts the accounts untracked.

    Stored issues stay unless ``purge``: then the project's issues a removed account is assigned to,
    reported or logged work on are deleted, except those a still-tracked account keeps in scope. With no
    tracked account left the project syncs all its issues again, so nothing is purged.
    """
    ids = _clean_ids(account_ids)
    if not ids:
        raise InvalidInput("Give at least one account id to stop tracking", field="account_ids")
    with transaction.atomic():
        job = _locked_job(project)
        links = ProjectTrackedUser.objects.filter(project=project, user__account_id__in=ids, is_tracked=True)
        removed = links.update(is_tracked=False)
        purged = 0
        if purge:
            remaining = scope.tracked_account_ids(project=project)
            if remaining:
                issues = Issue.objects.filter(project=project)
                kept = scope.stored_in_scope(issues, remaining).values("id")
                doomed = scope.stored_in_scope(issues, ids).exclude(id__in=kept)
                purged = doomed.count()
                doomed.delete()
        _audit(
            project,
            f"Stopped tracking {removed} account(s) (by {actor or 'unknown'})"
            + (f"; purged {purged} issue(s)" if purge else ""),
            actor=actor,
            removed=ids,
            purged=purged,
        )
    return SyncControlResult(project, "untrack", job, removed=removed)


def tracked_users_set(
    *, project: Project, account_ids: Sequence[str], purge: bool = False, actor: str = ""
) -> SyncControlResult:
    """Make the project track exactly these accounts: untrack the others (``purge`` deletes their
    issues), then track and backfill the new ones. An empty list tracks nobody: every issue syncs."""
    wanted = set(_clean_ids(account_ids))
    tracked = set(
        ProjectTrackedUser.objects.filter(project=project, is_tracked=True).values_list(
            "user__account_id", flat=True
        )
    )
    removed, added = sorted(tracked - wanted), sorted(wanted - tracked)
    result = SyncControlResult(project, "set_tracked", _job(project), removed=0)
    if removed:
        untracked = tracked_users_remove(project=project, account_ids=removed, purge=purge, actor=actor)
        result = SyncControlResult(project, "set_tracked", untracked.job, removed=untracked.removed)
    if added:
        backfill = tracked_users_add(project=project, account_ids=added, actor=actor)
        return SyncControlResult(
            project,
            "set_tracked",
            backfill.job,
            run=backfill.run,
            run_created=backfill.run_created,
            removed=result.removed,
            added=backfill.added,
        )
    return result


@audited("sync.cancel", lambda a: f"project {a['project'].key}" if a.get("project") else f"run {a['run'].id}")
def sync_cancel(
    *, project: Project | None = None, run: SyncRun | None = None, actor: str = "", note: str = ""
) -> SyncControlResult:
    """Cancel the project's queued or running sync (or this run): it ends CANCELLED, with who cancelled
    it, at its next step boundary; batches it committed stay and no cursor moves, so the next run starts
    from the same cursors. The schedule is unchanged. Conflict when no run is open."""
    if run is not None:
        project = run.project
    if project is None:
        raise InvalidInput("Give the project or the run to cancel", field="project")
    with transaction.atomic():
        job = _locked_job(project)  # serialises with the project's other controls
        cancelled = runs.cancel_request(
            project=project, run_id=None if run is None else run.id, actor=actor, note=note
        )
    return SyncControlResult(project, "cancel", job, run=cancelled, run_created=False)


def effective_cron_set(*, project: Project, cron: str | None, reason: str) -> SyncJob:
    """Telemetry's back-off: a cron that overrides the operator's on the beat entry; None restores it.

    The operator's cron stays in SyncJob.cron; beat picks the change up within seconds.
    """
    expression = schedules.cron_validate(expression=cron) if cron else ""
    with transaction.atomic():
        job = _locked_job(project, registered=False)
        if job.effective_cron == expression or job.status == SyncJob.Status.UNREGISTERED:
            return job
        job.effective_cron = expression
        _save_and_install(job, "effective_cron")
        _audit(
            project,
            f"Effective schedule set to '{expression or job.cron}': {reason}",
            effective_cron=expression,
            reason=reason,
        )
    return job
