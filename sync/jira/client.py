"""The only code that speaks HTTP to Jira: ``JiraClient`` is every REST call the product makes.

It is assembled from one transport (``sync.jira.transport``: auth, timeouts, retries, the shared
budget, the size cap, timing) and the endpoint groups in ``sync.jira.endpoints``, which walk pages
with ``sync.jira.paging``. The names other modules use are re-exported here, so callers import
from one place.
"""

from __future__ import annotations

from sync.jira.endpoints.agile import AGILE_PAGE_SIZE, AgileCalls
from sync.jira.endpoints.comments_worklogs import (
    COMMENT_PAGE_SIZE,
    WORKLOG_LIST_CHUNK,
    WORKLOG_PAGE_SIZE,
    CommentWorklogCalls,
)
from sync.jira.endpoints.issues import (
    BULK_CHANGELOG_ISSUES,
    BULK_CHANGELOG_PAGE_SIZE,
    CHANGELOG_PAGE_SIZE,
    ID_PAGE_SIZE,
    IssueCalls,
    embedded_overflow,
)
from sync.jira.endpoints.overflow import Overflow, OverflowCalls, OverflowItems
from sync.jira.endpoints.site import PROJECT_PAGE_SIZE, USER_PAGE_SIZE, SiteCalls, SiteIdentity
from sync.jira.endpoints.writes import WriteCalls
from sync.jira.paging import SearchPage, WorklogFeedPage
from sync.jira.shapes import JSON
from sync.jira.transport import USER_AGENT, JiraCredentials, RequestCounter, ResponseTooLarge

__all__ = [
    "AGILE_PAGE_SIZE",
    "BULK_CHANGELOG_ISSUES",
    "BULK_CHANGELOG_PAGE_SIZE",
    "CHANGELOG_PAGE_SIZE",
    "COMMENT_PAGE_SIZE",
    "ID_PAGE_SIZE",
    "JSON",
    "PROJECT_PAGE_SIZE",
    "USER_AGENT",
    "USER_PAGE_SIZE",
    "WORKLOG_LIST_CHUNK",
    "WORKLOG_PAGE_SIZE",
    "JiraClient",
    "JiraCredentials",
    "Overflow",
    "OverflowItems",
    "RequestCounter",
    "ResponseTooLarge",
    "SearchPage",
    "SiteIdentity",
    "WorklogFeedPage",
    "embedded_overflow",
]


class JiraClient(SiteCalls, OverflowCalls, IssueCalls, CommentWorklogCalls, AgileCalls, WriteCalls):
    """One site's client: ``JiraClient(credentials, budget=..., counter=...)``, usable as a context
    manager. Every group shares the transport's session, budget and request counter."""
