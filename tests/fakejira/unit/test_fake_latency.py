"""The fake Jira can be slow like a large real site and counts the requests it answers at once per user."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from fakejira import FakeJira
from fakejira.latency import InFlight, identity

Factory = Callable[..., FakeJira]


def _timed(call: Callable[[], requests.Response]) -> float:
    started = time.monotonic()
    assert call().status_code == 200
    return time.monotonic() - started


def test_searches_and_other_requests_get_their_own_latency(fake_jira_factory: Factory) -> None:
    fake = fake_jira_factory(latency_ms=100, search_latency_ms=400)
    auth = (fake.email, fake.api_token)
    base = fake.base_url
    other = _timed(lambda: requests.get(f"{base}/rest/api/3/myself", auth=auth, timeout=5))
    search = _timed(
        lambda: requests.post(
            f"{base}/rest/api/3/search/jql", json={"jql": "project = ALPHA"}, auth=auth, timeout=5
        )
    )
    assert 0.1 <= other < 0.35
    assert 0.4 <= search < 0.75
    control = _timed(lambda: requests.get(f"{base}/_fake/stats", timeout=5))
    assert control < 0.1  # the control interface is never slowed


def test_slow_requests_are_answered_concurrently_and_peaks_counted_per_user(
    fake_jira_factory: Factory,
) -> None:
    fake = fake_jira_factory(latency_ms=300)
    base = fake.base_url
    statuses: list[int] = []

    def call(auth: tuple[str, str] | None) -> None:
        statuses.append(requests.get(f"{base}/rest/api/3/serverInfo", auth=auth, timeout=5).status_code)

    callers = [(fake.email, fake.api_token)] * 5 + [("other@example.com", "x")] * 2 + [None]
    threads = [threading.Thread(target=call, args=(auth,)) for auth in callers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.0  # eight 300 ms answers overlapped, not queued
    assert statuses == [200] * 8
    assert fake.max_in_flight(fake.email.lower()) == 5
    assert fake.max_in_flight("other@example.com") == 2
    assert fake.max_in_flight("anonymous") == 1
    assert fake.max_in_flight() == 8
    assert requests.get(f"{base}/_fake/stats", timeout=5).json()["max_in_flight"] == {
        "total": 8,
        "by_identity": {fake.email.lower(): 5, "other@example.com": 2, "anonymous": 1},
    }
    requests.post(f"{base}/_fake/stats/reset", timeout=5)
    assert fake.max_in_flight() == 0


def test_a_request_stops_counting_in_flight_before_its_answer_is_sent(fake_jira: FakeJira) -> None:
    # A client that sends its next request (on a new connection) the moment it has read an answer must
    # never be seen with two in flight: a budget of one request at a time has to read as one.
    auth = (fake_jira.email, fake_jira.api_token)
    for _ in range(500):
        assert requests.get(f"{fake_jira.base_url}/rest/api/3/myself", auth=auth, timeout=5).ok
    assert fake_jira.max_in_flight(fake_jira.email.lower()) == 1


def test_arrivals_are_counted_per_sliding_window(fake_jira: FakeJira) -> None:
    auth = (fake_jira.email, fake_jira.api_token)
    for pause in (0.0, 0.0, 0.0, 0.4, 0.4, 0.4):
        time.sleep(pause)
        requests.get(f"{fake_jira.base_url}/rest/api/3/myself", auth=auth, timeout=5)
    assert fake_jira.most_requests_within(10.0) == 6
    assert fake_jira.most_requests_within(0.3) == 3  # the first three, back to back
    assert fake_jira.most_requests_within(1.0) in (4, 5)  # three, then one or two 0.4 s apart
    assert fake_jira.stats()["most_in_one_second"] == fake_jira.most_requests_within(1.0)


def test_latency_is_set_over_the_control_interface(fake_jira: FakeJira) -> None:
    base = fake_jira.base_url
    assert requests.get(f"{base}/_fake/latency", timeout=5).json() == {
        "latency_ms": 0,
        "search_latency_ms": 0,
    }
    changed = requests.post(f"{base}/_fake/latency", json={"search_latency_ms": 250}, timeout=5)
    assert changed.json() == {"latency_ms": 0, "search_latency_ms": 250}
    assert fake_jira.latency.seconds("search_jql") == 0.25
    assert fake_jira.latency.seconds("myself") == 0
    for bad in ({"latency_ms": -1}, {"latency_ms": "slow"}, {"delay": 1}, [1]):
        assert requests.post(f"{base}/_fake/latency", json=bad, timeout=5).status_code == 400
    assert fake_jira.latency.to_json() == {"latency_ms": 0, "search_latency_ms": 250}


def test_identity_names_the_user_and_never_shows_a_token() -> None:
    assert (
        identity("Basic " + "QWxpY2VARXhhbXBsZS5jb206c2VjcmV0") == "alice@example.com"
    )  # Alice@Example.com:secret
    bearer = identity("Bearer s3cr3t-pat")
    assert bearer.startswith("bearer:") and "s3cr3t" not in bearer
    assert identity(None) == identity("") == "anonymous"
    assert identity("Basic !!!") == "invalid"


def test_a_reset_keeps_requests_still_in_flight() -> None:
    gauge = InFlight()
    with gauge.track("a"):
        with gauge.track("a"):
            pass
        gauge.reset()
        assert gauge.to_json() == {"total": 1, "by_identity": {"a": 1}}
    with pytest.raises(RuntimeError), gauge.track("b"):
        raise RuntimeError
    assert gauge.to_json() == {"total": 1, "by_identity": {"a": 1, "b": 1}}


def test_command_line_latency_options(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakejira",
            "--port",
            "0",
            "--projects",
            "ALPHA=3",
            "--latency-ms",
            "50",
            "--search-latency-ms",
            "200",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert process.stdout is not None
        base = json.loads(process.stdout.readline())["base_url"]
        assert requests.get(f"{base}/_fake/latency", timeout=5).json() == {
            "latency_ms": 50,
            "search_latency_ms": 200,
        }
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
