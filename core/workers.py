"""Which queues live workers consume, asked of the workers themselves through Celery's remote control.

A queued task with nobody consuming its queue waits silently forever; commands that wait for a result and
the readiness checks ask here instead, so the operator is told which worker to start.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from celery import current_app

from core.errors import ServiceError

START_WORKER = "celery -A jiraplus worker"
Probe = Callable[[float], dict[str, list[str]]]


class NoWorker(ServiceError):
    """Nothing consumes the queue a waiting command depends on."""

    code = "NO_WORKER"


def queue_consumers(timeout: float = 1.0) -> dict[str, list[str]]:
    """``{queue: [worker names]}`` of the workers that answered within ``timeout`` seconds."""
    replies = current_app.control.inspect(timeout=timeout).active_queues() or {}
    consumers: dict[str, list[str]] = {}
    for worker, queues in replies.items():
        for queue in queues or []:
            consumers.setdefault(queue["name"], []).append(worker)
    return consumers


def no_worker(queue: str, what: str) -> NoWorker:
    return NoWorker(
        f"{what} waits in the {queue!r} queue, but no live worker consumes queue {queue!r}",
        advice=f"start a worker: `{START_WORKER}` (it serves every queue; `-Q {queue}` serves this one only)",
    )


class QueueWatch:
    """Raises NoWorker once no live worker has consumed ``queue`` for ``grace`` seconds.

    Call ``check()`` as often as convenient: it asks the workers every ``interval`` seconds while one
    answers and every ``retry`` seconds while none does, so a worker that is still starting (or restarting)
    is not mistaken for a missing one, yet a missing one is noticed within about ``grace`` seconds.
    """

    def __init__(
        self,
        queue: str,
        what: str,
        *,
        interval: float = 10.0,
        grace: float = 10.0,
        retry: float = 2.0,
        probe: Probe = queue_consumers,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.queue, self.what = queue, what
        self.interval, self.grace, self.retry = interval, grace, retry
        self._probe, self._clock = probe, clock
        self._next = clock()
        self._missing_since: float | None = None

    def check(self) -> None:
        if self._clock() < self._next:
            return
        served = bool(self._probe(1.0).get(self.queue))
        now = self._clock()
        if served:
            self._missing_since = None
            self._next = now + self.interval
            return
        if self._missing_since is None:
            self._missing_since = now
        if now - self._missing_since >= self.grace:
            raise no_worker(self.queue, self.what)
        self._next = now + self.retry
