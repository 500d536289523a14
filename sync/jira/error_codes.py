"""The canonical Jira error codes and, for each, what it means and what a person can do about it.

Kept apart from classification (``sync.jira.errors``): this is data to read and review at a glance,
and importing it needs nothing but the standard library and core.

The names are the spec's (``RATE_LIMIT``, ``NETWORK_GLITCH``, ``SUSPENDED_PAYMENT``...). Codes renamed to
match it keep their old names as aliases (``CODE_ALIASES``, in core because notifications reads it too):
``JiraErrorCode("RATE_LIMITED")`` is ``JiraErrorCode.RATE_LIMIT``.
"""

from __future__ import annotations

from enum import StrEnum

from core.codes import CODE_ALIASES, code_canonical

__all__ = ["ADVICE", "CODE_ALIASES", "DESCRIPTIONS", "RETRYABLE", "JiraErrorCode", "code_canonical"]


class JiraErrorCode(StrEnum):
    AUTH_FAILED = "AUTH_FAILED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - a code, not a secret
    FORBIDDEN = "FORBIDDEN"
    SUSPENDED_PAYMENT = "SUSPENDED_PAYMENT"
    SUSPENDED_INACTIVITY = "SUSPENDED_INACTIVITY"
    SITE_DEACTIVATED = "SITE_DEACTIVATED"
    RATE_LIMIT = "RATE_LIMIT"
    NOT_FOUND = "NOT_FOUND"
    UNKNOWN_PROJECT = "UNKNOWN_PROJECT"
    BAD_JQL = "BAD_JQL"
    BAD_REQUEST = "BAD_REQUEST"
    API_REMOVED = "API_REMOVED"
    SERVER_ERROR = "SERVER_ERROR"
    NETWORK_GLITCH = "NETWORK_GLITCH"
    TIMEOUT = "TIMEOUT"
    MALFORMED_RESPONSE = "MALFORMED_RESPONSE"
    SCHEMA_CHANGED = "SCHEMA_CHANGED"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"
    REDIRECTED = "REDIRECTED"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"

    @classmethod
    def _missing_(cls, value: object) -> JiraErrorCode | None:
        """An old name (a stored row, an operator's setting) reads as its canonical code."""
        canonical = CODE_ALIASES.get(str(value))
        return None if canonical is None else cls(canonical)


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
    C.RATE_LIMIT: "Jira is throttling this site; the sync will retry after Retry-After. "
    "Lower JIRA_SITE_RATE if it persists",
    C.NOT_FOUND: "The Jira object no longer exists or the user cannot see it; check its permissions",
    C.UNKNOWN_PROJECT: "Check the project key: it does not exist or the Jira user cannot browse it",
    C.BAD_JQL: "Fix the JQL",
    C.BAD_REQUEST: "Jira rejected the request; report it with the SyncLog details if it persists",
    C.API_REMOVED: "Jira removed this API: upgrade jiraplus to a version that uses its replacement",
    C.SERVER_ERROR: "Jira answered with a server error; the sync retries. Check "
    "status.atlassian.com if it persists",
    C.NETWORK_GLITCH: "Could not reach Jira; check the site URL, DNS and the network. The sync retries",
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
RETRYABLE = frozenset({C.RATE_LIMIT, C.SERVER_ERROR, C.NETWORK_GLITCH, C.TIMEOUT, C.MALFORMED_RESPONSE})

DESCRIPTIONS: dict[JiraErrorCode, str] = {
    C.AUTH_FAILED: "Jira rejected the credentials",
    C.TOKEN_EXPIRED: "Jira rejected credentials that worked before (token revoked or expired)",
    C.FORBIDDEN: "Jira refused access",
    C.SUSPENDED_PAYMENT: "The Jira site is suspended for non-payment",
    C.SUSPENDED_INACTIVITY: "The Jira site is suspended for inactivity",
    C.SITE_DEACTIVATED: "The Jira site is deactivated",
    C.RATE_LIMIT: "Jira rate limit reached",
    C.NOT_FOUND: "Not found",
    C.UNKNOWN_PROJECT: "Unknown Jira project",
    C.BAD_JQL: "Jira rejected the JQL",
    C.BAD_REQUEST: "Jira rejected the request",
    C.API_REMOVED: "Jira removed this API",
    C.SERVER_ERROR: "Jira server error",
    C.NETWORK_GLITCH: "Could not connect to Jira",
    C.TIMEOUT: "Jira did not answer in time",
    C.MALFORMED_RESPONSE: "Jira sent an incomplete or unreadable answer",
    C.SCHEMA_CHANGED: "Jira answered in an unexpected shape",
    C.URL_NOT_ALLOWED: "The site URL is not allowed",
    C.REDIRECTED: "Jira answered with a redirect",
    C.RESPONSE_TOO_LARGE: "Jira's answer is larger than allowed",
}
