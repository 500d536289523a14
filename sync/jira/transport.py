"""HTTP to Jira, one request at a time: session and auth, timeouts, retries, the shared budgets (rate and
requests in flight per site), the response size cap, the egress check and per-attempt timing.

Retries are our own loop rather than urllib3's ``Retry`` so that every attempt passes the shared
per-site budget and is counted (SyncRun.http_requests); urllib3 would hide its retries from both.
Every response goes through ``classify_response``, so an empty 200 that is really an auth failure
never reads as "nothing changed".
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.redaction import register_secret
from sync.jira.budget import RequestBudget, budget_from_settings
from sync.jira.egress import check_site_url
from sync.jira.errors import (
    JiraError,
    JiraErrorCode,
    classify_exception,
    classify_response,
    endpoint_template,
    looks_deactivated,
    make_error,
    site_deactivated_error,
)
from sync.jira.shapes import JSON
from sync.jira.slots import SiteSlots, slots_from_settings

# The client's historical logger name: log routing and alerting select Jira traffic by it.
logger = logging.getLogger("sync.jira.client")

_PARALLEL_UNCAPPED = 8
_ANONYMOUS_PATHS = {"/status"}  # answered without credentials: success there proves nothing
# Failures without a meaningful status: the counter key names them instead.
_TRANSPORT_FAILURES = {
    JiraErrorCode.NETWORK_GLITCH,
    JiraErrorCode.TIMEOUT,
    JiraErrorCode.MALFORMED_RESPONSE,
}


def _user_agent() -> str:
    try:
        version = metadata.version("jiraplus")
    except metadata.PackageNotFoundError:
        version = "0.1.0"
    return f"jiraplus/{version}"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class JiraCredentials:
    base_url: str
    auth_kind: Literal["basic", "bearer"]
    token: str = field(repr=False)
    email: str = ""
    deployment: Literal["cloud", "datacenter"] = "cloud"
    site_key: str = ""  # budget key; defaults to the base URL's host[:port]

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.site_key:
            parts = urlsplit(self.base_url)
            host = (parts.hostname or "").lower()
            object.__setattr__(self, "site_key", f"{host}:{parts.port}" if parts.port else host)
        if self.auth_kind == "basic" and not self.email:
            raise ValueError("Basic auth (Jira Cloud) needs the account email with the API token")


@dataclass
class RequestCounter:
    """Every HTTP attempt, retries included, keyed ``"GET /rest/api/3/issue/{id} 200"``."""

    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    elapsed_ms: int = 0  # time spent waiting for Jira's answers, all attempts
    # Overflow pages are read on several threads of one client (sync.jira.endpoints.overflow).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, endpoint: str, outcome: int | str, elapsed_ms: int = 0) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[f"{endpoint} {outcome}"] += 1
            self.elapsed_ms += elapsed_ms

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_endpoint": dict(sorted(self.by_endpoint.items()))}

    def take(self) -> RequestCounter:
        """What was counted so far, the counter starting again from zero: one step, so a request
        another thread records meanwhile is counted in one or the other, never lost."""
        with self._lock:
            taken = RequestCounter(self.total, self.by_endpoint, self.elapsed_ms)
            self.total, self.by_endpoint, self.elapsed_ms = 0, Counter(), 0
        return taken


class ResponseTooLarge(Exception):
    pass


class Transport:
    """Credentials, budget and retry policy of one client; ``_get``/``_post`` return decoded JSON."""

    def __init__(
        self,
        credentials: JiraCredentials,
        *,
        budget: RequestBudget | None = None,
        slots: SiteSlots | None = None,
        counter: RequestCounter | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        retry_after_max: float | None = None,
        credentials_verified: bool = False,
        max_response_bytes: int | None = None,
    ) -> None:
        register_secret(credentials.token)
        self.credentials = credentials
        self.budget = budget if budget is not None else budget_from_settings()
        self.slots = slots if slots is not None else slots_from_settings()
        self.counter = counter if counter is not None else RequestCounter()
        self.timeout = (
            _or(connect_timeout, settings.JIRA_CONNECT_TIMEOUT),
            _or(read_timeout, settings.JIRA_READ_TIMEOUT),
        )
        self.max_attempts = max(1, int(_or(max_attempts, settings.JIRA_MAX_ATTEMPTS)))
        self.backoff_base = _or(backoff_base, settings.JIRA_BACKOFF_BASE)
        self.backoff_max = _or(backoff_max, settings.JIRA_BACKOFF_MAX)
        self.retry_after_max = _or(retry_after_max, settings.JIRA_RETRY_AFTER_MAX)
        self.max_response_bytes = int(_or(max_response_bytes, settings.JIRA_MAX_RESPONSE_BYTES))
        self._egress_checked = False
        # Once these credentials have worked, a 401 means the token was revoked or expired.
        self.credentials_verified = credentials_verified
        self.api = "2" if credentials.deployment == "datacenter" else "3"
        self._sleep: Callable[[float], None] = time.sleep
        self._session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # No urllib3 retries (our loop counts and budgets each attempt); read=False lets a read
        # timeout surface as itself instead of a ConnectionError wrapping MaxRetryError.
        no_retries = Retry(total=0, read=False, redirect=False, raise_on_status=False)
        # As many kept-alive connections as requests the client may have in flight (overflow threads).
        pool = max(4, parallel_requests())
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=no_retries)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if self.credentials.auth_kind == "basic":
            session.auth = (self.credentials.email, self.credentials.token)
        else:
            session.headers["Authorization"] = f"Bearer {self.credentials.token}"
        return session

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def site_key(self) -> str:
        return self.credentials.site_key

    # --- requests --------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, Any] | None = None) -> JSON:
        return self._request("GET", path, params=params)

    def _post(self, path: str, body: dict[str, Any]) -> JSON:
        return self._request("POST", path, json_body=body)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> JSON:
        if not self._egress_checked:
            check_site_url(self.credentials.base_url, allow_private=settings.JIRAPLUS_ALLOW_PRIVATE_JIRA)
            self._egress_checked = True
        url = self.credentials.base_url + path
        endpoint = endpoint_template(method, path)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(1, self.max_attempts + 1):
            data, error, response = self._attempt(
                method, url, endpoint, attempt=attempt, params=clean_params, json_body=json_body
            )
            if error is None:
                if path not in _ANONYMOUS_PATHS:
                    self.credentials_verified = True
                return data
            if error.code is JiraErrorCode.RATE_LIMIT and error.retry_after is not None:
                # Hold every worker of this site, but never longer than we would wait ourselves.
                self.budget.pause(self.site_key, min(error.retry_after, self.retry_after_max))
            if not error.retryable or attempt == self.max_attempts:
                raise self._final_error(error, response, path)
            self._wait_before_retry(error, endpoint, attempt)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        attempt: int,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> tuple[JSON, JiraError | None, requests.Response | None]:
        # The slot first, then the rate token: the token is spent right before sending, and a 429's
        # pause (kept by the rate budget) holds the request after it got its slot, not while it queues.
        slot, slot_waited = self.slots.acquire(self.site_key)
        try:
            waited = self.budget.acquire(self.site_key)
            started = time.monotonic()
            data, error, response = self._send(method, url, endpoint, params=params, json_body=json_body)
        finally:
            self.slots.release(self.site_key, slot)
        outcome: int | str = response.status_code if response is not None else ""
        if error is not None and error.code in _TRANSPORT_FAILURES:
            outcome = f"{outcome} {error.code}".strip()
        elapsed_ms = round((time.monotonic() - started) * 1000)
        self.counter.record(endpoint, outcome, elapsed_ms)
        logger.debug(
            "jira %s -> %s in %d ms (attempt %d, budget wait %.2fs, slot wait %.2fs)",
            endpoint,
            outcome,
            elapsed_ms,
            attempt,
            waited,
            slot_waited,
            extra={
                "jira_site": self.site_key,
                "jira_endpoint": endpoint,
                "jira_status": outcome,
                "jira_elapsed_ms": elapsed_ms,
                "jira_attempt": attempt,
                "jira_budget_wait_s": round(waited, 3),
                "jira_slot_wait_s": round(slot_waited, 3),
            },
        )
        return data, error, response

    def _send(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        params: dict[str, Any] | None,
        json_body: dict[str, Any] | None,
    ) -> tuple[JSON, JiraError | None, requests.Response | None]:
        """One request, its body read and classified; never raises for what Jira or the network do."""
        response: requests.Response | None = None
        data: JSON = None
        try:
            # Never follow a redirect: the checked host must not hand the request (and its credentials
            # header) to another one. Bodies are read with a cap.
            response = self._session.request(
                method,
                url,
                params=params,
                json=json_body,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
            self._read_capped(response)
            error = classify_response(
                response, credentials_verified=self.credentials_verified, endpoint=endpoint
            )
            if error is None and response.content:
                data = json.loads(response.content)
        except ResponseTooLarge as exc:
            error = make_error(JiraErrorCode.RESPONSE_TOO_LARGE, endpoint=endpoint, detail=str(exc))
        except (requests.RequestException, ValueError) as exc:
            error = classify_exception(exc, endpoint=endpoint)
        return data, error, response

    def _read_capped(self, response: requests.Response) -> None:
        body = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise ResponseTooLarge(f"more than {self.max_response_bytes} bytes")
        finally:
            response.close()
        response._content = bytes(body)  # what .content/.json() read from now on

    def _wait_before_retry(self, error: JiraError, endpoint: str, attempt: int) -> None:
        retry_after = error.retry_after
        if retry_after is not None and retry_after > self.retry_after_max:
            raise error  # the sync layer re-schedules rather than pinning a worker
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)  # full jitter
        if retry_after is not None:
            delay = retry_after + random.uniform(0, min(self.backoff_base, 1.0))
        logger.warning(
            "jira %s failed with %s (attempt %d of %d); retrying in %.2fs",
            endpoint,
            error.code,
            attempt,
            self.max_attempts,
            delay,
            extra={
                "jira_site": self.site_key,
                "jira_endpoint": endpoint,
                "jira_status": error.status,
                "jira_error_code": str(error.code),
                "jira_attempt": attempt,
                "jira_retry_in_s": round(delay, 3),
            },
        )
        self._sleep(delay)

    def _final_error(self, error: JiraError, response: requests.Response | None, path: str) -> JiraError:
        """After the retries, a 503 HTML page may mean a deactivated site: ``/status`` decides."""
        if response is None or not looks_deactivated(response):
            return error
        if path == "/status":
            return site_deactivated_error(response, endpoint=error.endpoint)
        status_url = self.credentials.base_url + "/status"
        _, probe_error, probe = self._attempt("GET", status_url, "GET /status", attempt=1)
        if probe_error is not None and probe is not None and looks_deactivated(probe):
            return site_deactivated_error(response, endpoint=error.endpoint)
        return error


def parallel_requests() -> int:
    """How many requests one client sends at once when it reads concurrently: the per-site cap
    (JIRA_SITE_CONCURRENCY), or a fixed few when the cap is off (0); the slots bound them over all."""
    return int(settings.JIRA_SITE_CONCURRENCY) or _PARALLEL_UNCAPPED


def _or(value: float | int | None, default: float | int) -> float:
    return float(default if value is None else value)
