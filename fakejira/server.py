"""The HTTP server: a stdlib ThreadingHTTPServer on a background thread, with auth, faults and counters.

Responses are written in one ``write`` (status line, headers and body together) with TCP_NODELAY, so a
keep-alive client never waits on Nagle's algorithm meeting delayed ACKs (~40 ms per request otherwise).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from fakejira import control
from fakejira.api import Route, Site, resolve
from fakejira.data import FakeData
from fakejira.faults import Fault, FaultBook
from fakejira.latency import InFlight, Latency, identity
from fakejira.model import FakeDataConfig
from fakejira.responses import customise, fault_response
from fakejira.webhooks import WebhookSender
from fakejira.wire import (
    ApiError,
    Request,
    Response,
    error,
    json_response,
    problem_not_found,
    unauthenticated,
)

# Faults that change how a normal answer is produced instead of replacing it.
_PASS_THROUGH = frozenset({"slow", "truncate", "expired_token"})


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int  # 0 when the connection was dropped without an answer
    endpoint: str  # route name, "not_found" for unknown paths
    received: float = 0.0  # time.monotonic() when the request arrived
    answered: float = 0.0  # time.monotonic() when its answer was ready (latency and faults included)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeJira) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its end mid-request is routine here (timeouts, drop faults, stop()).
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, for the client's pooled session
    server_version = "fake-jira"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr lines."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        received = time.monotonic()
        url = urlsplit(self.path)
        body = self._read_body()
        if url.path.startswith("/_fake/"):
            if not control.is_loopback(self.client_address[0]):
                self._write(error(403, "The control interface only answers on loopback."))
            else:
                self._write(control.handle(fake, self.command, url.path, url.query, body))
            return
        counted = url.path.startswith("/rest/") or url.path == "/status"
        if not counted:
            self._answer(fake, url.path, url.query, body, received, answered=None)
            return
        with fake.in_flight.track(identity(self.headers.get("Authorization"))) as answered:
            self._answer(fake, url.path, url.query, body, received, answered=answered)

    def _answer(
        self,
        fake: FakeJira,
        path: str,
        query: str,
        body: bytes,
        received: float,
        *,
        answered: Callable[[], None] | None,
    ) -> None:
        """``answered`` (for counted requests) ends the request's count in flight before a byte is sent."""
        response, endpoint, truncate = fake.answer(self.command, path, query, body, self.headers)
        if answered is not None:
            status = 0 if response is None else response.status
            fake.record(RequestRecord(self.command, path, status, endpoint, received, time.monotonic()))
            answered()
        if response is None:  # drop: close without a byte of answer
            self.close_connection = True
            return
        self._write(response, truncate=truncate)

    def _read_body(self) -> bytes:
        # Always consume the whole body, or the next request on this keep-alive connection is garbage.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response, *, truncate: bool = False) -> None:
        body = response.body[: len(response.body) // 2] if truncate else response.body
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body if self.command != "HEAD" else head)


