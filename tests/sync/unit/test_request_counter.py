"""A step takes its request counts while its lanes' threads may still be recording requests."""

from __future__ import annotations

import threading

from sync.jira.client import RequestCounter


def test_taking_the_counts_while_threads_record_loses_none_and_counts_none_twice():
    counter = RequestCounter()
    per_thread, threads = 5_000, 4
    start = threading.Barrier(threads + 1)

    def record() -> None:
        start.wait()
        for _ in range(per_thread):
            counter.record("GET /rest/api/3/issue/{id}/comment", 200, elapsed_ms=1)

    workers = [threading.Thread(target=record) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    taken = []
    while any(worker.is_alive() for worker in workers):
        taken.append(counter.take())
    for worker in workers:
        worker.join()
    taken.append(counter.take())

    expected = per_thread * threads
    assert sum(t.total for t in taken) == expected
    assert sum(t.elapsed_ms for t in taken) == expected
    assert sum(t.by_endpoint["GET /rest/api/3/issue/{id}/comment 200"] for t in taken) == expected
    assert counter.total == 0 and not counter.by_endpoint
    assert len(taken) > 2  # taken while the threads were recording
