"""Jira timestamps parse to UTC, and JQL dates never make an incremental window skip a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync.jira.dates import (
    epoch_ms,
    format_jira_datetime,
    from_epoch_ms,
    jql_datetime,
    parse_jira_datetime,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-31T10:15:30.123+0100", datetime(2024, 1, 31, 9, 15, 30, 123000, tzinfo=UTC)),
        ("2024-01-31T10:15:30.123+01:00", datetime(2024, 1, 31, 9, 15, 30, 123000, tzinfo=UTC)),
        ("2024-01-31T10:15:30.123Z", datetime(2024, 1, 31, 10, 15, 30, 123000, tzinfo=UTC)),
        ("2024-01-31T10:15:30Z", datetime(2024, 1, 31, 10, 15, 30, tzinfo=UTC)),
        ("2024-01-31T10:15:30-0530", datetime(2024, 1, 31, 15, 45, 30, tzinfo=UTC)),
        ("2024-02-01T00:00:00.000+1345", datetime(2024, 1, 31, 10, 15, tzinfo=UTC)),
        ("2024-01-31T10:15+0000", datetime(2024, 1, 31, 10, 15, tzinfo=UTC)),
    ],
)
def test_parse_jira_datetime_gives_aware_utc(value, expected):
    parsed = parse_jira_datetime(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "2024-01-31",
        "2024-01-31T10:15:30",
        "2024-01-31 10:15:30+0100",
        "yesterday",
        "2024-13-01T00:00:00Z",
    ],
)
def test_parse_jira_datetime_rejects_other_text_clearly(value):
    with pytest.raises(ValueError, match="Jira timestamp"):
        parse_jira_datetime(value)


def test_format_jira_datetime_round_trips():
    moment = datetime(2024, 7, 1, 12, 0, 5, 42000, tzinfo=UTC)
    text = format_jira_datetime(moment, "Europe/Berlin")
    assert text == "2024-07-01T14:00:05.042+0200"
    assert parse_jira_datetime(text) == moment


def test_epoch_ms_round_trips_and_floors():
    moment = datetime(2024, 1, 31, 10, 15, 30, 123999, tzinfo=UTC)
    assert epoch_ms(moment) == 1706696130123
    assert from_epoch_ms(1706696130123) == datetime(2024, 1, 31, 10, 15, 30, 123000, tzinfo=UTC)
    assert epoch_ms(from_epoch_ms(0)) == 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        jql_datetime(datetime(2024, 1, 1), "UTC")
    with pytest.raises(ValueError, match="aware"):
        epoch_ms(datetime(2024, 1, 1))


def test_jql_datetime_floors_to_the_minute_in_utc():
    assert jql_datetime(datetime(2024, 1, 31, 10, 15, 59, 999999, tzinfo=UTC), "UTC") == "2024/01/31 10:15"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # January: Chatham summer time, UTC+13:45 (the date rolls over).
        (datetime(2024, 1, 31, 10, 15, 30, tzinfo=UTC), "2024/02/01 00:00"),
        # July: Chatham standard time, UTC+12:45.
        (datetime(2024, 7, 1, 0, 0, 59, tzinfo=UTC), "2024/07/01 12:45"),
    ],
)
def test_jql_datetime_in_chatham(moment, expected):
    assert jql_datetime(moment, "Pacific/Chatham") == expected


def test_jql_datetime_converts_from_any_aware_zone():
    tokyo = datetime(2024, 1, 31, 19, 15, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert jql_datetime(tokyo, "America/New_York") == "2024/01/31 05:15"


def test_new_york_spring_forward_uses_the_new_offset():
    # 2024-03-10 02:00 EST jumps to 03:00 EDT (07:00 UTC): 02:xx never exists.
    assert (
        jql_datetime(datetime(2024, 3, 10, 6, 59, 30, tzinfo=UTC), "America/New_York") == "2024/03/10 01:59"
    )
    assert jql_datetime(datetime(2024, 3, 10, 7, 0, 30, tzinfo=UTC), "America/New_York") == "2024/03/10 03:00"


def test_new_york_fall_back_second_pass_renders_its_wall_time():
    # 06:30 UTC is 01:30 EST, the second 01:30 of 2024-11-03; the other reading (EDT) is earlier.
    assert (
        jql_datetime(datetime(2024, 11, 3, 6, 30, 10, tzinfo=UTC), "America/New_York") == "2024/11/03 01:30"
    )


def test_new_york_fall_back_first_pass_steps_back_before_the_repeated_hour():
    # 05:30 UTC is 01:30 EDT; "01:30" read as EST would be 06:30 UTC and skip an hour of changes.
    assert (
        jql_datetime(datetime(2024, 11, 3, 5, 30, 10, tzinfo=UTC), "America/New_York") == "2024/11/03 00:59"
    )


def _readings(rendered: str, tz_name: str) -> list[datetime]:
    wall = datetime.strptime(rendered, "%Y/%m/%d %H:%M")
    zone = ZoneInfo(tz_name)
    return [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]


@pytest.mark.parametrize(
    ("tz_name", "start"),
    [
        ("America/New_York", datetime(2024, 3, 10, 5, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2024, 11, 3, 4, 0, tzinfo=UTC)),
        ("Pacific/Chatham", datetime(2024, 4, 6, 12, 0, tzinfo=UTC)),  # fall-back 03:45 -> 02:45
        (
            "Pacific/Chatham",
            datetime(2024, 9, 28, 12, 0, tzinfo=UTC),
        ),  # spring-forward 02:45 -> 03:45
        ("Pacific/Kiritimati", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),  # UTC+14
        ("UTC", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_every_reading_of_the_rendered_time_selects_everything_after_the_instant(tz_name, start):
    # Over four hours around each transition, in 7-minute-13-second steps: whichever offset Jira
    # picks for the rendered wall time, `updated >= rendered` includes the instant, and the window
    # is never widened by more than the overlap plus a minute.
    moment = start
    while moment < start + timedelta(hours=4):
        rendered = jql_datetime(moment, tz_name)
        readings = _readings(rendered, tz_name)
        assert max(readings) <= moment, (moment, rendered)
        assert moment - min(readings) < timedelta(hours=2, minutes=1), (moment, rendered)
        moment += timedelta(minutes=7, seconds=13)
