"""The per-site concurrency budget: slots shared through real Redis (or a lock file), leases that free a
killed holder's slot, and the fake Jira never seeing more requests in flight than the setting."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings

from fakejira import FakeJira, Fault
from sync.jira.budget import NullBudget, RedisTokenBucket
from sync.jira.client import JiraClient, JiraCredentials
from sync.jira.slots import KEY_PREFIX, FileSlots, NullSlots, RedisSlots, SiteSlots, slots_from_settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def redis_url() -> str:
    return str(settings.REDIS_URL)


@pytest.fixture
def site_key(redis_url: str) -> Iterator[str]:
    key = f"test-{uuid.uuid4().hex[:8]}.atlassian.net"
    yield key
    redis.Redis.from_url(redis_url).delete(KEY_PREFIX + key, "jiraplus:budget:" + key)


def make_slots(kind: str, redis_url: str, tmp_path: Path, limit: int, lease: float = 30.0) -> SiteSlots:
    return RedisSlots(redis_url, limit, lease) if kind == "redis" else FileSlots(tmp_path, limit, lease)


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_a_full_site_makes_the_next_request_wait_for_a_release(kind, redis_url, site_key, tmp_path):
    slots = make_slots(kind, redis_url, tmp_path, limit=2)
    held = [slots.acquire(site_key) for _ in range(2)]
    assert all(waited < 0.1 for _, waited in held)
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(site_key)[1]))
    waiter.start()
    time.sleep(0.3)
    assert not got  # still waiting: both slots are taken
    slots.release(site_key, held[0][0])
    waiter.join(timeout=5)
    assert got and 0.25 <= got[0] < 1.0
    assert slots.acquire("another.atlassian.net")[1] < 0.1  # sites do not share slots


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_a_killed_holders_slots_come_back_when_their_lease_runs_out(kind, redis_url, site_key, tmp_path):
    where = redis_url if kind == "redis" else str(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from sync.jira.slots import FileSlots, RedisSlots\n"
            f"s = RedisSlots({where!r}, 2, 1.0) if {kind!r} == 'redis' else FileSlots({where!r}, 2, 1.0)\n"
            f"s.acquire({site_key!r}); s.acquire({site_key!r})\n"
            "print('held', flush=True); time.sleep(60)\n",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        taken_at = time.monotonic()
        holder.kill()  # no release: the slots die with the worker
        holder.wait(timeout=10)
        _, waited = make_slots(kind, redis_url, tmp_path, limit=2, lease=1.0).acquire(site_key)
        assert 0.3 <= time.monotonic() - taken_at < 2.0
        assert waited > 0.2
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_a_live_holder_keeps_its_slots_past_their_lease(kind, redis_url, site_key, tmp_path):
    """The holder renews: a request open for many leases (a slow page, a Retry-After) keeps its slot."""
    slots = make_slots(kind, redis_url, tmp_path, limit=1, lease=0.6)
    token, _ = slots.acquire(site_key)
    other = make_slots(kind, redis_url, tmp_path, limit=1, lease=0.6)  # another process's view
    got: list[float] = []
    waiter = threading.Thread(target=lambda: got.append(other.acquire(site_key)[1]), daemon=True)
    waiter.start()
    time.sleep(2.0)  # more than three leases
    assert not got
    slots.release(site_key, token)
    waiter.join(timeout=5)
    assert got and got[0] >= 1.9


def test_redis_slot_keys_expire(redis_url, site_key):
    RedisSlots(redis_url, 2, 5.0).acquire(site_key)
    ttl = redis.Redis.from_url(redis_url).pttl(KEY_PREFIX + site_key)
    assert 0 < ttl <= 5000


def test_an_unreachable_redis_fails_open():
    started = time.monotonic()
    slots = RedisSlots("redis://127.0.0.1:1/0", 1, 30.0)
    for _ in range(3):
        token, _ = slots.acquire("acme.atlassian.net")
        slots.release("acme.atlassian.net", token)
    assert time.monotonic() - started < 5


def test_a_torn_slots_file_is_reset(tmp_path):
    (tmp_path / "acme.atlassian.net.slots.json").write_text('{"abc": ')
    assert FileSlots(tmp_path, 1, 30.0).acquire("acme.atlassian.net")[1] < 0.1


@pytest.mark.parametrize(
    ("backend", "limit", "kind"),
    [("redis", 8, RedisSlots), ("file", 8, FileSlots), ("none", 8, NullSlots), ("redis", 0, NullSlots)],
)
def test_slots_from_settings_follow_the_budget_backend(settings, redis_url, backend, limit, kind):
    settings.REDIS_URL = redis_url
    settings.JIRA_BUDGET_BACKEND = backend
    settings.JIRA_SITE_CONCURRENCY = limit
    slots = slots_from_settings()
    assert isinstance(slots, kind)
    assert slots_from_settings() is slots  # one per process: shared by every client in it
    if isinstance(slots, RedisSlots | FileSlots):
        assert slots.limit == 8
        assert slots.lease_seconds == settings.JIRA_SLOT_LEASE_SECONDS


def client(fake: FakeJira, site_key: str, **options: Any) -> JiraClient:
    credentials = JiraCredentials(fake.base_url, "basic", fake.api_token, email=fake.email, site_key=site_key)
    return JiraClient(credentials, backoff_base=0.01, backoff_max=0.05, **options)


def test_the_fake_never_sees_more_requests_in_flight_than_the_setting(fake_jira_factory, redis_url, site_key):
    """Twelve clients (each its own session, as twelve worker processes would be) against a slow site."""
    fake = fake_jira_factory(latency_ms=100)
    limit = 3
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with client(
                fake, site_key, budget=NullBudget(), slots=RedisSlots(redis_url, limit, 30.0)
            ) as jira:
                for _ in range(3):
                    jira.server_info()
        except BaseException as problem:  # reported by the assertion below
            errors.append(problem)

    threads = [threading.Thread(target=work) for _ in range(12)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert fake.request_count() == 36
    assert fake.max_in_flight(fake.email.lower()) == limit  # reached, never exceeded
    assert time.monotonic() - started >= 36 / limit * 0.1 - 0.05  # the slots queued them
    assert redis.Redis.from_url(redis_url).zcard(KEY_PREFIX + site_key) == 0  # every slot given back


def test_a_429_holds_every_client_of_the_site_until_its_retry_after(fake_jira, redis_url, site_key):
    budget = RedisTokenBucket(redis_url, 1000, 1000)
    slots = RedisSlots(redis_url, 8, 30.0)
    fake_jira.add_fault(Fault(kind="rate_limit", path="myself", times=1, retry_after=1))
    with client(fake_jira, site_key, budget=budget, slots=slots) as first:
        told = threading.Thread(target=first.myself)  # gets the 429, waits it out, retries
        started = time.monotonic()
        told.start()
        time.sleep(0.2)
        with client(fake_jira, site_key, budget=budget, slots=slots) as second:
            second.server_info()  # another worker, told nothing by Jira, still waits the pause out
        assert time.monotonic() - started >= 0.95
        told.join(timeout=10)
    assert (fake_jira.requests[0].endpoint, fake_jira.requests[0].status) == ("myself", 429)
    assert sorted(r.status for r in fake_jira.requests) == [200, 200, 429]
