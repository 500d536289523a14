"""Telemetry's one writer: read the runs a project finished since the last pass, apply the back-off rules
(``telemetry.ladder``) to its schedule through the sync controls, and tell people through notifications.

Each project is analysed in its own transaction holding its BackoffState row lock, and the state's
``last_run_id`` cursor moves in the same transaction as every effect, so a second pass over the same
history (a re-delivered task, two overlapping beats) finds nothing new and changes nothing. Every message
has an idempotency key derived from the episode, which the notification service never sends twice.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.codes import code_canonical
from core.errors import InvalidInput
from notifications import services as notifications
from sync.jira.errors import ADVICE, JiraErrorCode
from sync.models import Project, RunStatus, SyncJob
from sync.services import controls, schedules
from telemetry import ladder, selectors
from telemetry.models import BackoffState, ScheduleChange, SlowRun

logger = logging.getLogger(__name__)

SLOW_SYNC = "SLOW_SYNC"
RECOVERED = "RECOVERED"


@dataclass
class AnalysisSummary:
    projects: int = 0
    runs: int = 0
    climbs: int = 0
    alerts: int = 0
    recoveries: int = 0
    reminders: int = 0
    slow: int = 0
    errors: list[str] = field(default_factory=list)


def policy_from_settings() -> ladder.Policy:
    """The ladder and thresholds from the settings; ImproperlyConfigured names what is wrong and how to
    write it (also reported by ``manage.py check`` as telemetry.E001)."""
    crons = list(settings.TELEMETRY_BACKOFF_LADDER)
    if not crons:
        raise ImproperlyConfigured("TELEMETRY_BACKOFF_LADDER has no rungs: give ';'-separated crons")
    for number, cron in enumerate(crons, start=1):
        try:
            schedules.cron_validate(expression=cron)
        except InvalidInput as error:
            raise ImproperlyConfigured(
                f"TELEMETRY_BACKOFF_LADDER rung {number} '{cron}': {error.message} (separate rungs with ';')"
            ) from None
    thresholds = {}
    for item in settings.TELEMETRY_FAILURE_THRESHOLDS:
        code, _, value = item.partition("=")
        if not code.strip() or not value.strip().isdigit() or int(value) < 1:
            raise ImproperlyConfigured(
                f"TELEMETRY_FAILURE_THRESHOLDS item {item!r} is not CODE=N with N >= 1, "
                "e.g. SUSPENDED_PAYMENT=1,TOKEN_EXPIRED=1"
            )
        thresholds[code.strip().upper()] = int(value)  # old code names: ladder.Policy reads them
    if settings.TELEMETRY_FAILURE_THRESHOLD < 1:
        raise ImproperlyConfigured("TELEMETRY_FAILURE_THRESHOLD must be at least 1")
    return ladder.Policy(
        ladder=crons, default_threshold=settings.TELEMETRY_FAILURE_THRESHOLD, thresholds=thresholds
    )


def runs_analyse(*, now: datetime | None = None) -> AnalysisSummary:
    """One pass over every project with new terminal runs, then the reminders that fell due."""
    summary = AnalysisSummary()
    policy = policy_from_settings()
    for project_id in selectors.projects_with_new_runs():
        try:
            project_runs_analyse(project_id=project_id, policy=policy, summary=summary)
        except Exception as error:
            # One project's trouble (say, a ladder cron the controls reject) must not starve the others.
            logger.exception("telemetry: analysing project %s failed", project_id)
            summary.errors.append(f"project {project_id}: {error!r}")
    summary.reminders = reminders_send(now=now or timezone.now())
    return summary


def project_runs_analyse(
    *, project_id: int, policy: ladder.Policy, summary: AnalysisSummary | None = None
) -> AnalysisSummary:
    summary = summary if summary is not None else AnalysisSummary()
    with transaction.atomic():
        state = _locked_state(project_id)
        rows = selectors.runs_to_analyse(project_id=project_id, after_run_id=state.last_run_id)
        if not rows:
            return summary
        summary.projects += 1
        failed = [r["id"] for r in rows if r["status"] == RunStatus.FAILED]
        details = selectors.run_failure_details(run_ids=failed)
        needed = failed or state.level or state.consecutive_failures  # failures whose log is gone too
        schedule = _schedule_of(project_id) if needed else ladder.Schedule(cron="", effective_cron="")
        durations = _Durations(project_id)
        episode = _episode_of(state)
        for row in rows:
            summary.runs += 1
            if row["status"] == RunStatus.CANCELLED:
                continue
            outcome = _outcome(row, details.get(row["id"], {}))
            previous = episode.first_run_id
            episode, actions = ladder.advance(episode, outcome, policy=policy, schedule=schedule)
            if episode.first_run_id != previous:  # a new episode (or none): its alerts start afresh
                state.last_alert_at = None
                state.reminders_sent = 0
            for action in actions:
                schedule = _apply(
                    action,
                    state=state,
                    episode=episode,
                    run_id=row["id"],
                    details=details,
                    schedule=schedule,
                    summary=summary,
                )
            if outcome.succeeded and row["duration_ms"]:
                _check_slow(state.project, row, durations.before(row), summary)
        _store(state, episode, last_run_id=rows[-1]["id"])
    return summary


def _locked_state(project_id: int) -> BackoffState:
    states = BackoffState.objects.select_for_update().select_related("project__site")
    state = states.filter(project_id=project_id).first()
    if state is None:
        BackoffState.objects.bulk_create([BackoffState(project_id=project_id)], ignore_conflicts=True)
        state = states.get(project_id=project_id)
    return state


def _schedule_of(project_id: int) -> ladder.Schedule:
    job = SyncJob.objects.filter(project_id=project_id).first()
    if job is None:
        return ladder.Schedule(cron=settings.SYNC_DEFAULT_CRON, effective_cron="")
    return ladder.Schedule(cron=job.cron, effective_cron=job.effective_cron, time_zone=job.time_zone)


class _Durations:
    """The recent successful durations of each kind of run (full, incremental), read once per pass and
    rolled forward in memory as the pass reads newer runs."""

    def __init__(self, project_id: int) -> None:
        self.project_id = project_id
        self.window = settings.TELEMETRY_SLOW_WINDOW
        self.by_kind: dict[bool, deque[int]] = {}

    def before(self, row: dict[str, Any]) -> list[int]:
        """Durations before ``row`` (newest first), then ``row`` joins them."""
        kind = bool(row["full"])
        if kind not in self.by_kind:
            previous = selectors.run_durations_previous(
                project_id=self.project_id, before_run_id=row["id"], full=kind, limit=self.window
            )
            self.by_kind[kind] = deque(previous, maxlen=self.window)
        recent = self.by_kind[kind]
        result = list(recent)
        recent.appendleft(row["duration_ms"])
        return result


def _episode_of(state: BackoffState) -> ladder.Episode:
    return ladder.Episode(
        level=state.level,
        category=state.category,
        failures=state.consecutive_failures,
        first_run_id=state.episode_run_id,
        started_at=state.episode_started_at,
        last_failure_at=state.last_failure_at,
        alerted=state.alerted,
    )


def _store(state: BackoffState, episode: ladder.Episode, *, last_run_id: int) -> None:
    state.last_run_id = last_run_id
    state.level = episode.level
    state.category = episode.category
    state.consecutive_failures = episode.failures
    state.episode_run_id = episode.first_run_id
    state.episode_started_at = episode.started_at
    state.last_failure_at = episode.last_failure_at
    state.last_error_code = episode.category
    state.save()


def _outcome(row: dict[str, Any], details: dict[str, Any]) -> ladder.Outcome:
    retry_after = details.get("retry_after")
    return ladder.Outcome(
        run_id=row["id"],
        succeeded=row["status"] == RunStatus.SUCCEEDED,
        finished_at=row["finished_at"] or row["created_at"],
        # Canonical even for a run an older worker failed during the deploy that renamed the codes.
        code=code_canonical(row["error_code"] or str(details.get("code") or "UNKNOWN")),
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )


def _apply(
    action: ladder.Action,
    *,
    state: BackoffState,
    episode: ladder.Episode,
    run_id: int,
    details: dict[int, dict[str, Any]],
    schedule: ladder.Schedule,
    summary: AnalysisSummary,
) -> ladder.Schedule:
    project = state.project
    if isinstance(action, ladder.Climb):
        controls.effective_cron_set(project=project, cron=action.cron, reason=f"telemetry: {action.reason}")
        ScheduleChange.objects.create(
            project=project,
            level=action.level,
            cron=action.cron or "",
            category=episode.category,
            reason=action.reason,
            run_id=run_id,
        )
        logger.warning("telemetry: %s backed off to level %d (%s)", project, action.level, action.reason)
        summary.climbs += 1
        return ladder.Schedule(schedule.cron, action.cron or "", schedule.time_zone)
    if isinstance(action, ladder.Alert):
        advice = _advice(action.episode.category, details.get(run_id, {}))
        _notify_episode(project, action.episode, advice=advice, key_suffix="alert")
        state.last_alert_at = timezone.now()
        state.reminders_sent = 0
        summary.alerts += 1
        return schedule
    ended = action.episode
    if ended.level > 0:
        controls.effective_cron_set(project=project, cron=None, reason="telemetry: first successful run")
    ScheduleChange.objects.create(
        project=project,
        level=0,
        category=ended.category,
        reason=f"recovered after {ended.failures} {ended.category} failures",
        run_id=run_id,
    )
    notifications.message_publish(
        category=RECOVERED,
        subject=f"[Jira++] {project.key} on {project.site.name} recovered",
        text=(
            f"Syncs of {project.key} on {project.site.name} succeed again after {ended.failures} "
            f"{ended.category} failures. The operator's schedule ({schedule.cron}) is restored."
        ),
        facts=_facts(project, ended),
        link=_admin_link(project),
        idempotency_key=f"telemetry:{project.id}:episode:{ended.first_run_id}:recovered",
    )
    logger.info("telemetry: %s recovered from %s", project, ended.category)
    summary.recoveries += 1
    return ladder.Schedule(schedule.cron, "", schedule.time_zone)


def _check_slow(project: Project, row: dict[str, Any], previous: list[int], summary: AnalysisSummary) -> None:
    """SLOW_SYNC: far slower than the project's recent median, or Jira answering slowly throughout."""
    p50 = ladder.slow_median(
        row["duration_ms"],
        previous,
        factor=settings.TELEMETRY_SLOW_FACTOR,
        min_runs=settings.TELEMETRY_SLOW_MIN_RUNS,
        min_ms=settings.TELEMETRY_SLOW_MIN_MS,
    )
    latency = ladder.slow_jira_latency(
        row["jira_ms"], row["request_total"], threshold_ms=settings.TELEMETRY_SLOW_JIRA_MS
    )
    if p50 is None and latency is None:
        return
    _, created = SlowRun.objects.get_or_create(
        run_id=row["id"],
        defaults={
            "project": project,
            "duration_ms": row["duration_ms"],
            "median_ms": p50 or 0,
            "jira_ms_per_request": latency or 0,
        },
    )
    if not created:
        return
    summary.slow += 1
    seconds = row["duration_ms"] / 1000
    if p50 is not None:
        why = (
            f"{row['duration_ms'] / p50:.1f}x the median of its last {len(previous)} runs ({p50 / 1000:.1f}s)"
        )
    else:
        why = f"Jira took {latency} ms per request on average over {row['request_total']} requests"
    logger.warning("telemetry: %s: SLOW_SYNC run %s took %.1fs: %s", project, row["id"], seconds, why)
    if settings.TELEMETRY_SLOW_ALERTS:
        facts = {
            "project": project.key,
            "site": project.site.name,
            "category": SLOW_SYNC,
            "duration": f"{seconds:.1f}s",
        }
        if p50 is not None:
            facts["median"] = f"{p50 / 1000:.1f}s"
        if latency is not None:
            facts["jira latency"] = f"{latency} ms per request"
        notifications.message_publish(
            category=SLOW_SYNC,
            subject=f"[Jira++] {project.key} on {project.site.name}: slow sync",
            text=f"Run {row['id']} of {project.key} took {seconds:.1f}s: {why}.",
            facts=facts,
            link=_admin_link(project),
            idempotency_key=f"telemetry:{project.id}:slow:{row['id']}",
        )


