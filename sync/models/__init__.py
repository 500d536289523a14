"""Sync's models, by concern: mirrored Jira data (``jira``), webhook intake (``webhooks``) and the trail
every sync leaves (``trail``). Every model is re-exported here: ``from sync.models import X`` and the
migrations name them from this package.
"""

from sync.models.jira import (
    AuthKind,
    Comment,
    Deployment,
    Issue,
    IssueChange,
    IssueSprint,
    JiraSite,
    JiraUser,
    LiveIssueManager,
    Project,
    ProjectTrackedUser,
    Sprint,
    Worklog,
)
from sync.models.tenancy import SiteAccess
from sync.models.trail import (
    ACTIVE_RUN_STATUSES,
    RunStatus,
    SyncEntity,
    SyncJob,
    SyncLog,
    SyncRun,
    SyncRunDaily,
    SyncState,
)
from sync.models.webhooks import PendingRefresh, WebhookEvent

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "AuthKind",
    "Comment",
    "Deployment",
    "Issue",
    "IssueChange",
    "IssueSprint",
    "JiraSite",
    "JiraUser",
    "LiveIssueManager",
    "PendingRefresh",
    "Project",
    "ProjectTrackedUser",
    "RunStatus",
    "SiteAccess",
    "Sprint",
    "SyncEntity",
    "SyncJob",
    "SyncLog",
    "SyncRun",
    "SyncRunDaily",
    "SyncState",
    "WebhookEvent",
    "Worklog",
]
