"""A planted Jira token never travels in Celery messages or beat entries: tasks carry ids, workers
decrypt the token from the database. Watches every message the broker holds during a real sync."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from fakejira import FakeDataConfig
from sync import task_names as sync_task_names
from sync.models import JiraSite
from sync.services import controls
from tests.fixtures.sync import register, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_jira_token_never_appears_in_a_broker_message_or_a_beat_entry(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(FakeDataConfig(seed=3, projects={"ALPHA": 250}))
    (alpha,) = register(fake, ["ALPHA"])
    token = JiraSite.objects.get().api_token
    assert token == fake.api_token and len(token) > 10
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    seen: list[bytes | str] = []
    stop = threading.Event()

    def watch() -> None:  # queued messages, and those a worker holds unacknowledged
        while not stop.is_set():
            for queue in settings.CELERY_QUEUES_ALL:
                seen.extend(broker.lrange(queue, 0, -1))
            seen.extend(broker.hvals("unacked"))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run = wait_for_run(controls.sync_trigger(project=alpha, full=True, actor="test").run.id)
    finally:
        stop.set()
        watcher.join()

    assert run.status == "SUCCEEDED"
    messages = {m.decode() if isinstance(m, bytes) else m for m in seen}
    assert len(messages) >= 5, "the watcher should have caught the run's step messages"
    assert any(sync_task_names.RUN_STEP in m for m in messages)
    assert not [m for m in messages if token in m]
    for entry in PeriodicTask.objects.all():
        assert token not in f"{entry.args} {entry.kwargs} {entry.headers}"