def reminders_send(*, now: datetime) -> int:
    """Remind once per quiet period about episodes still open after their alert."""
    quiet = timedelta(hours=settings.TELEMETRY_REMINDER_HOURS)
    sent = 0
    for candidate in selectors.alerted_states_due(alerted_before=now - quiet):
        with transaction.atomic():
            state = (
                BackoffState.objects.select_for_update()
                .select_related("project__site")
                .filter(id=candidate.id, last_alert_at__lte=now - quiet, consecutive_failures__gt=0)
                .first()
            )
            if state is None:  # recovered or reminded by a concurrent pass
                continue
            episode = _episode_of(state)
            state.reminders_sent += 1
            _notify_episode(
                state.project,
                episode,
                advice=_advice(episode.category, {}),
                key_suffix=f"reminder:{state.reminders_sent}",
                reminder=True,
            )
            state.last_alert_at = now
            state.save(update_fields=["reminders_sent", "last_alert_at", "updated_at"])
            sent += 1
    return sent


def _notify_episode(
    project: Project, episode: ladder.Episode, *, advice: str, key_suffix: str, reminder: bool = False
) -> None:
    prefix = "Still failing: " if reminder else ""
    facts = {**_facts(project, episode), "advice": advice}
    notifications.message_publish(
        category=episode.category,
        subject=f"[Jira++] {prefix}{project.key} on {project.site.name}: {episode.category}",
        text="\n".join(
            [
                f"Syncs of {project.key} on {project.site.name} fail with {episode.category}.",
                *(f"{name}: {value}" for name, value in facts.items()),
                f"Admin: {_admin_link(project)}",
            ]
        ),
        facts=facts,
        link=_admin_link(project),
        idempotency_key=f"telemetry:{project.id}:episode:{episode.first_run_id}:{key_suffix}",
    )


def _facts(project: Project, episode: ladder.Episode) -> dict[str, str]:
    return {
        "project": project.key,
        "site": project.site.name,
        "category": episode.category,
        "failures": str(episode.failures),
        "first seen": _iso(episode.started_at),
        "last seen": _iso(episode.last_failure_at),
        "back-off level": str(episode.level),
    }


def _advice(code: str, details: dict[str, Any]) -> str:
    """The classifier's advice for this very error when the run logged one, else the code's advice."""
    logged = details.get("advice")
    if isinstance(logged, str) and logged:
        return logged
    code = code_canonical(code)
    if code in JiraErrorCode.__members__:
        return ADVICE[JiraErrorCode(code)]
    return "See the project's failed runs in the admin for the error and its details."


def _admin_link(project: Project) -> str:
    base = settings.TELEMETRY_ADMIN_BASE_URL.rstrip("/")
    return base + reverse("admin:sync_project_change", args=[project.id])


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""
