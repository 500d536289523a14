"""A per-site request budget shared by every process that talks to the same Jira site.

Jira's burst limits apply to the site (and token), not to a worker, so N workers each pacing
themselves would still overrun it. A token bucket per site lives where all workers can see it: Redis
in production (an atomic Lua script on the server's clock, so worker clocks do not matter), a locked
JSON file per site in the embedded profile. A 429's Retry-After pauses the whole site: every process
waits it out, not just the one that was told.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

logger = logging.getLogger("sync.jira.budget")

KEY_PREFIX = "jiraplus:budget:"
_IDLE_TTL_SECONDS = 300  # an idle site's bucket is full again long before this; let Redis forget it


class RequestBudget(Protocol):
    def acquire(self, site_key: str) -> float:
        """Block until one request to the site may go; returns the seconds waited."""
        ...

    def pause(self, site_key: str, seconds: float) -> None:
        """Hold every process's requests to the site for ``seconds`` (a 429's Retry-After)."""
        ...


class NullBudget(RequestBudget):
    """No shared limit (tests, one-off scripts); the client still honours Retry-After on its own."""

    def acquire(self, site_key: str) -> float:
        return 0.0

    def pause(self, site_key: str, seconds: float) -> None:
        return None


class _PollingBucket(RequestBudget):
    """Shared acquire loop: take a token atomically, or sleep as long as the store says."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"Need rate > 0 and burst >= 1, got rate={rate} burst={burst}")
        self.rate = float(rate)
        self.burst = int(burst)

    def _try_take(self, site_key: str) -> float:
        """Take a token and return 0, or return the seconds until one may be available."""
        raise NotImplementedError

    def acquire(self, site_key: str) -> float:
        started = time.monotonic()
        while True:
            wait = self._try_take(site_key)
            if wait <= 0:
                return time.monotonic() - started
            # Jitter spreads waiters that were all told the same instant so they do not collide.
            time.sleep(wait + random.uniform(0, 0.5 / self.rate))


_TAKE_OR_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused_until')
local tokens = tonumber(s[1]) or burst
local ts = tonumber(s[2]) or now
local paused_until = tonumber(s[3]) or 0
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local wait = 0
if ARGV[1] == 'pause' then
  paused_until = math.max(paused_until, now + tonumber(ARGV[4]))
  tokens = 0
  ts = paused_until
elseif now < paused_until then
  wait = paused_until - now
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
  'ts', string.format('%.6f', ts), 'paused_until', string.format('%.6f', paused_until))
local ttl = tonumber(ARGV[5]) + math.max(0, paused_until - now)
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))
return string.format('%.6f', wait)
"""


class RedisTokenBucket(_PollingBucket):
    def __init__(self, redis_url: str, rate: float, burst: int) -> None:
        super().__init__(rate, burst)
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._script: Any = self._redis.register_script(_TAKE_OR_PAUSE)
        self._redis_error: type[Exception] = redis.RedisError

    def _call(self, mode: str, site_key: str, seconds: float = 0.0) -> float:
        args = [mode, self.rate, self.burst, seconds, _IDLE_TTL_SECONDS]
        try:
            return float(self._script(keys=[KEY_PREFIX + site_key], args=args))
        except self._redis_error as exc:
            # Fail open: a lost budget must not stop syncing; Jira's 429s still protect the site.
            logger.warning(
                "Jira request budget unavailable (%s); sending without the shared limit",
                type(exc).__name__,
                extra={"jira_site": site_key},
            )
            return 0.0

    def _try_take(self, site_key: str) -> float:
        return self._call("take", site_key)

    def pause(self, site_key: str, seconds: float) -> None:
        self._call("pause", site_key, max(0.0, seconds))


class FileTokenBucket(_PollingBucket):
    """The same bucket in ``<directory>/<site>.json``, kept atomic across processes by ``flock``."""

    def __init__(self, directory: str | os.PathLike[str], rate: float, burst: int) -> None:
        super().__init__(rate, burst)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, site_key: str) -> Path:
        return self.directory / (re.sub(r"[^A-Za-z0-9._-]", "_", site_key) + ".json")

    def _update(self, site_key: str, pause_seconds: float | None) -> float:
        fd = os.open(self._path(site_key), os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            try:
                state = json.loads(handle.read() or "{}")
            except ValueError:  # a torn write from a killed process: start afresh
                state = {}
            state, wait = self._step(state, time.time(), pause_seconds)
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state))
            handle.flush()
        return wait

    def _step(
        self, state: dict[str, float], now: float, pause_seconds: float | None
    ) -> tuple[dict[str, float], float]:
        tokens = float(state.get("tokens", self.burst))
        ts = float(state.get("ts", now))
        paused_until = float(state.get("paused_until", 0.0))
        if now > ts:
            tokens, ts = min(self.burst, tokens + (now - ts) * self.rate), now
        wait = 0.0
        if pause_seconds is not None:
            paused_until = max(paused_until, now + pause_seconds)
            # Refill restarts when the pause ends: no burst right after a 429.
            tokens, ts = 0.0, paused_until
        elif now < paused_until:
            wait = paused_until - now
        elif tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        return {"tokens": tokens, "ts": ts, "paused_until": paused_until}, wait

    def _try_take(self, site_key: str) -> float:
        return self._update(site_key, None)

    def pause(self, site_key: str, seconds: float) -> None:
        self._update(site_key, max(0.0, seconds))


_stores: dict[tuple[Any, ...], Any] = {}


def configured_store(
    params: tuple[Any, ...],
    *,
    redis: Callable[[str], T],
    file: Callable[[Path], T],
    none: Callable[[], T],
) -> T:
    """One object per process (per ``params``) on the store JIRA_BUDGET_BACKEND names ("redis" | "file" |
    "none"): built with ``redis(url)``, ``file(directory)`` or ``none()``. The rate budget and the
    concurrency slots both live there."""
    backend = (settings.JIRA_BUDGET_BACKEND or "none").lower()
    key = (backend, settings.REDIS_URL, str(settings.VAR_DIR), *params)
    if key not in _stores:
        if backend == "redis":
            if not settings.REDIS_URL:
                raise ImproperlyConfigured("JIRA_BUDGET_BACKEND=redis needs REDIS_URL")
            _stores[key] = redis(settings.REDIS_URL)
        elif backend == "file":
            _stores[key] = file(Path(settings.VAR_DIR) / "budget")
        elif backend == "none":
            _stores[key] = none()
        else:
            raise ImproperlyConfigured(f"JIRA_BUDGET_BACKEND={backend!r}: use redis, file or none")
    store: T = _stores[key]
    return store


def budget_from_settings() -> RequestBudget:
    """The rate budget on the configured store, one per process."""
    rate, burst = float(settings.JIRA_SITE_RATE), int(settings.JIRA_SITE_BURST)
    return configured_store(
        ("rate", rate, burst),
        redis=lambda url: RedisTokenBucket(url, rate, burst),
        file=lambda directory: FileTokenBucket(directory, rate, burst),
        none=NullBudget,
    )