class FakeJira:
    """A fake Jira site over real HTTP. ``start()`` it, point a client at ``base_url``, ``stop()`` it."""

    def __init__(
        self,
        config: FakeDataConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data: FakeData | None = None,
        latency_ms: float = 0.0,
        search_latency_ms: float = 0.0,
    ) -> None:
        """``latency_ms``/``search_latency_ms``: added before every answer (searches take the second)."""
        self.data = data or FakeData(config)
        self.config = self.data.config
        self.faults = FaultBook()
        self.latency = Latency(other_ms=latency_ms, search_ms=search_latency_ms)
        self.in_flight = InFlight()
        self._host = host
        self._port = port
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._site: Site | None = None
        self.webhooks = WebhookSender(self.data.now)
        self.data.listeners.append(self.webhooks.listen)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self._host, self._port), self)
        port = self._server.server_address[1]
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host  # noqa: S104 - mapping, not binding
        self._site = Site(self.data, f"http://{host}:{port}")
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-jira:{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.webhooks.stop()
        server.shutdown()
        with server.connections_lock:
            for connection in list(server.connections):
                with contextlib.suppress(OSError):  # wakes handlers blocked on idle keep-alive reads
                    connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- identity ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._site is None:
            raise RuntimeError("FakeJira is not started")
        return self._site.base_url

    @property
    def email(self) -> str:
        return self.config.email

    @property
    def api_token(self) -> str:
        return self.config.api_token

    @property
    def pat(self) -> str:
        return self.config.pat

    def info(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "email": self.email,
            "api_token": self.api_token,
            "pat": self.pat,
            "deployment": self.config.deployment,
            "time_zone": self.data.time_zone,
            "projects": {key: len(p.issue_ids) for key, p in self.data.projects.items()},
        }

    # -- faults and counters ----------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def record(self, record: RequestRecord) -> None:
        with self._records_lock:
            self._records.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    def most_requests_within(self, seconds: float = 1.0) -> int:
        """The most requests that arrived within any ``seconds`` (a sliding window): what a rate limit
        of requests per second is checked against."""
        arrivals = sorted(r.received for r in self.requests)
        most, first = 0, 0
        for last, at in enumerate(arrivals):
            while at - arrivals[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    def request_count(self, path_prefix: str | None = None) -> int:
        with self._records_lock:
            if path_prefix is None:
                return len(self._records)
            return sum(1 for r in self._records if r.path.startswith(path_prefix))

    def reset_counters(self) -> None:
        with self._records_lock:
            self._records.clear()
        self.in_flight.reset()

    def max_in_flight(self, identity: str | None = None) -> int:
        """The most API requests answered at once since the last reset, by everyone or by one user."""
        return self.in_flight.max_in_flight(identity)

    def stats(self) -> dict[str, Any]:
        by_endpoint: dict[str, int] = {}
        for record in self.requests:
            by_endpoint[record.endpoint] = by_endpoint.get(record.endpoint, 0) + 1
        return {
            "total": sum(by_endpoint.values()),
            "by_endpoint": by_endpoint,
            "max_in_flight": self.in_flight.to_json(),
            "most_in_one_second": self.most_requests_within(1.0),
        }

    # -- answering --------------------------------------------------------------------------------
    def authenticate(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if self.config.deployment == "Cloud":
            if scheme.lower() != "basic":
                return False
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return user.lower() == self.email.lower() and hmac.compare_digest(password, self.api_token)
        return scheme.lower() == "bearer" and hmac.compare_digest(value, self.pat)

    def answer(
        self, method: str, path: str, query: str, body: bytes, headers: Any
    ) -> tuple[Response | None, str, bool]:
        """(response or None to drop the connection, endpoint name, truncate the body?)."""
        site = self._site
        assert site is not None
        resolved = resolve(path, self.config.deployment)
        endpoint = resolved[0].name if resolved else "not_found"
        if path.startswith("/rest/") or path == "/status":
            self.latency.wait(endpoint)
        fault = self.faults.take(method, path) if path.startswith("/rest/") or path == "/status" else None
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.kind == "drop":
                return None, endpoint, False
            if fault.kind not in _PASS_THROUGH:
                return fault_response(fault), endpoint, False
        credentials = headers.get("Authorization")
        authenticated = self.authenticate(credentials)
        if fault is not None and fault.kind == "expired_token":
            authenticated = False  # a revoked or expired token looks exactly like a wrong one
        request = Request(method, path, parse_qs(query, keep_blank_values=True), body, authenticated)
        response = self._route(site, request, resolved)
        if resolved is not None and resolved[0].name != "status":
            if authenticated:
                response.headers["X-Seraph-LoginReason"] = "OK"
                response.headers["X-AAccountId"] = self.data.api_user_id
            elif credentials or resolved[0].auth != "public":
                response.headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
        if fault is not None:
            response = customise(response, fault)
        return response, endpoint, fault is not None and fault.kind == "truncate"

    def _route(self, site: Site, request: Request, resolved: tuple[Route, dict[str, str]] | None) -> Response:
        if resolved is None:
            return problem_not_found(request.path)
        route, request.params = resolved
        if request.method not in route.methods:
            return error(405, f"HTTP method {request.method} is not supported by this resource.")
        if route.auth == "required" and not request.authenticated:
            response = unauthenticated()
        else:
            try:
                response = route.handler(site, request)
            except ApiError as problem:
                response = problem.response
            except Exception as problem:  # a bug in the fake: answer like Jira's 500, and show it
                traceback.print_exc()
                response = json_response(
                    {"message": repr(problem), "status-code": 500, "stack-trace": traceback.format_exc()}, 500
                )
        return response
