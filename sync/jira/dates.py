"""Jira's timestamps and JQL dates, converted without losing or skipping changes.

Jira writes ``2024-01-31T10:15:30.123+0100`` in the API user's zone; we store aware UTC. JQL reads
dates at minute granularity in the API user's zone (``myself.timeZone``), so a UTC cursor must be
converted and floored before it goes into ``updated >= "..."``: flooring widens the window, it never
skips an instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_JIRA_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)$"
)


def parse_jira_datetime(value: str) -> datetime:
    """Aware UTC datetime from a Jira or agile timestamp (``+0100``, ``+01:00`` or ``Z``)."""
    match = _JIRA_DATETIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"Not a Jira timestamp: {value!r} (expected e.g. 2024-01-31T10:15:30.123+0100, "
            "with an offset such as +0100, +01:00 or Z)"
        )
    fraction = (match["frac"] or "0")[:6].ljust(6, "0")
    tz = match["tz"]
    offset = "+00:00" if tz == "Z" else f"{tz[:3]}:{tz[-2:] if len(tz) > 3 else '00'}"
    iso = f"{match['date']}T{match['h']}:{match['m']}:{match['s'] or '00'}.{fraction}{offset}"
    try:
        return datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError as exc:  # e.g. month 13, hour 25
        raise ValueError(f"Not a valid Jira timestamp: {value!r} ({exc})") from None


def format_jira_datetime(moment: datetime, tz_name: str = "UTC") -> str:
    """Jira's own timestamp format (``2024-01-31T10:15:30.123+0100``) in the given zone."""
    local = _require_aware(moment).astimezone(ZoneInfo(tz_name))
    millis = f"{local.microsecond // 1000:03d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + millis + local.strftime("%z")


def jql_datetime(moment: datetime, tz_name: str) -> str:
    """``"yyyy/MM/dd HH:mm"`` for ``updated >= ...``: the user's wall time, floored to the minute.

    Every reading of the result is at or before ``moment``, so a lower bound built from it misses
    nothing. At a DST fall-back the wall times of the repeated hour are ambiguous and Jira does not
    say which offset it picks (java.util.Calendar takes standard time, the later instant). An
    instant in the second pass renders its own wall time: the other reading is the earlier offset,
    an hour before, which only widens the window. An instant in the first pass steps back to the
    last minute before the repeated hour, so whichever offset Jira picks the window only widens
    (by at most the overlap).
    """
    zone = ZoneInfo(tz_name)
    utc = _require_aware(moment).astimezone(UTC)
    local = utc.astimezone(zone).replace(second=0, microsecond=0)
    while _latest_reading(local, zone) > utc:
        local -= timedelta(minutes=1)  # at most the overlap (an hour, rarely more): a short loop
    return local.strftime("%Y/%m/%d %H:%M")


def _latest_reading(local: datetime, zone: ZoneInfo) -> datetime:
    wall = local.replace(tzinfo=None)
    readings = (wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    return max(readings)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (the worklog feeds' ``since``), floored."""
    return (_require_aware(moment) - _EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"Need an aware datetime, got naive {moment.isoformat()}")
    return moment
