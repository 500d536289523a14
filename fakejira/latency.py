"""A slow site: per-request latency (searches slower than the rest) and the most requests held in flight.

A real Jira answers many requests at once and a search takes far longer than a lookup; the fake sleeps on
the handler's own thread (the server is threaded) so concurrent requests overlap as they would there. The
in-flight peaks per identity (the authenticated user) show how many requests a client fleet had open
against one account at once, which is what a per-site concurrency budget must bound.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# The routes whose cost grows with the data set (JQL evaluation), slow on a large real site.
SEARCH_ENDPOINTS = frozenset({"search_jql", "search", "approximate_count"})


class Latency:
    """Milliseconds added before answering: ``search_ms`` for searches, ``other_ms`` for the rest."""

    def __init__(self, *, other_ms: float = 0.0, search_ms: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.other_ms = 0.0
        self.search_ms = 0.0
        self.set(other_ms=other_ms, search_ms=search_ms)

    def set(self, *, other_ms: float | None = None, search_ms: float | None = None) -> None:
        for value in (other_ms, search_ms):
            if value is not None and value < 0:
                raise ValueError("latency cannot be negative")
        with self._lock:
            if other_ms is not None:
                self.other_ms = float(other_ms)
            if search_ms is not None:
                self.search_ms = float(search_ms)

    def seconds(self, endpoint: str) -> float:
        with self._lock:
            return (self.search_ms if endpoint in SEARCH_ENDPOINTS else self.other_ms) / 1000

    def wait(self, endpoint: str) -> None:
        delay = self.seconds(endpoint)
        if delay > 0:
            time.sleep(delay)

    def to_json(self) -> dict[str, float]:
        with self._lock:
            return {"latency_ms": self.other_ms, "search_latency_ms": self.search_ms}


def identity(header: str | None) -> str:
    """Who a request is from: the Basic user name, a digest of a Bearer token, or ``anonymous``."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return "invalid"
        return user.lower() or "anonymous"
    if scheme.lower() == "bearer" and value:
        # Never echo a token into stats; a short digest tells tokens apart.
        return "bearer:" + hashlib.sha256(value.encode()).hexdigest()[:12]
    return "anonymous"


class InFlight:
    """Requests being answered now, and the most ever seen at once, overall and per identity."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._total = 0
        self._total_peak = 0

    @contextmanager
    def track(self, who: str) -> Iterator[Callable[[], None]]:
        """Count a request from now until the ``answered`` it yields is called (at the latest, when the
        block ends). Call it before writing the answer: a client that has read the whole answer may send
        its next request at once, before this thread would come back to count the first one done."""
        with self._lock:
            self._current[who] = self._current.get(who, 0) + 1
            self._peak[who] = max(self._peak.get(who, 0), self._current[who])
            self._total += 1
            self._total_peak = max(self._total_peak, self._total)
        ended = False

        def answered() -> None:
            nonlocal ended
            with self._lock:
                if not ended:
                    ended = True
                    self._current[who] -= 1
                    self._total -= 1

        try:
            yield answered
        finally:
            answered()

    def max_in_flight(self, who: str | None = None) -> int:
        with self._lock:
            return self._total_peak if who is None else self._peak.get(who, 0)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total_peak, "by_identity": dict(self._peak)}

    def reset(self) -> None:
        """Peaks restart from what is in flight now (a request being answered still counts)."""
        with self._lock:
            self._peak = {who: n for who, n in self._current.items() if n > 0}
            self._total_peak = self._total
