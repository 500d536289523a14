"""Per-project cron schedules on django-celery-beat: beat is only the clock, the SyncJob holds the intent.

Each project gets its own CrontabSchedule row, so editing or deleting one never touches another project
(a shared row would cascade). Changes go through model saves, which bump beat's change marker.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from croniter import croniter
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from sync.models import SyncJob
from sync.services.errors import InvalidInput

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


def validate_cron(expression: str) -> str:
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


def next_fire(expression: str, after: datetime | None = None) -> datetime:
    fire: datetime = croniter(expression, after or timezone.now()).get_next(datetime)
    return fire


def _task_name(job: SyncJob) -> str:
    return f"sync project {job.project.site_id}:{job.project.key}"


def install(job: SyncJob) -> PeriodicTask:
    """Create or update the beat entry that ticks this project's schedule."""
    minute, hour, day_of_month, month, day_of_week = (job.effective_cron or job.cron).split()
    task = job.periodic_task
    if task is None:
        crontab = CrontabSchedule.objects.create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
            timezone=job.time_zone,
        )
        task = PeriodicTask.objects.create(
            name=_task_name(job),
            task="sync.scheduled_tick",
            crontab=crontab,
            args=json.dumps([job.project_id]),
            queue="sync",
            enabled=job.status != SyncJob.Status.PAUSED,
        )
        job.periodic_task = task
    job.next_run_at = next_fire(job.effective_cron or job.cron)
    job.save(update_fields=["periodic_task", "next_run_at", "updated_at"])
    return task
