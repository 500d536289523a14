"""The back-off rules on hand-made outcomes: thresholds, climbing, Retry-After, recovery, slow runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from telemetry import task_names as telemetry_task_names
from telemetry.checks import telemetry_settings
from telemetry.ladder import (
    Alert,
    Climb,
    Episode,
    Outcome,
    Policy,
    Recover,
    Schedule,
    advance,
    choose_rung,
    slow_jira_latency,
    slow_median,
)
from telemetry.services import policy_from_settings

LADDER = ["*/30 * * * *", "0 * * * *", "0 */3 * * *", "0 */6 * * *", "0 0 * * *"]
POLICY = Policy(ladder=LADDER, default_threshold=3, thresholds={"SUSPENDED_PAYMENT": 1})
EVERY_15 = Schedule(cron="*/15 * * * *", effective_cron="")
T0 = datetime(2026, 3, 2, 10, 1, tzinfo=UTC)


def run(n: int, code: str = "", *, retry_after: float | None = None) -> Outcome:
    return Outcome(
        run_id=n,
        succeeded=not code,
        finished_at=T0 + timedelta(minutes=n),
        code=code,
        retry_after=retry_after,
    )


def replay(outcomes: list[Outcome], schedule: Schedule = EVERY_15) -> tuple[Episode, list[list[Any]]]:
    episode = Episode()
    steps = []
    for outcome in outcomes:
        episode, actions = advance(episode, outcome, policy=POLICY, schedule=schedule)
        for action in actions:
            if isinstance(action, Climb):
                schedule = Schedule(schedule.cron, action.cron or "", schedule.time_zone)
        steps.append(actions)
    return episode, steps


def test_third_rate_limit_climbs_one_rung_and_alerts_once_then_each_failure_climbs_silently():
    episode, steps = replay([run(i, "RATE_LIMIT") for i in range(1, 6)])

    assert steps[0] == steps[1] == []
    assert [type(a) for a in steps[2]] == [Alert, Climb]
    assert steps[2][1] == Climb(level=1, cron=LADDER[0], reason="3 consecutive RATE_LIMIT failures")
    assert [(type(a), a.level) for a in steps[3] + steps[4]] == [(Climb, 2), (Climb, 3)]
    assert episode.level == 3 and episode.failures == 5 and episode.alerted and episode.first_run_id == 1


def test_the_ladder_stops_at_its_top_rung():
    episode, steps = replay([run(i, "SERVER_ERROR") for i in range(1, 12)])

    assert episode.level == len(LADDER)
    assert steps[-1] == []


def test_first_success_recovers_the_episode_and_a_later_one_is_quiet():
    failures = [run(i, "RATE_LIMIT") for i in range(1, 4)]
    episode, steps = replay([*failures, run(4), run(5)])

    (recover,) = steps[3]
    assert isinstance(recover, Recover)
    assert recover.episode.level == 1 and recover.episode.failures == 3
    assert steps[4] == []
    assert episode == Episode()


def test_failures_below_the_threshold_end_without_alert_or_recovery_notice():
    episode, steps = replay([run(1, "TIMEOUT"), run(2, "TIMEOUT"), run(3)])

    assert steps == [[], [], []]
    assert episode == Episode()


def test_suspended_payment_alerts_and_backs_off_on_its_first_failure():
    episode, steps = replay([run(1, "SUSPENDED_PAYMENT")])

    assert [type(a) for a in steps[0]] == [Alert, Climb]
    assert episode.level == 1


def test_another_error_code_starts_a_new_episode_keeping_the_level():
    episode, steps = replay([run(i, "RATE_LIMIT") for i in range(1, 4)] + [run(4, "SUSPENDED_PAYMENT")])

    assert [type(a) for a in steps[3]] == [Alert, Climb]
    assert steps[3][1].level == 2
    assert episode.category == "SUSPENDED_PAYMENT" and episode.first_run_id == 4 and episode.failures == 1


def test_retry_after_longer_than_the_next_tick_climbs_at_once_to_a_rung_that_waits_long_enough():
    # 10:02 + 2h: the 30 min and hourly rungs would fire too early; 0 */3 fires at 12:00, also too early;
    # 0 */6 fires at 12:00 too, so the first rung that waits is the daily one.
    episode, steps = replay([run(1, "RATE_LIMIT", retry_after=7200)])

    (climb,) = steps[0]
    assert climb == Climb(level=5, cron=LADDER[4], reason="Jira asked to wait 7200s (Retry-After)")
    assert not episode.alerted


def test_a_short_retry_after_changes_nothing_before_the_threshold():
    _, steps = replay([run(1, "RATE_LIMIT", retry_after=30), run(2, "RATE_LIMIT", retry_after=30)])

    assert steps == [[], []]


def test_backing_off_never_speeds_up_a_slow_operator_schedule():
    hourly = Schedule(cron="5 * * * *", effective_cron="")

    assert choose_rung(LADDER, hourly, minimum=1, not_before=None, now=T0) == (3, LADDER[2])
    daily = Schedule(cron="0 3 * * *", effective_cron="")
    assert choose_rung(LADDER, daily, minimum=1, not_before=None, now=T0) == (1, None)


def test_slow_run_is_compared_with_the_median_of_enough_history():
    history = [1000, 1200, 1100, 900, 1000]

    assert slow_median(3500, history, factor=3, min_runs=5, min_ms=1000) == 1000
    assert slow_median(2900, history, factor=3, min_runs=5, min_ms=1000) is None
    assert slow_median(3500, history[:4], factor=3, min_runs=5, min_ms=1000) is None
    assert slow_median(900, [100] * 5, factor=3, min_runs=5, min_ms=1000) is None


def test_the_analyser_is_sent_by_beat_every_minute_on_the_telemetry_queue():
    entry: Any = settings.CELERY_BEAT_SCHEDULE["telemetry-analyse-runs"]

    assert entry["task"] == telemetry_task_names.ANALYSE_RUNS
    assert entry["schedule"] == settings.TELEMETRY_ANALYSE_INTERVAL == 60.0
    assert entry["options"]["queue"] == "telemetry"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TELEMETRY_BACKOFF_LADDER", ["*/30 * * * *", "0 25 * * *"], "rung 2 '0 25 * * *': hour field"),
        ("TELEMETRY_BACKOFF_LADDER", [], "has no rungs"),
        ("TELEMETRY_FAILURE_THRESHOLDS", ["SUSPENDED_PAYMENT"], "'SUSPENDED_PAYMENT' is not CODE=N"),
        ("TELEMETRY_FAILURE_THRESHOLDS", ["TOKEN_EXPIRED=0"], "'TOKEN_EXPIRED=0' is not CODE=N"),
    ],
)
def test_a_malformed_ladder_or_threshold_is_reported_by_name(settings, setting, value, message):
    setattr(settings, setting, value)

    errors = telemetry_settings(None)

    assert [e.id for e in errors] == ["telemetry.E001"]
    assert message in errors[0].msg


def test_the_default_settings_make_a_valid_policy():
    assert telemetry_settings(None) == []
    assert policy_from_settings().threshold("SUSPENDED_PAYMENT") == 1
    assert policy_from_settings().threshold("RATE_LIMIT") == 3


def test_jira_latency_flags_a_run_only_above_the_threshold_per_request():
    assert slow_jira_latency(30_000, 10, threshold_ms=2000) == 3000
    assert slow_jira_latency(15_000, 10, threshold_ms=2000) is None
    assert slow_jira_latency(5_000, 0, threshold_ms=2000) is None  # no request, no latency


def test_an_old_code_name_in_the_thresholds_sets_the_renamed_code(settings):
    settings.TELEMETRY_FAILURE_THRESHOLDS = ["RATE_LIMITED=5", "network=2"]

    policy = policy_from_settings()

    assert telemetry_settings(None) == []
    assert (policy.threshold("RATE_LIMIT"), policy.threshold("NETWORK_GLITCH")) == (5, 2)
    assert policy.threshold("RATE_LIMITED") == 5  # asked by its old name too
    assert Policy(ladder=LADDER, thresholds={"NETWORK": 1}).threshold("NETWORK_GLITCH") == 1


def test_a_run_failed_under_an_old_code_name_honours_retry_after_as_rate_limit():
    # A worker still running the old code during the deploy may store RATE_LIMITED; services canonicalise
    # it before the ladder, which then knows it as the rate limit it is.
    from telemetry.services import _outcome

    outcome = _outcome(
        {"id": 1, "status": "FAILED", "error_code": "RATE_LIMITED", "finished_at": T0, "created_at": T0},
        {"retry_after": 7200},
    )
    _, steps = advance(Episode(), outcome, policy=POLICY, schedule=EVERY_15)

    assert outcome.code == "RATE_LIMIT"
    [climb] = steps
    assert isinstance(climb, Climb) and "Retry-After" in climb.reason
