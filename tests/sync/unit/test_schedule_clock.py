"""The cron clock beat and the tick service share: real fire times, in the schedule's zone, DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.services.schedules import cron_next_fire, cron_previous_fire, cron_upcoming


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(expression: str, start: datetime, count: int, time_zone: str = "UTC") -> list[datetime]:
    out = []
    for _ in range(count):
        start = cron_next_fire(expression=expression, after=start, time_zone=time_zone)
        out.append(start)
    return out


def test_the_nominal_time_is_the_slot_that_fired_not_now_truncated():
    assert cron_previous_fire(expression="*/15 * * * *", at=utc(2026, 5, 1, 10, 29, second=59)) == utc(
        2026, 5, 1, 10, 15
    )
    assert cron_previous_fire(expression="*/15 * * * *", at=utc(2026, 5, 1, 10, 30)) == utc(
        2026, 5, 1, 10, 30
    )  # at the slot
    assert cron_next_fire(expression="*/15 * * * *", after=utc(2026, 5, 1, 10, 30)) == utc(
        2026, 5, 1, 10, 45
    )  # strictly after


def test_a_daily_local_time_runs_once_on_the_autumn_day_that_repeats_it():
    days = fires("30 2 * * *", utc(2026, 10, 23, 12), 3, "Europe/Berlin")
    assert days == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert cron_previous_fire(
        expression="30 2 * * *", at=utc(2026, 10, 25, 1, 45), time_zone="Europe/Berlin"
    ) == utc(2026, 10, 25, 0, 30)


def test_an_hourly_schedule_keeps_every_real_hour_across_the_autumn_change():
    hours = fires("15 * * * *", utc(2026, 10, 24, 23), 4, "Europe/Berlin")
    assert hours == [
        utc(2026, 10, 24, 23, 15),
        utc(2026, 10, 25, 0, 15),
        utc(2026, 10, 25, 1, 15),
        utc(2026, 10, 25, 2, 15),
    ]


def test_a_local_time_skipped_in_spring_runs_right_after_the_gap():
    assert fires("30 2 * * *", utc(2026, 3, 28, 12), 2, "Europe/Berlin") == [
        utc(2026, 3, 29, 1, 0),  # 03:00 CEST, the first instant after 02:00-03:00 vanished
        utc(2026, 3, 30, 0, 30),
    ]


@pytest.mark.parametrize("seconds", ["*/3"])
def test_the_test_only_seconds_field_makes_every_minute_tick_every_few_seconds(settings, seconds):
    settings.SYNC_CRON_SECONDS = seconds
    assert fires("* * * * *", utc(2026, 1, 1, 0, 0, second=1), 3) == [
        utc(2026, 1, 1, 0, 0, second=3),
        utc(2026, 1, 1, 0, 0, second=6),
        utc(2026, 1, 1, 0, 0, second=9),
    ]


def test_the_preview_lists_the_next_five_fire_times_in_order():
    preview = cron_upcoming(expression="0 */6 * * *", count=5)
    assert len(preview) == 5 and preview == sorted(preview)
    assert all(f.minute == 0 and f.hour % 6 == 0 for f in preview)
