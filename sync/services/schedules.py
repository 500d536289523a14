"""Per-project cron schedules on django-celery-beat: beat is only the clock, the SyncJob holds the intent.

Each project gets its own CrontabSchedule row, so editing or deleting one never touches another project
(a shared row would cascade). Changes go through model saves, which bump beat's change marker.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import Options as CronOptions
from cron_descriptor import get_description
from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.errors import InvalidInput
from sync import task_names
from sync.models import ACTIVE_RUN_STATUSES, RunStatus, SyncJob, SyncLog, SyncRun
from sync.services import runs

logger = logging.getLogger(__name__)

_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i
            for i, m in enumerate(
                ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
            )
        },
    ),
    ("day-of-week", 0, 7, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}),
)
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


def _value(token: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    number = names.get(token) if token in names else int(token) if token.isdigit() else None
    if number is None:
        raise InvalidInput(f"{name} field '{token}' is not a number", field="cron")
    if not low <= number <= high:
        raise InvalidInput(f"{name} field '{token}' is out of range {low}-{high}", field="cron")
    return number


def cron_validate(*, expression: str) -> str:
    """Return the normalised expression or raise InvalidInput naming the bad field."""
    parts = expression.lower().split()
    if len(parts) != len(_FIELDS):
        raise InvalidInput(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: '{expression}'",
            field="cron",
        )
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            match = _ITEM.match(item)
            if not match:
                raise InvalidInput(f"{name} field '{item}' is not valid cron syntax", field="cron")
            body, step = match.groups()
            if step is not None and int(step) == 0:
                raise InvalidInput(f"{name} field '{item}' has a zero step", field="cron")
            if body != "*":
                bounds = [_value(t, name, low, high, names) for t in body.split("-")]
                if len(bounds) == 2 and bounds[0] > bounds[1]:
                    raise InvalidInput(f"{name} field '{item}' is a reversed range", field="cron")
    return " ".join(parts)


def _clock_expression(expression: str) -> str:
    """The cron as croniter reads it: ours has minute granularity; SYNC_CRON_SECONDS (tests only) adds a
    seconds field so a ``* * * * *`` schedule ticks every few seconds instead of every minute."""
    seconds = settings.SYNC_CRON_SECONDS
    return expression if seconds == "0" else f"{expression} {seconds}"


def _zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"'{time_zone}' is not a time zone name", field="time_zone") from None


def _repeated_wall_time(fire: datetime, expression: str, zone: ZoneInfo) -> bool:
    """True for the second pass of a wall time that DST repeats (autumn), when the cron names its hours.

    Like cron, a job at a fixed local time (``30 2 * * *``) runs once on the day 02:30 happens twice;
    an every-hour job (``15 * * * *``) keeps running every real hour.
    """
    if expression.split()[1] == "*":
        return False
    local = fire.astimezone(zone)
    first_pass = local.replace(fold=0).astimezone(UTC)
    return first_pass != local.replace(fold=1).astimezone(UTC) and fire.astimezone(UTC) != first_pass


def _fire(expression: str, start: datetime, time_zone: str, *, forward: bool) -> datetime:
    zone = _zone(time_zone)
    clock = croniter(_clock_expression(expression), start.astimezone(zone))
    while True:
        fire: datetime = clock.get_next(datetime) if forward else clock.get_prev(datetime)
        if not _repeated_wall_time(fire, expression, zone):
            return fire.astimezone(UTC)


def cron_next_fire(*, expression: str, after: datetime | None = None, time_zone: str = "UTC") -> datetime:
    """First fire time strictly after ``after`` (default now), evaluated in the schedule's zone."""
    return _fire(expression, after or timezone.now(), time_zone, forward=True)


def cron_previous_fire(*, expression: str, at: datetime | None = None, time_zone: str = "UTC") -> datetime:
    """The latest fire time at or before ``at``: the nominal time of the tick due then."""
    return _fire(expression, (at or timezone.now()) + timedelta(microseconds=1), time_zone, forward=False)


def cron_upcoming(*, expression: str, count: int = 5, time_zone: str = "UTC") -> list[datetime]:
    """The next ``count`` fire times of a valid expression (the admin's preview)."""
    fires, after = [], timezone.now()
    for _ in range(count):
        after = cron_next_fire(expression=expression, after=after, time_zone=time_zone)
        fires.append(after)
    return fires


def cron_describe(*, expression: str) -> str:
    """A person's reading of a cron, e.g. "Every 15 minutes"; the expression itself if it cannot."""
    try:
        return str(get_description(expression, CronOptions()))
    except Exception:  # a description is a courtesy; the expression is always shown beside it
        return expression


