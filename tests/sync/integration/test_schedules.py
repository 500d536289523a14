"""Schedules on a REAL beat process (sync.beat.SyncScheduler) and a real worker.

Short ticks: beat and worker run with SYNC_CRON_SECONDS=*/3, a settings-driven seconds field appended to
every cron (tests only), so the real cron `* * * * *` ticks every 3 seconds of wall time. Nothing is
mocked or time-travelled: the scheduler, the tick messages and the database dedupe are the production ones.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from fakejira import FakeDataConfig
from sync.models import ACTIVE_RUN_STATUSES, SyncLog, SyncRun
from sync.services import controls
from tests.fixtures.receivers import wait_until
from tests.fixtures.sync import register, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TICK = "*/3"
EVERY_TICK = "* * * * *"
NEVER = "0 0 1 1 *"
SENT = "Sending due task sync project"  # not during a test run (unless it runs at new year's midnight)


@pytest.fixture
def short_ticks(settings):
    settings.SYNC_CRON_SECONDS = TICK


def tiny() -> FakeDataConfig:
    return FakeDataConfig(seed=5, projects={"ALPHA": 6}, users=5, worklog_feed_lag_seconds=0)


def scheduled(project, after: datetime | None = None):
    """Runs admitted for beat ticks (a run continuing one a pause stopped has no tick of its own)."""
    runs = SyncRun.objects.filter(
        project=project, trigger=SyncRun.Trigger.SCHEDULE, nominal_time__isnull=False
    )
    return runs.filter(nominal_time__gt=after) if after else runs


def settle(project) -> None:
    wait_until(
        lambda: not SyncRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).exists(),
        timeout=60,
        message="open runs to finish",
    )


@pytest.mark.faults  # also part of `make faults`: two beat processes, then beat down and back
def test_every_tick_runs_once_under_two_beats_and_once_to_catch_up_after_beat_was_down(
    fake_jira_factory, celery_processes, short_ticks
):
    (alpha,) = register(fake_jira_factory(tiny()), ["ALPHA"])
    controls.sync_reschedule(project=alpha, cron=EVERY_TICK)
    celery_processes.worker(SYNC_CRON_SECONDS=TICK)
    beats = [celery_processes.beat(SYNC_CRON_SECONDS=TICK) for _ in range(2)]

    wait_until(
        lambda: scheduled(alpha).count() >= 5 and min(b.log().count(SENT) for b in beats) >= 3,
        timeout=90,
        message="five ticks, at least three sent by each beat",
    )
    for beat in beats:
        beat.kill()  # no graceful sync of last_run_at: the worst case for beat's own memory
    settle(alpha)

    rows = list(scheduled(alpha).order_by("nominal_time"))
    nominals = [r.nominal_time for r in rows]
    assert nominals and all(n.second % 3 == 0 and n.microsecond == 0 for n in nominals)  # real fire times
    assert all(b - a == timedelta(seconds=3) for a, b in pairwise(nominals)), (
        nominals
    )  # none lost, none doubled
    sent = [beat.log().count(SENT) for beat in beats]
    assert min(sent) >= 3 and sum(sent) > len(rows), sent  # both beats ticked; the database kept one per slot
    outcomes = {(r.status, r.error_code) for r in rows}
    assert outcomes <= {("SUCCEEDED", ""), ("CANCELLED", "SKIPPED_OVERLAP")}, outcomes
    assert ("SUCCEEDED", "") in outcomes

    # Beat down for at least three slots, then back: one catch-up run, not one per missed slot.
    last_before = nominals[-1]
    time.sleep(10)
    celery_processes.beat(SYNC_CRON_SECONDS=TICK)
    wait_until(
        lambda: scheduled(alpha, after=last_before).count() >= 3,
        timeout=30,
        message="ticks after the restart",
    )

    after = [r.nominal_time for r in scheduled(alpha, after=last_before).order_by("nominal_time")]
    gap = after[0] - last_before
    assert gap >= timedelta(seconds=9), "missed slots were replayed one by one"
    assert all(b - a == timedelta(seconds=3) for a, b in pairwise(after)), after
    catch_up = scheduled(alpha).get(nominal_time=after[0])
    log = SyncLog.objects.get(run=catch_up, level="WARNING", message__startswith="Catching up once")
    assert log.details["missed"] == gap // timedelta(seconds=3) - 1


def test_pause_resume_reschedule_and_start_steer_a_running_beat_without_restarting_it(
    fake_jira_factory, celery_processes, short_ticks
):
    (alpha,) = register(fake_jira_factory(tiny()), ["ALPHA"])
    controls.sync_reschedule(project=alpha, cron=EVERY_TICK)
    celery_processes.worker(SYNC_CRON_SECONDS=TICK)
    beat = celery_processes.beat(SYNC_CRON_SECONDS=TICK)
    wait_until(lambda: scheduled(alpha).count() >= 2, timeout=60, message="two ticks")

    controls.sync_pause(project=alpha, note="test", actor="tester")
    paused_at, before = timezone.now(), scheduled(alpha).count()
    time.sleep(7)  # two slots and more: a window in which nothing may start
    assert scheduled(alpha).count() == before, "a paused schedule started a run"
    settle(alpha)

    # Taken before the call: a slot due between the resume and its return counts as after it.
    resumed_at = timezone.now()
    controls.sync_resume(project=alpha, actor="tester")
    wait_until(lambda: scheduled(alpha, after=resumed_at).exists(), timeout=30, message="a tick after resume")
    assert scheduled(alpha).count() == before + scheduled(alpha, after=resumed_at).count()
    assert not scheduled(alpha, after=paused_at).filter(nominal_time__lte=resumed_at).exists(), (
        "resume fired a slot that passed while paused"
    )

    controls.sync_reschedule(project=alpha, cron=NEVER, actor="tester")
    rescheduled_at = timezone.now()
    time.sleep(7)
    assert not scheduled(alpha, after=rescheduled_at).exists(), "the old cron still ticks"
    settle(alpha)

    controls.sync_pause(project=alpha)
    started = timezone.now()
    request = controls.sync_start(project=alpha, actor="tester")
    assert request.run is not None
    assert request.run_created and request.run.created_at >= started
    assert wait_for_run(request.run.id, 60).status == "SUCCEEDED"
    assert beat.proc.poll() is None and "Sending due task" in beat.log()
