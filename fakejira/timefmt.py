"""Timestamp renderings used by Jira, and the JQL date formats it accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo


def to_ms(moment: datetime) -> datetime:
    """UTC with millisecond precision: Jira stores and returns milliseconds, never microseconds."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def jira_timestamp(moment: datetime, zone: tzinfo) -> str:
    """``2024-01-31T10:15:30.123+0100``: the REST format, in the API user's zone, offset without a colon."""
    # Formatted by hand: strftime dominated the cost of rendering a search page.
    local = moment.astimezone(zone)
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:{local.minute:02d}:"
        f"{local.second:02d}.{local.microsecond // 1000:03d}{sign}{hours:02d}{minutes:02d}"
    )


def utc_z(moment: datetime) -> str:
    """``2024-01-31T09:15:30.123Z``: the agile API's format and the canonical export format."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def from_epoch_ms(value: int) -> datetime:
    return _EPOCH + value * _MS


def parse_instant(value: str | datetime) -> datetime:
    """An ISO 8601 string (``Z``, ``+01:00`` or Jira's ``+0100``) or aware datetime, in UTC milliseconds."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = value.strip().replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = text[:-2] + ":" + text[-2:]
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return to_ms(moment)
