"""Every way a Jira call can fail, reduced to one canonical code with advice a person can act on.

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
from enum import StrEnum
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from core.errors import UpstreamError
from core.redaction import redact


class JiraErrorCode(StrEnum):
    AUTH_FAILED = "AUTH_FAILED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - a code, not a secret
    FORBIDDEN = "FORBIDDEN"
    SUSPENDED_PAYMENT = "SUSPENDED_PAYMENT"
    SUSPENDED_INACTIVITY = "SUSPENDED_INACTIVITY"
    SITE_DEACTIVATED = "SITE_DEACTIVATED"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_PROJECT = "UNKNOWN_PROJECT"
    BAD_JQL = "BAD_JQL"
    BAD_REQUEST = "BAD_REQUEST"
    API_REMOVED = "API_REMOVED"
    SERVER_ERROR = "SERVER_ERROR"
    NETWORK = "NETWORK"
    TIMEOUT = "TIMEOUT"
    MALFORMED_RESPONSE = "MALFORMED_RESPONSE"
    SCHEMA_CHANGED = "SCHEMA_CHANGED"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"
    REDIRECTED = "REDIRECTED"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"


C = JiraErrorCode

ADVICE: dict[JiraErrorCode, str] = {
    C.AUTH_FAILED: "Check the site's email and API token (or PAT) and update the site "
    "(python manage.py jira_site update ...)",
    C.TOKEN_EXPIRED: "Re-create the API token at id.atlassian.com and update the site "
    "(python manage.py jira_site update ...)",
    C.FORBIDDEN: "Give the Jira user permission to browse the project (or use another user)",
    C.SUSPENDED_PAYMENT: "Contact Atlassian billing: the site is suspended for non-payment",
    C.SUSPENDED_INACTIVITY: "Reactivate the site in admin.atlassian.com: it was suspended for inactivity",
    C.SITE_DEACTIVATED: "The Jira site is deactivated: check the site URL or reactivate it in "
    "admin.atlassian.com",
    C.RATE_LIMITED: "Jira is throttling this site; the sync will retry after Retry-After. "
    "Lower JIRA_SITE_RATE if it persists",
    C.NOT_FOUND: "The Jira object no longer exists or the user cannot see it; check its permissions",
    C.UNKNOWN_PROJECT: "Check the project key: it does not exist or the Jira user cannot browse it",
    C.BAD_JQL: "Fix the JQL",
    C.BAD_REQUEST: "Jira rejected the request; report it with the SyncLog details if it persists",
    C.API_REMOVED: "Jira removed this API: upgrade jiraplus to a version that uses its replacement",
    C.SERVER_ERROR: "Jira answered with a server error; the sync retries. Check "
    "status.atlassian.com if it persists",
    C.NETWORK: "Could not reach Jira; check the site URL, DNS and the network. The sync retries",
    C.TIMEOUT: "Jira did not answer in time; the sync retries. Raise JIRA_READ_TIMEOUT if it persists",
    C.MALFORMED_RESPONSE: "Jira sent an incomplete or unreadable answer; the sync retries",
    C.SCHEMA_CHANGED: "Jira answered in an unexpected shape: upgrade jiraplus or report the SyncLog details",
    C.URL_NOT_ALLOWED: "Use the site's public https URL (e.g. https://your-site.atlassian.net); for a Data "
    "Center on a private network set JIRAPLUS_ALLOW_PRIVATE_JIRA=true",
    C.REDIRECTED: "Jira redirects this URL elsewhere and redirects are not followed: register the site "
    "under the URL it redirects to",
    C.RESPONSE_TOO_LARGE: "Jira sent more than JIRA_MAX_RESPONSE_BYTES in one response; raise it if the "
    "site really has such pages, or lower SYNC_PAGE_SIZE",
}

# Truncated or garbled bodies come from dropped connections and overloaded edges: worth another try.
RETRYABLE = frozenset({C.RATE_LIMITED, C.SERVER_ERROR, C.NETWORK, C.TIMEOUT, C.MALFORMED_RESPONSE})

_DESCRIPTIONS: dict[JiraErrorCode, str] = {
    C.AUTH_FAILED: "Jira rejected the credentials",
    C.TOKEN_EXPIRED: "Jira rejected credentials that worked before (token revoked or expired)",
    C.FORBIDDEN: "Jira refused access",
    C.SUSPENDED_PAYMENT: "The Jira site is suspended for non-payment",
    C.SUSPENDED_INACTIVITY: "The Jira site is suspended for inactivity",
    C.SITE_DEACTIVATED: "The Jira site is deactivated",
    C.RATE_LIMITED: "Jira rate limit reached",
    C.NOT_FOUND: "Not found",
    C.UNKNOWN_PROJECT: "Unknown Jira project",
    C.BAD_JQL: "Jira rejected the JQL",
    C.BAD_REQUEST: "Jira rejected the request",
    C.API_REMOVED: "Jira removed this API",
    C.SERVER_ERROR: "Jira server error",
    C.NETWORK: "Could not connect to Jira",
    C.TIMEOUT: "Jira did not answer in time",
    C.MALFORMED_RESPONSE: "Jira sent an incomplete or unreadable answer",
    C.SCHEMA_CHANGED: "Jira answered in an unexpected shape",
    C.URL_NOT_ALLOWED: "The site URL is not allowed",
    C.REDIRECTED: "Jira answered with a redirect",
    C.RESPONSE_TOO_LARGE: "Jira's answer is larger than allowed",
}

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
    headline = _DESCRIPTIONS.get(code, str(code))
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
        code = C.RATE_LIMITED
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
        code = C.NETWORK
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
