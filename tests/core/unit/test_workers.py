"""The watch that tells a waiting command no worker consumes its queue: fake workers and a fake clock."""

from __future__ import annotations

import pytest

from core.workers import NoWorker, QueueWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watch_over(answers: list[dict[str, list[str]]], clock: Clock) -> tuple[QueueWatch, list[float]]:
    asked: list[float] = []

    def probe(timeout: float) -> dict[str, list[str]]:
        asked.append(clock.now)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return QueueWatch("sync", "Sync run 7", probe=probe, clock=clock), asked


def test_a_served_queue_is_asked_about_every_interval_only():
    clock = Clock()
    watch, asked = watch_over([{"sync": ["w1@h"]}], clock)
    for step in range(100):
        clock.now = step * 0.25
        watch.check()
    assert asked == [0.0, 10.0, 20.0]


def test_a_queue_nobody_consumes_fails_after_the_grace_naming_queue_and_command():
    clock = Clock()
    watch, asked = watch_over([{"telemetry": ["w1@h"]}], clock)

    def follow() -> None:
        for step in range(100):
            clock.now = step * 0.25
            watch.check()

    with pytest.raises(NoWorker) as raised:
        follow()
    assert clock.now == 10.0 and asked == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    text = f"{raised.value} {raised.value.advice}"
    assert "Sync run 7" in text and "'sync'" in text and "celery -A jiraplus worker" in text


def test_a_worker_that_comes_back_within_the_grace_is_not_a_failure():
    clock = Clock()
    watch, asked = watch_over([{}, {}, {"sync": ["w2@h"]}, {}], clock)
    for step in range(60):  # missing at 0 and 2, back at 4, missing again from 14: grace runs out at 24
        clock.now = step * 0.25
        watch.check()
    assert asked == [0.0, 2.0, 4.0, 14.0]
