"""A per-site concurrency budget: at most JIRA_SITE_CONCURRENCY requests in flight to one Jira site, counted
over every worker process.

The rate budget (``budget.py``) bounds requests per second, not requests open at once: against a slow site
(a search taking seconds) many workers could each hold a request open and pile load on it. A slot is taken
before each attempt and given back when its answer has been read. Slots are short leases
(JIRA_SLOT_LEASE_SECONDS, 15 s) that a thread of the holding process renews every third of a lease for
as long as the slot is held, however long the attempt takes (a slow page, a Retry-After waited out): a
worker killed while holding slots stops renewing them, so they come back within one lease, not after the
longest an attempt could last. Redis keeps the slots in production (a sorted set of holder tokens scored
by lease expiry, on the server's clock); the embedded profile keeps them in a locked JSON file per site.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

from sync.jira.budget import configured_store

logger = logging.getLogger("sync.jira.budget")

KEY_PREFIX = "jiraplus:slots:"
_POLL_SECONDS = (0.01, 0.05)  # a waiter re-checks this often (jittered): requests end at any moment


class SiteSlots(Protocol):
    def acquire(self, site_key: str) -> tuple[str, float]:
        """Block until a slot is free and take it; returns (holder token, seconds waited)."""
        ...

    def release(self, site_key: str, token: str) -> None:
        """Give the slot back (a no-op if its lease already ran out)."""
        ...


class NullSlots(SiteSlots):
    """No shared limit (tests, one-off scripts)."""

    def acquire(self, site_key: str) -> tuple[str, float]:
        return "", 0.0

    def release(self, site_key: str, token: str) -> None:
        return None


class _PollingSlots(SiteSlots):
    def __init__(self, limit: int, lease_seconds: float) -> None:
        if limit < 1 or lease_seconds <= 0:
            raise ValueError(f"Need limit >= 1 and lease > 0, got limit={limit} lease={lease_seconds}")
        self.limit = int(limit)
        self.lease_seconds = float(lease_seconds)
        self._held: dict[str, str] = {}  # token -> site key, the slots this process holds now
        self._lock = threading.Lock()
        self._renewer_pid = 0  # the process whose thread renews; a forked child starts its own

    def _try_take(self, site_key: str, token: str) -> bool:
        raise NotImplementedError

    def _give(self, site_key: str, token: str) -> None:
        raise NotImplementedError

    def _renew(self, site_key: str, tokens: list[str]) -> None:
        """Push the leases of ``tokens`` (held by this process) one lease past now."""
        raise NotImplementedError

    def acquire(self, site_key: str) -> tuple[str, float]:
        token = uuid.uuid4().hex
        started = time.monotonic()
        while not self._try_take(site_key, token):
            time.sleep(random.uniform(*_POLL_SECONDS))
        with self._lock:
            if self._renewer_pid != os.getpid():  # first slot of this process (or of a forked child)
                self._held = {}
                self._renewer_pid = os.getpid()
                threading.Thread(target=self._renew_forever, name="jira-slot-leases", daemon=True).start()
            self._held[token] = site_key
        return token, time.monotonic() - started

    def release(self, site_key: str, token: str) -> None:
        with self._lock:
            self._held.pop(token, None)
        self._give(site_key, token)

    def renew_held(self) -> None:
        with self._lock:
            by_site: dict[str, list[str]] = {}
            for token, site_key in self._held.items():
                by_site.setdefault(site_key, []).append(token)
        for site_key, tokens in by_site.items():
            self._renew(site_key, tokens)

    def _renew_forever(self) -> None:
        pid = os.getpid()
        while self._renewer_pid == pid:
            time.sleep(self.lease_seconds / 3)
            try:
                self.renew_held()
            except Exception:  # never let the renewer die: a missed renewal only shortens a lease
                logger.warning("Could not renew Jira concurrency slots", exc_info=True)


_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(lease * 1000))
return 1
"""

# Only tokens still in the set: a lease that already ran out stays given up (its slot may be reused).
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], math.ceil(lease * 1000))
return 1
"""


class RedisSlots(_PollingSlots):
    def __init__(self, redis_url: str, limit: int, lease_seconds: float) -> None:
        super().__init__(limit, lease_seconds)
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._script: Any = self._redis.register_script(_TAKE)
        self._renew_script: Any = self._redis.register_script(_RENEW)
        self._redis_error: type[Exception] = redis.RedisError

    def _try_take(self, site_key: str, token: str) -> bool:
        try:
            return bool(
                self._script(keys=[KEY_PREFIX + site_key], args=[token, self.limit, self.lease_seconds])
            )
        except self._redis_error as exc:
            # Fail open like the rate budget: a lost Redis must not stop syncing.
            logger.warning(
                "Jira concurrency budget unavailable (%s); sending without the shared limit",
                type(exc).__name__,
                extra={"jira_site": site_key},
            )
            return True

    def _give(self, site_key: str, token: str) -> None:
        with contextlib.suppress(self._redis_error):  # else the lease frees the slot by itself
            self._redis.zrem(KEY_PREFIX + site_key, token)

    def _renew(self, site_key: str, tokens: list[str]) -> None:
        with contextlib.suppress(self._redis_error):  # fail open, as when taking
            self._renew_script(keys=[KEY_PREFIX + site_key], args=[self.lease_seconds, *tokens])

    def holders(self, site_key: str) -> int:
        """Slots held now (expired leases not yet swept included)."""
        return int(self._redis.zcard(KEY_PREFIX + site_key))


class FileSlots(_PollingSlots):
    """The same slots in ``<directory>/<site>.slots.json`` ({token: lease expiry}), atomic by ``flock``."""

    def __init__(self, directory: str | os.PathLike[str], limit: int, lease_seconds: float) -> None:
        super().__init__(limit, lease_seconds)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _update(self, site_key: str, take: str | None, give: str | None, renew: tuple[str, ...] = ()) -> bool:
        path = self.directory / (re.sub(r"[^A-Za-z0-9._-]", "_", site_key) + ".slots.json")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            try:
                held = {k: float(v) for k, v in json.loads(handle.read() or "{}").items()}
            except (ValueError, AttributeError):  # a torn write from a killed process: start afresh
                held = {}
            now = time.time()
            held = {k: expiry for k, expiry in held.items() if expiry > now and k != give}
            held.update({k: now + self.lease_seconds for k in renew if k in held})
            taken = take is not None and len(held) < self.limit
            if taken:
                held[str(take)] = now + self.lease_seconds
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(held))
            handle.flush()
        return taken

    def _try_take(self, site_key: str, token: str) -> bool:
        return self._update(site_key, token, None)

    def _give(self, site_key: str, token: str) -> None:
        self._update(site_key, None, token)

    def _renew(self, site_key: str, tokens: list[str]) -> None:
        self._update(site_key, None, None, tuple(tokens))


_UNLIMITED = NullSlots()


def lease_from_settings() -> float:
    return float(settings.JIRA_SLOT_LEASE_SECONDS)


def slots_from_settings() -> SiteSlots:
    """Slots on the same store as the rate budget (JIRA_BUDGET_BACKEND), one object per process."""
    limit, lease = int(settings.JIRA_SITE_CONCURRENCY), lease_from_settings()
    if limit <= 0:
        return _UNLIMITED  # JIRA_SITE_CONCURRENCY=0: no concurrency limit
    return configured_store(
        ("slots", limit, lease),
        redis=lambda url: RedisSlots(url, limit, lease),
        file=lambda directory: FileSlots(directory, limit, lease),
        none=lambda: _UNLIMITED,
    )
