"""Outgoing webhooks: what Jira POSTs to an admin-registered URL after each change, signed with its secret.

Mutations hand events to ``WebhookSender.listen`` under the data lock; a few background threads deliver
them (``X-Hub-Signature: sha256=<HMAC of the raw body>``, ``X-Atlassian-Webhook-Identifier``), retrying a
failed delivery a few times. Like Jira, deliveries run in parallel, so their order is not guaranteed.
Deliveries are recorded for tests and benchmarks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from fakejira.timefmt import epoch_ms

RETRY_DELAYS = (0.2, 1.0, 3.0)  # Jira retries failed deliveries with a back-off
SENDERS = 4


@dataclass
class Registration:
    id: int
    url: str
    secret: str = field(repr=False)
    events: frozenset[str] = frozenset()  # empty: every event

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": sorted(self.events)}


@dataclass(frozen=True)
class Delivery:
    registration: int
    event: str
    identifier: str
    status: int  # 0 when the receiver could not be reached
    queued_at: float  # time.time() when the change happened
    sent_at: float
    attempt: int


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, now_ms: Any) -> None:
        self._now_ms = now_ms  # the fake site's clock, for the event's `timestamp`
        self._registrations: dict[int, Registration] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Registration, str, bytes, float] | None] = queue.Queue()
        self._deliveries: list[Delivery] = []
        self._threads = [
            threading.Thread(target=self._run, name=f"fake-jira-webhooks-{n}", daemon=True)
            for n in range(SENDERS)
        ]
        for thread in self._threads:
            thread.start()

    # -- registrations ----------------------------------------------------------------------------
    def register(self, url: str, secret: str, events: list[str] | None = None) -> Registration:
        if not url.startswith(("http://", "https://")):
            raise ValueError("'url' must be an http(s) URL")
        if not secret:
            raise ValueError("'secret' is required: Jira signs webhooks only when one is set")
        with self._lock:
            registration = Registration(self._next_id, url, secret, frozenset(events or ()))
            self._registrations[registration.id] = registration
            self._next_id += 1
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name=f"fake-jira-webhooks-{n}", daemon=True)
                    for n in range(SENDERS)
                ]
                for thread in self._threads:
                    thread.start()
            return registration

    def registrations(self) -> list[Registration]:
        with self._lock:
            return list(self._registrations.values())

    def clear(self) -> None:
        with self._lock:
            self._registrations.clear()

    # -- events -----------------------------------------------------------------------------------
    def listen(self, event: str, body: dict[str, Any]) -> None:
        """A FakeData listener: called under the data lock, so it only enqueues."""
        registrations = [r for r in self.registrations() if r.wants(event)]
        if not registrations:
            return
        payload = {"timestamp": epoch_ms(self._now_ms()), "webhookEvent": event, **body}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        for registration in registrations:
            self._queue.put((registration, event, raw, time.time()))

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued event was delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        alive = [t for t in self._threads if t.is_alive()]
        for _ in alive:
            self._queue.put(None)
        for thread in alive:
            thread.join(timeout=5)

    def _run(self) -> None:
        with requests.Session() as session:  # one keep-alive connection per sender
            while True:
                item = self._queue.get()
                try:
                    if item is None:
                        return
                    self._deliver(session, *item)
                finally:
                    self._queue.task_done()

    def _deliver(
        self, session: requests.Session, registration: Registration, event: str, raw: bytes, queued_at: float
    ) -> None:
        identifier = str(uuid.uuid4())  # one per event; retries carry the same one
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Hub-Signature": sign(registration.secret, raw),
            "X-Atlassian-Webhook-Identifier": identifier,
            "User-Agent": "Atlassian Webhook HTTP Client",
        }
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS), start=1):
            time.sleep(delay)
            try:
                status = session.post(
                    registration.url,
                    data=raw,
                    headers={**headers, "X-Atlassian-Webhook-Retry": str(attempt - 1)},
                    timeout=10,
                ).status_code
            except requests.RequestException:
                status = 0
            with self._lock:
                self._deliveries.append(
                    Delivery(registration.id, event, identifier, status, queued_at, time.time(), attempt)
                )
            # Jira retries on connection failures, 408, 409, 425, 429 and 5xx; anything else is final.
            if status and status not in (408, 409, 425, 429) and status < 500:
                return
