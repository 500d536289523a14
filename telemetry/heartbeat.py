"""When telemetry's analysis last completed a pass, kept in the shared cache for the readiness checks.

The cache rather than a table: a lost value only makes the check report "no pass yet" until the next pass
(a minute by default), which is the truth as far as anyone can tell.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

LAST_PASS_KEY = "telemetry:last-pass"  # noqa: S105 - a cache key, not a secret


def pass_record(*, at: datetime | None = None) -> None:
    cache.set(LAST_PASS_KEY, (at or timezone.now()).timestamp(), timeout=None)


def last_pass() -> datetime | None:
    stamp = cache.get(LAST_PASS_KEY)
    return datetime.fromtimestamp(stamp, tz=UTC) if isinstance(stamp, int | float) else None
