"""A worker started the way Celery's docs start one (`celery -A jiraplus worker`, no -Q) serves every queue
the project routes to, and `-Q` still restricts it. Real worker processes on the test broker."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from jiraplus.celery import app
from notifications import task_names as notifications_task_names
from orchestration import task_names as orchestration_task_names
from sync import task_names as sync_task_names
from telemetry import task_names as telemetry_task_names
from tests.fixtures.processes import CeleryProcess, Processes, process_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# One cheap periodic task per queue: each runs against an empty database and returns.
ONE_TASK_PER_QUEUE = {
    "sync": sync_task_names.REAP_RUNS,
    "orchestration": orchestration_task_names.REAP,
    "notifications": notifications_task_names.REQUEUE_DUE,
    "telemetry": telemetry_task_names.ANALYSE_RUNS,
}


def start_worker(processes: Processes, *args: str) -> CeleryProcess:
    """`celery -A jiraplus worker` plus exactly ``args`` (the shared fixture always adds -Q)."""
    worker = CeleryProcess("worker", list(args), processes.log_dir, process_env())
    processes.started.append(worker)
    return worker


def consumed_queues(worker: CeleryProcess, timeout: float = 60) -> set[str]:
    """The queue names the (only) worker on the test broker reports it consumes, once it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.log()[-4000:]}"
        replies = app.control.inspect(timeout=1).active_queues()
        if replies:
            assert len(replies) == 1, f"another worker answered on the test broker: {sorted(replies)}"
            (queues,) = replies.values()
            return {queue["name"] for queue in queues}
    raise AssertionError(f"the worker never answered active_queues:\n{worker.log()[-4000:]}")


def test_a_worker_without_q_consumes_and_runs_every_queue(celery_processes: Processes) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for queue, task_name in ONE_TASK_PER_QUEUE.items():
        app.send_task(task_name)  # routed by CELERY_TASK_ROUTES, as beat sends them
        assert broker.llen(queue) == 1, f"{task_name} was not routed to {queue}"

    worker = start_worker(celery_processes)
    assert isinstance(worker.proc.args, list) and worker.proc.args[-1] == "worker", (
        "the bare command, as Celery's docs start a worker"
    )
    assert consumed_queues(worker) == set(settings.CELERY_QUEUES_ALL) == set(ONE_TASK_PER_QUEUE)
    # With late acknowledgement a message leaves its queue when a worker takes it and leaves "unacked" only
    # once the task has run: every queue empty and nothing unacknowledged means each task was served.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = {queue: broker.llen(queue) for queue in ONE_TASK_PER_QUEUE}
        if not any(waiting.values()) and not broker.hlen("unacked"):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(
            f"messages left: {waiting}, unacked {broker.hlen('unacked')}:\n{worker.log()[-4000:]}"
        )


def test_q_still_restricts_a_worker_to_the_queues_named(celery_processes: Processes) -> None:
    worker = start_worker(celery_processes, "-Q", "telemetry", "-c", "1")
    assert consumed_queues(worker) == {"telemetry"}
