"""Every way a Jira call can fail, classified into one canonical code with advice a person can act on
(the codes and their advice are the table in ``sync.jira.error_codes``, re-exported here).

The sync layer stores ``JiraError.to_dict()`` in SyncLog details and decides between retrying
(transient codes) and failing fast (credentials, permissions, bad JQL, a suspended site).
Classification reads the status, the ``X-Seraph-LoginReason`` header and Jira's own messages,
because the status alone lies: a bad credential can be an empty 200 (anonymous access) and an
expired token looks exactly like a wrong one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from core.errors import UpstreamError
from core.redaction import redact
from sync.jira.error_codes import ADVICE, DESCRIPTIONS, RETRYABLE, JiraErrorCode

__all__ = [
    "ADVICE",
    "DESCRIPTIONS",
    "RETRYABLE",
    "JiraError",
    "JiraErrorCode",
    "classify_exception",
    "classify_response",
    "endpoint_template",
    "extract_messages",
    "looks_deactivated",
    "make_error",
    "parse_retry_after",
    "site_deactivated_error",
]

C = JiraErrorCode

_SNIPPET_CHARS = 200
_BODY_SCAN_CHARS = 20_000
_AUTH_FAILED_REASONS = ("AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED")
_UNKNOWN_PROJECT_HINTS = ("no project could be found", "does not exist for the field 'project'")
_BAD_JQL_HINTS = ("jql", "field", "does not exist", "unbounded")
_SEARCH = re.compile(r"/rest/api/\d+/search")


class JiraError(UpstreamError):
    """A classified Jira failure; ``str()`` is ``"CODE: message"``, free of registered secrets."""

    code: JiraErrorCode

    def __init__(
        self,
        code: JiraErrorCode,
        message: str,
        *,
        status: int | None = None,
        advice: str | None = None,
        retryable: bool | None = None,
        jira_messages: list[str] | None = None,
        retry_after: float | None = None,
        endpoint: str | None = None,
    ) -> None:
        super().__init__(
            _one_line(redact(message)), code=code, advice=_one_line(redact(advice or ADVICE[code]))
        )
        self.code = code
        self.status = status
        self.retryable = code in RETRYABLE if retryable is None else retryable
        self.jira_messages = [redact(m) for m in jira_messages or []]
        self.retry_after = retry_after
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"JiraError({self.code!s}, status={self.status}, endpoint={self.endpoint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (multiprocessing, Celery).
        return (_rebuild_error, (dict(vars(self)),))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "status": self.status,
            "message": self.message,
            "advice": self.advice,
            "retryable": self.retryable,
            "endpoint": self.endpoint,
            "retry_after": self.retry_after,  # telemetry's back-off honours it
        }


def _rebuild_error(state: dict[str, Any]) -> JiraError:
    error = JiraError.__new__(JiraError)
    error.__dict__.update(state)
    Exception.__init__(error, error.message)
    return error


def make_error(
    code: JiraErrorCode,
    *,
    status: int | None = None,
    endpoint: str | None = None,
    jira_messages: list[str] | None = None,
    retry_after: float | None = None,
    detail: str = "",
) -> JiraError:
    """A JiraError whose message names the call, quotes Jira and adds ``detail`` (an exception)."""
    messages = jira_messages or []
    where = [f"HTTP {status}" if status else "", f"on {endpoint}" if endpoint else ""]
    headline = DESCRIPTIONS.get(code, str(code))
    if any(where):
        headline += f" ({' '.join(w for w in where if w)})"
    message = ": ".join(part for part in (headline, "; ".join(messages), detail) if part)
    advice = ADVICE[code]
    if code is C.BAD_JQL and messages:
        advice = f"Fix the JQL: {messages[0]}"
    elif code is C.UNKNOWN_PROJECT and messages:
        advice = f"Check the project key (Jira says: {messages[0]})"
    return JiraError(
        code,
        message,
        status=status,
        advice=_one_line(advice),
        jira_messages=messages,
        retry_after=retry_after,
        endpoint=endpoint,
    )


def classify_response(
    response: requests.Response, *, credentials_verified: bool, endpoint: str | None = None
) -> JiraError | None:
    """The error a response stands for, or None for a genuine success.

    A 503 is always SERVER_ERROR here: telling a deactivated site from an outage needs a second
    look at ``/status`` after retries, which is the client's job (see ``looks_deactivated``).
    """
    status = response.status_code
    endpoint = endpoint or endpoint_template(response.request.method or "GET", response.url)
    login_reason = response.headers.get("X-Seraph-LoginReason", "").upper()
    auth_code = C.TOKEN_EXPIRED if credentials_verified else C.AUTH_FAILED
    if 200 <= status < 300:
        if any(reason in login_reason for reason in _AUTH_FAILED_REASONS):
            # Anonymous access turned a bad credential into an empty success: it is an auth error.
            return make_error(
                auth_code,
                status=status,
                endpoint=endpoint,
                jira_messages=[f"X-Seraph-LoginReason: {login_reason}"],
            )
        return None

    messages = extract_messages(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    body = _body_head(response).lower()
    code: JiraErrorCode
    if status == 401:
        code = auth_code
    elif status == 403:
        if "suspended-payment" in body:
            code = C.SUSPENDED_PAYMENT
        elif "suspended-inactivity" in body:
            code = C.SUSPENDED_INACTIVITY
        elif any(reason in login_reason for reason in _AUTH_FAILED_REASONS):
            code = auth_code
        else:
            code = C.FORBIDDEN
    elif status == 429:
        code = C.RATE_LIMIT
    elif status in (400, 404) and _mentions(messages, _UNKNOWN_PROJECT_HINTS):
        code = C.UNKNOWN_PROJECT
    elif status == 400 and _SEARCH.search(endpoint) and _mentions(messages, _BAD_JQL_HINTS):
        code = C.BAD_JQL
    elif 300 <= status < 400:
        code = C.REDIRECTED
        messages = [f"Location: {response.headers.get('Location', '(none)')}"]
    elif status == 404:
        code = C.NOT_FOUND
    elif status == 410:
        code = C.API_REMOVED
    elif status >= 500:
        code = C.SERVER_ERROR
    else:
        code = C.BAD_REQUEST
    return make_error(code, status=status, endpoint=endpoint, jira_messages=messages, retry_after=retry_after)


def classify_exception(exc: BaseException, *, endpoint: str | None) -> JiraError:
    """Map a transport or decoding failure to a (transient) code."""
    detail = f"{type(exc).__name__}: {exc}"
    code: JiraErrorCode
    # Timeout first: ConnectTimeout is also a ConnectionError.
    if isinstance(exc, requests.Timeout) or _wraps_timeout(exc):
        code = C.TIMEOUT
    elif isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError
        | ValueError,  # json.JSONDecodeError and requests.JSONDecodeError
    ):
        code = C.MALFORMED_RESPONSE
    else:
        code = C.NETWORK_GLITCH
    return make_error(code, endpoint=endpoint, detail=detail)


def _wraps_timeout(exc: BaseException) -> bool:
    """urllib3 may hide a timeout in ``ConnectionError(MaxRetryError(reason=ReadTimeoutError))``."""
    wrapped = exc.args[0] if exc.args else None
    reason = getattr(wrapped, "reason", None)
    return isinstance(reason, urllib3.exceptions.TimeoutError)


def looks_deactivated(response: requests.Response) -> bool:
    """A deactivated site answers 503 with an HTML page and no Retry-After, on every path."""
    if response.status_code != 503 or "Retry-After" in response.headers:
        return False
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or _body_head(response).lstrip().startswith("<")


def site_deactivated_error(response: requests.Response, *, endpoint: str | None) -> JiraError:
    return make_error(
        C.SITE_DEACTIVATED,
        status=response.status_code,
        endpoint=endpoint,
        jira_messages=extract_messages(response),
    )


def extract_messages(response: requests.Response) -> list[str]:
    """Jira's own words from any of its error body shapes, each shortened to one line."""
    text = _body_head(response)
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        messages = _messages_from_json(data)
        if messages:
            return [_snippet(m) for m in messages]
    if _is_html(response, text):
        text = _strip_html(text)
    snippet = _snippet(text)
    return [snippet] if snippet else []


