"""A site that cannot succeed, under a real beat: scheduled runs fail classified without retrying, telemetry
backs the schedule off and alerts once, and the first success restores everything."""

from __future__ import annotations

import time

import pytest

from fakejira import Fault
from notifications.models import Notification, Route
from notifications.services import route_defaults_install
from sync.models import SyncJob, SyncRun
from sync.services import controls, runs
from telemetry.models import BackoffState
from tests.faults.invariants import assert_invariants, cursors, wait_until_quiet
from tests.faults.test_sync_faults import data
from tests.fixtures.receivers import wait_until
from tests.fixtures.sync import register, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# Every-2-second ticks for "* * * * *"; telemetry every second; rungs that cannot fire during a test.
FAST = {
    "SYNC_CRON_SECONDS": "*/2",
    "TELEMETRY_ANALYSE_INTERVAL": "1",
    "TELEMETRY_BACKOFF_LADDER": "0 0 1 1 *;0 0 2 1 *;0 0 3 1 *",
}


def level(project) -> int:
    state = BackoffState.objects.filter(project=project).first()
    return state.level if state else 0


def test_an_expired_token_for_several_ticks_backs_off_alerts_once_and_recovery_restores_the_cron(
    fake_jira_factory, celery_processes
):
    route_defaults_install()
    celery_processes.worker(**FAST)
    fake = fake_jira_factory(data(ALPHA=60))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"  # the credentials have worked once
    controls.sync_reschedule(project=alpha, cron="* * * * *")
    fake.add_fault(Fault(kind="expired_token", times=None))
    fake.reset_counters()
    celery_processes.beat(**FAST)

    wait_until(lambda: level(alpha) >= 1, timeout=60, message="telemetry to back the schedule off")
    job = SyncJob.objects.get(project=alpha)
    # A tick already in flight when the back-off landed may fail too and climb one rung more.
    rungs = FAST["TELEMETRY_BACKOFF_LADDER"].split(";")
    assert (
        job.effective_cron in rungs[: level(alpha)] and job.cron == "* * * * *"
    )  # the operator's cron is kept
    scheduled = SyncRun.objects.filter(project=alpha, trigger="schedule")
    ticks_at_backoff = scheduled.count()
    time.sleep(6)  # three ticks' worth of the old schedule
    assert scheduled.count() <= ticks_at_backoff + 1, "ticks went on after the back-off"
    for _ in range(2):  # further failures (manual triggers still work) climb without more alerts
        wait_for_run(run_now(alpha))
    wait_until(lambda: level(alpha) >= 3, timeout=30, message="the ladder to climb to the top rung")

    failed = SyncRun.objects.filter(project=alpha, status="FAILED")
    assert set(failed.values_list("error_code", flat=True)) == {"TOKEN_EXPIRED"}
    assert fake.request_count() <= 3 * failed.count(), "permanent failures must not be retried"
    routes = Route.objects.filter(category="TOKEN_EXPIRED", enabled=True).count()
    assert Notification.objects.filter(category="TOKEN_EXPIRED").count() == routes  # one alert, fanned out

    fake.clear_faults()
    before = cursors([alpha])
    assert wait_for_run(run_now(alpha)).status == "SUCCEEDED"
    wait_until(lambda: level(alpha) == 0, timeout=30, message="recovery to restore the operator's cron")

    assert SyncJob.objects.get(project=alpha).effective_cron == ""
    assert (
        Notification.objects.filter(category="RECOVERED").count()
        == Route.objects.filter(category="RECOVERED", enabled=True).count()
    )
    assert Notification.objects.filter(category="TOKEN_EXPIRED").count() == routes
    controls.sync_pause(project=alpha, actor="test")  # quiet, then check
    wait_until_quiet([alpha], timeout=60)
    assert_invariants([alpha], fake, before=before)


def run_now(project) -> int:
    """A run outside the schedule, straight from the run service (the controls refuse to start runs on a
    site whose credentials fail, which is right for people but not what this scenario needs)."""
    return runs.request_sync(project=project).run.id
