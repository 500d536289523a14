"""The per-site request budget holds across processes: real Redis, a real lock file, spawned workers."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sync.jira.budget import (
    KEY_PREFIX,
    FileTokenBucket,
    NullBudget,
    RedisTokenBucket,
    RequestBudget,
    budget_from_settings,
)

RATE = 20.0
BURST = 5
WORKERS = 4
PER_WORKER = 15


def make_bucket(kind: str, where: str) -> RequestBudget:
    if kind == "redis":
        return RedisTokenBucket(where, RATE, BURST)
    return FileTokenBucket(where, RATE, BURST)


def take_tokens(kind: str, where: str, site_key: str, count: int, start_at: float) -> list[float]:
    """Child process: from the common start instant, take ``count`` tokens; report when each came."""
    bucket = make_bucket(kind, where)
    time.sleep(max(0.0, start_at - time.time()))
    stamps = []
    for _ in range(count):
        bucket.acquire(site_key)
        stamps.append(time.time())
    return stamps


def acquire_once(kind: str, where: str, site_key: str) -> float:
    make_bucket(kind, where).acquire(site_key)
    return time.time()


_ready: Any = None


def _remember_barrier(barrier: Any) -> None:
    global _ready  # noqa: PLW0603 - per-process state of a pool worker
    _ready = barrier


def _warm_up() -> None:
    _ready.wait(60)  # returns only once every worker is up, so each ran one of these


@pytest.fixture(scope="module")
def workers() -> Iterator[ProcessPoolExecutor]:
    """Spawned worker processes, started once: spawning costs more than the tests themselves."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    with ProcessPoolExecutor(WORKERS, ctx, _remember_barrier, (barrier,)) as pool:
        for future in [pool.submit(_warm_up) for _ in range(WORKERS)]:
            future.result(timeout=60)
        yield pool


def run_workers(pool: ProcessPoolExecutor, kind: str, where: str, site_key: str) -> list[float]:
    start_at = time.time() + 0.2
    futures = [pool.submit(take_tokens, kind, where, site_key, PER_WORKER, start_at) for _ in range(WORKERS)]
    return sorted(t for future in futures for t in future.result(timeout=30))


def assert_rate_held(stamps: list[float]) -> None:
    assert len(stamps) == WORKERS * PER_WORKER
    total = WORKERS * PER_WORKER
    # The burst goes at once, every further token waits its 1/rate turn.
    assert stamps[-1] - stamps[0] >= (total - BURST) / RATE - 0.05
    for i, first in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < first + 1.0)
        assert in_window <= RATE + BURST, f"{in_window} requests within 1 s of {first}"


@pytest.fixture(scope="module")
def redis_url() -> str:
    # Read here, not at import: spawned children import this module and must not load settings.
    # The conftest's default is the fallback in case settings were loaded before it ran.
    return settings.REDIS_URL or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def site_key(redis_url: str) -> Any:
    site_key = f"test-{uuid.uuid4().hex[:8]}.atlassian.net"
    yield site_key
    redis.Redis.from_url(redis_url).delete(KEY_PREFIX + site_key)


def test_redis_bucket_shares_the_rate_across_processes(workers, redis_url, site_key):
    assert_rate_held(run_workers(workers, "redis", redis_url, site_key))


def test_file_bucket_shares_the_rate_across_processes(workers, tmp_path):
    assert_rate_held(run_workers(workers, "file", str(tmp_path), "acme.atlassian.net"))


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_pause_makes_another_process_wait(workers, kind, redis_url, site_key, tmp_path):
    where = redis_url if kind == "redis" else str(tmp_path)
    paused_at = time.time()
    make_bucket(kind, where).pause(site_key, 1.0)
    acquired_at = workers.submit(acquire_once, kind, where, site_key).result(timeout=30)
    assert acquired_at >= paused_at + 1.0 - 0.02


def test_burst_goes_at_once_then_the_rate_applies(redis_url, site_key):
    bucket = RedisTokenBucket(redis_url, RATE, BURST)
    waits = [bucket.acquire(site_key) for _ in range(BURST)]
    assert max(waits) < 0.05
    started = time.monotonic()
    for _ in range(4):
        bucket.acquire(site_key)
    assert time.monotonic() - started >= 3 / RATE


def test_redis_bucket_keys_expire(redis_url, site_key):
    RedisTokenBucket(redis_url, RATE, BURST).acquire(site_key)
    ttl = redis.Redis.from_url(redis_url).ttl(KEY_PREFIX + site_key)
    assert 0 < ttl <= 300


def test_an_unreachable_redis_fails_open():
    bucket = RedisTokenBucket("redis://127.0.0.1:1/0", RATE, BURST)
    started = time.monotonic()
    assert bucket.acquire("acme.atlassian.net") < 1
    bucket.pause("acme.atlassian.net", 60)
    assert time.monotonic() - started < 5


def test_a_torn_state_file_is_reset(tmp_path):
    bucket = FileTokenBucket(tmp_path, RATE, BURST)
    (Path(tmp_path) / "acme.atlassian.net.json").write_text('{"tokens": ')
    assert bucket.acquire("acme.atlassian.net") < 0.05


def test_null_budget_never_waits():
    budget = NullBudget()
    budget.pause("acme", 60)
    assert budget.acquire("acme") == 0.0


@pytest.mark.parametrize(
    ("backend", "kind"),
    [("redis", RedisTokenBucket), ("file", FileTokenBucket), ("none", NullBudget)],
)
def test_budget_from_settings_picks_the_backend(settings, redis_url, backend, kind):
    settings.REDIS_URL = redis_url
    settings.JIRA_BUDGET_BACKEND = backend
    budget = budget_from_settings()
    assert isinstance(budget, kind)
    assert budget_from_settings() is budget  # one per process: shared by every client in it


def test_budget_from_settings_rejects_unknown_backends(settings):
    settings.JIRA_BUDGET_BACKEND = "memcached"
    with pytest.raises(ImproperlyConfigured, match="memcached"):
        budget_from_settings()