def _messages_from_json(data: dict[str, Any]) -> list[str]:
    messages: list[str] = []
    error_messages = data.get("errorMessages")
    if isinstance(error_messages, list):
        messages.extend(str(m) for m in error_messages if m)
    errors = data.get("errors")
    if isinstance(errors, dict):
        messages.extend(f"{field}: {msg}" for field, msg in errors.items() if msg)
    for key in ("detail", "message", "errorMessage"):  # RFC 7807, 500 bodies, agile API
        value = data.get(key)
        if isinstance(value, str) and value:
            messages.append(value)
    if not messages and isinstance(data.get("title"), str):
        messages.append(data["title"])
    return messages


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


_ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")
_KEYED_COLLECTIONS = {"project", "issue", "board", "sprint", "user", "comment", "worklog"}
_COLLECTION_VERBS = {"search", "list", "updated", "deleted", "assignable", "picker", "createmeta"}
_VERSIONED = {"api", "agile", "auth"}  # /rest/api/3: the 3 is a version, not an id


def endpoint_template(method: str, url: str) -> str:
    """``GET /rest/api/3/issue/{id}/comment`` from a URL: ids and keys become placeholders."""
    path = urlsplit(url).path or "/"
    segments = path.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        previous = segments[index - 1] if index else ""
        if previous in _VERSIONED:
            out.append(segment)
        elif (
            segment.isdigit()
            or _ISSUE_KEY.match(segment)
            or (previous in _KEYED_COLLECTIONS and segment and segment not in _COLLECTION_VERBS)
        ):
            out.append("{id}")
        else:
            out.append(segment)
    return f"{method.upper()} {'/'.join(out)}"


def _mentions(messages: list[str], hints: tuple[str, ...]) -> bool:
    joined = " ".join(messages).lower()
    return any(hint in joined for hint in hints)


def _body_head(response: requests.Response) -> str:
    try:
        return response.text[:_BODY_SCAN_CHARS]
    except Exception:  # a body that cannot be decoded says nothing useful
        return ""


def _is_html(response: requests.Response, text: str) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or text.lstrip().startswith("<")


_SCRIPTS = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_TITLE = re.compile(r"(?is)<title\b[^>]*>(.*?)</title\s*>")
_TAGS = re.compile(r"(?s)<[^>]+>")


def _strip_html(text: str) -> str:
    text = _SCRIPTS.sub(" ", text)
    title = _TITLE.search(text)
    body = _TAGS.sub(" ", _TITLE.sub(" ", text))
    parts = [title.group(1) if title else "", body]
    return unescape(" ".join(parts))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _snippet(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"
