"""System status: is every part the service needs up and doing its job? One list of named checks, read by
/readyz (names and ok/fail only, as it is public), by `manage.py doctor` (with the details), and by the
GraphQL `systemStatus` query and the admin index's status panel (details for staff only).

Checks: the database, the cache (Redis in production), the broker, a live consumer for each queue, beat's
last tick, telemetry's last pass and the notification backlog.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core import heartbeat
from core.workers import START_WORKER, queue_consumers
from notifications.models import Notification
from sync import beat
from telemetry import tasks as telemetry_tasks


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def system_status(*, now: datetime | None = None) -> list[Check]:
    """Every check, in a stable order; none raises (a check that cannot run fails with the reason)."""
    now = now or timezone.now()
    checks = [_guard("database", _database), _guard("cache", _cache)]
    broker = _guard("broker", _broker)
    checks.append(broker)
    checks += _queues(broker)
    checks.append(_guard("beat", lambda: _beat(now)))
    checks.append(_guard("telemetry", lambda: _telemetry(now)))
    checks.append(_guard("notifications", lambda: _notifications(now)))
    return checks


_recent: dict[str, tuple[float, list[Check]]] = {}
_recent_lock = threading.Lock()


def system_status_recent() -> list[Check]:
    """``system_status()``, shared by every reader within ``OPS_READYZ_CACHE_SECONDS``.

    Asking the workers takes about a second: probes, admin page loads and GraphQL polls must not multiply
    that work."""
    with _recent_lock:
        last = _recent.get("status")
        if last is None or time.monotonic() - last[0] > settings.OPS_READYZ_CACHE_SECONDS:
            last = _recent["status"] = (time.monotonic(), system_status())
        return last[1]


def _guard(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = probe()
    except Exception as error:  # a check that cannot even run is a failing check, not a crash of all
        ok, detail = False, f"{type(error).__name__}: {error}"
    return Check(name, ok, detail)


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, f"{connection.vendor} answers"


def _cache() -> tuple[bool, str]:
    token = uuid.uuid4().hex
    cache.set("ops:ping", token, timeout=30)
    if cache.get("ops:ping") != token:
        return False, "a value written to the cache did not read back"
    return True, "read back a value written"


def _broker() -> tuple[bool, str]:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=int(settings.OPS_INSPECT_TIMEOUT) + 2)
        return True, f"{conn.as_uri()} reachable"


def _queues(broker: Check) -> list[Check]:
    names = [f"queue:{queue}" for queue in settings.CELERY_QUEUES_ALL]
    if not broker.ok:
        return [Check(name, False, "broker unreachable, cannot ask the workers") for name in names]
    try:
        consumers = queue_consumers(settings.OPS_INSPECT_TIMEOUT)
    except Exception as error:
        return [Check(name, False, f"asking the workers failed: {error}") for name in names]
    checks = []
    for queue, name in zip(settings.CELERY_QUEUES_ALL, names, strict=True):
        workers = consumers.get(queue, [])
        if workers:
            checks.append(Check(name, True, f"consumed by {', '.join(sorted(workers))}"))
        else:
            checks.append(Check(name, False, f"no live worker consumes it; start one: `{START_WORKER}`"))
    return checks


def _beat(now: datetime) -> tuple[bool, str]:
    last = heartbeat.last(beat.HEARTBEAT)
    if last is None:
        return False, "beat never ticked; start it: `celery -A jiraplus beat`"
    return _fresh(now, last, settings.OPS_BEAT_STALE_SECONDS, "beat last ticked")


def _telemetry(now: datetime) -> tuple[bool, str]:
    last = heartbeat.last(telemetry_tasks.HEARTBEAT)
    if last is None:
        return False, "no analysis pass recorded yet (it needs beat and a worker on the telemetry queue)"
    return _fresh(now, last, settings.OPS_TELEMETRY_STALE_SECONDS, "last analysis pass")


def _notifications(now: datetime) -> tuple[bool, str]:
    minutes = settings.OPS_NOTIFY_BACKLOG_MINUTES
    cutoff = now - timedelta(minutes=minutes)
    stuck = Notification.objects.filter(
        Q(status=Notification.Status.QUEUED, updated_at__lt=cutoff)
        | Q(status=Notification.Status.RETRYING, next_attempt_at__lt=cutoff)
    ).count()
    if stuck:
        return False, f"{stuck} message(s) queued or overdue for a retry for over {minutes:g} minutes"
    return True, f"nothing waiting over {minutes:g} minutes"


def _fresh(now: datetime, last: datetime, stale_after: float, what: str) -> tuple[bool, str]:
    age = (now - last).total_seconds()
    text = f"{what} {age:.0f}s ago ({last:%Y-%m-%d %H:%M:%S} UTC)"
    if age > stale_after:
        return False, f"{text}, over the {stale_after:.0f}s allowed"
    return True, text