def schedule_install(*, job: SyncJob) -> PeriodicTask:
    """Create or update, in place, the beat entry that ticks this project's schedule.

    The project's own CrontabSchedule row is edited (never shared, never deleted and recreated), and the
    PeriodicTask is saved so beat sees the change within its max loop interval. ``start_time`` anchors the
    schedule at this change: beat (sync.beat) fires only slots after it, so a reschedule or resume never
    fires a slot that passed before it (no double fire at the switch, no run on resume).
    """
    expression = job.active_cron
    minute, hour, day_of_month, month, day_of_week = expression.split()
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month,
        "day_of_week": day_of_week,
        "timezone": _zone(job.time_zone),
    }
    now = timezone.now()
    task = job.periodic_task
    if task is None:
        task = PeriodicTask(
            name=job.schedule_id,  # no task yet: the name the job reports as its scheduleId
            task=task_names.SCHEDULED_TICK,
            args=json.dumps([job.project_id]),
            queue="sync",
        )
    if task.crontab is None:
        task.crontab = CrontabSchedule.objects.create(**fields)
    else:
        for name, value in fields.items():
            setattr(task.crontab, name, value)
        task.crontab.save()
    paused = job.status == SyncJob.Status.PAUSED
    task.enabled = not paused
    task.start_time = now
    task.last_run_at = None if paused else now
    task.save()
    job.periodic_task = task
    job.next_run_at = (
        None if paused else cron_next_fire(expression=expression, after=now, time_zone=job.time_zone)
    )
    job.save(update_fields=["periodic_task", "next_run_at", "updated_at"])
    return task


SKIPPED_OVERLAP = "SKIPPED_OVERLAP"
_NOT_TICKING = (SyncJob.Status.PAUSED, SyncJob.Status.UNREGISTERED)
_CATCH_UP_COUNT_LIMIT = 10_000


def _missed_ticks(expression: str, time_zone: str, since: datetime, nominal: datetime) -> int:
    """Slots strictly between ``since`` and ``nominal`` that never got a tick (beat was down)."""
    missed, fire = 0, cron_next_fire(expression=expression, after=since, time_zone=time_zone)
    while fire < nominal and missed < _CATCH_UP_COUNT_LIMIT:
        missed, fire = missed + 1, cron_next_fire(expression=expression, after=fire, time_zone=time_zone)
    return missed


def tick_admit(*, project_id: int, nominal: datetime | None = None) -> SyncRun | None:
    """Admit one scheduled tick; at most one SyncRun ever exists per (project, nominal fire time).

    Overlap policy is *skip*: a tick while the project's previous run is open is recorded as a CANCELLED
    run with code SKIPPED_OVERLAP (its nominal time is taken, so duplicates of it are refused too) and
    no run starts. A tick whose slot is already admitted (a second beat, a redelivered message) does
    nothing. Returns the run that was admitted or recorded, None for a duplicate or a paused project.
    """
    job = SyncJob.objects.select_related("project", "periodic_task").filter(project_id=project_id).first()
    if job is None or job.status in _NOT_TICKING:  # beat may tick once more before it reloads
        return None
    expression = job.active_cron
    nominal = nominal or cron_previous_fire(expression=expression, time_zone=job.time_zone)
    anchor = _anchor(job)
    if (anchor is not None and nominal < anchor) or cron_previous_fire(
        expression=expression, at=nominal, time_zone=job.time_zone
    ) != nominal:
        # Sent by a beat that had not yet reloaded a change made since: not a slot of the schedule now.
        logger.info("dropped a stale tick of project %s for %s", project_id, nominal.isoformat())
        return None
    ticks = SyncRun.objects.filter(project_id=project_id, nominal_time__isnull=False)
    if ticks.filter(nominal_time=nominal).exists():  # the common duplicate: no write, no transaction
        return None
    with transaction.atomic():
        # The row lock this UPDATE takes serialises the tick with a concurrent pause (which locks the job
        # too): a pause committed meanwhile makes it match nothing, and the tick is dropped.
        next_run_at = cron_next_fire(
            expression=expression, after=max(nominal, timezone.now()), time_zone=job.time_zone
        )
        live = SyncJob.objects.filter(id=job.id).exclude(status__in=_NOT_TICKING)
        if not live.update(next_run_at=next_run_at):
            return None
        active = SyncRun.objects.filter(project_id=project_id, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None:
            try:
                with transaction.atomic():
                    return SyncRun.objects.create(
                        project_id=project_id,
                        trigger=SyncRun.Trigger.SCHEDULE,
                        nominal_time=nominal,
                        status=RunStatus.CANCELLED,
                        step="skipped",
                        error_code=SKIPPED_OVERLAP,
                        error_message=f"Tick skipped: run {active.id} was still open",
                        finished_at=timezone.now(),
                    )
            except IntegrityError:
                return None
        since = max(
            [t for t in (ticks.aggregate(last=Max("nominal_time"))["last"], anchor) if t is not None],
            default=nominal,
        )
        request = runs.request_sync(
            project=job.project, trigger=SyncRun.Trigger.SCHEDULE, nominal_time=nominal
        )
        if not request.created:
            return None
        missed = _missed_ticks(expression, job.time_zone, since, nominal)
        if missed:
            runs.log(
                request.run,
                SyncLog.Level.WARNING,
                f"Catching up once for {missed} tick(s) missed while beat was down",
                missed=missed,
                since=since.isoformat(),
            )
        return request.run


def _anchor(job: SyncJob) -> datetime | None:
    """When the schedule last changed (schedule_install sets it); slots before it were never due."""
    return job.periodic_task.start_time if job.periodic_task else None
