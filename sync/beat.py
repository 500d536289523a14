"""django-celery-beat's DatabaseScheduler, with project schedules evaluated by our own cron clock.

Beat stays only the clock: what ran and what is due lives in the database, because beat keeps no durable
state of its own and a second beat must not double a run. For the project ticks (``sync.scheduled_tick``)
this scheduler:
- fires a slot only if it is later than both beat's ``last_run_at`` and the entry's ``start_time``, which
  the schedule service sets to the moment of every change (pause, resume, reschedule, back-off): a resume
  or a reschedule never fires a slot that passed before it, and after beat was down only the latest missed
  slot fires (at most one catch-up run);
- sends the slot's nominal fire time with the tick, so every beat process (or redelivery) of one slot
  names the same (project, nominal time) and the database admits it once.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from celery.schedules import BaseSchedule, schedstate
from celery.utils.time import maybe_make_aware
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from core import heartbeat
from sync import task_names
from sync.services import schedules

logger = logging.getLogger(__name__)
TICK_TASK = task_names.SCHEDULED_TICK
HEARTBEAT = "beat"  # recorded as beat ticks, read by the system status
HEARTBEAT_EVERY = 5.0  # seconds: beat may tick many times a second when much is due


class CronClock(BaseSchedule):
    def __init__(self, expression: str, time_zone: str) -> None:
        super().__init__()
        self.expression = expression
        self.time_zone = time_zone

    def last_fire(self, now: datetime | None = None) -> datetime:
        return schedules.cron_previous_fire(expression=self.expression, at=now, time_zone=self.time_zone)

    def remaining_estimate(self, last_run_at: datetime) -> Any:
        now = timezone.now()
        return schedules.cron_next_fire(expression=self.expression, after=now, time_zone=self.time_zone) - now

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = timezone.now()
        due = self.last_fire(now) > maybe_make_aware(last_run_at)
        wait = (
            schedules.cron_next_fire(expression=self.expression, after=now, time_zone=self.time_zone) - now
        ).total_seconds()
        return schedstate(due, max(wait, 0.01))

    def __repr__(self) -> str:
        return f"<cron {self.expression} {self.time_zone}>"


class SyncEntry(ModelEntry):
    def __init__(self, model: Any, app: Any = None) -> None:
        super().__init__(model, app=app)
        crontab = model.crontab if model.task == TICK_TASK else None
        if crontab is not None:
            self.schedule = CronClock(
                " ".join(
                    [
                        crontab.minute,
                        crontab.hour,
                        crontab.day_of_month,
                        crontab.month_of_year,
                        crontab.day_of_week,
                    ]
                ),
                str(crontab.timezone),
            )

    def is_due(self) -> schedstate:
        if not isinstance(self.schedule, CronClock):
            return super().is_due()
        if not self.model.enabled:
            return schedstate(False, 5.0)
        anchors = [maybe_make_aware(d) for d in (self.last_run_at, self.model.start_time) if d is not None]
        return self.schedule.is_due(max(anchors, default=timezone.now()))


class SyncScheduler(DatabaseScheduler):
    Entry = SyncEntry
    _heartbeat_at = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        # Beat writes last_run_at to the database only every few minutes: a heartbeat says "alive" sooner.
        interval: float = super().tick(*args, **kwargs)
        if time.monotonic() - self._heartbeat_at >= HEARTBEAT_EVERY:
            try:
                heartbeat.record(HEARTBEAT)
            except Exception:  # the cache being down must not stop the clock
                logger.warning("beat: could not record its heartbeat", exc_info=True)
            self._heartbeat_at = time.monotonic()
        return interval

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        if isinstance(entry.schedule, CronClock):
            entry.kwargs = {**entry.kwargs, "nominal": entry.schedule.last_fire().isoformat()}
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
