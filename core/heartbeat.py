"""Heartbeats: when a long-running part (beat, telemetry's analysis) last did its work, kept in the shared
cache so the readiness checks can tell a stopped part from a quiet one.

The cache rather than a table: a lost value only makes a check report "no heartbeat yet" until the part's
next beat (seconds to a minute), which is the truth as far as anyone can tell.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.cache import cache
from django.utils import timezone

PREFIX = "heartbeat:"


def record(name: str, *, at: datetime | None = None) -> None:
    cache.set(PREFIX + name, (at or timezone.now()).timestamp(), timeout=None)


def last(name: str) -> datetime | None:
    stamp = cache.get(PREFIX + name)
    return datetime.fromtimestamp(stamp, tz=UTC) if isinstance(stamp, int | float) else None
