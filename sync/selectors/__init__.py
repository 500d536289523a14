"""Read queries shared by the interfaces (admin, GraphQL, REST, commands); database reads only.

By concern: ``issues`` (API issue reads and their prefetching), ``history`` (changelog reads), ``trail``
(jobs, states, runs, logs), ``projects`` (sites, projects, people), ``export`` (the export format). The
names the interfaces use are re-exported here, so ``selectors.X`` keeps working.
"""

from sync.selectors.export import (
    history_export,
    issues_export,
    sprints_export,
    users_export,
)
from sync.selectors.history import (
    SprintScopeChange,
    StatusTime,
    assignee_handoffs,
    issue_time_in_status,
    sprint_by_jira_id,
    sprint_scope_changes,
)
from sync.selectors.issues import (
    CHANGE_ORDER,
    MAX_PAGE_SIZE,
    IssueFilters,
    IssueIncludes,
    issue_authors_attach,
    issue_by_key,
    issue_changes,
    issue_comments,
    issue_current_sprint,
    issue_history,
    issue_parents_attach,
    issue_queryset,
    issue_rows,
    issue_sprints,
    issue_worklogs,
    issues_with_details,
    project_live_issues,
)
from sync.selectors.projects import (
    project_sprints,
    project_users,
    projects_list,
    site_by_ref,
    tracked_users,
    webhook_status,
)
from sync.selectors.trail import (
    MAX_TRAIL_LIMIT,
    run_last_value,
    run_summary,
    runs_recent,
    sync_job_get,
    sync_jobs,
    sync_logs,
    sync_runs,
    sync_states,
)

__all__ = [
    "CHANGE_ORDER",
    "MAX_PAGE_SIZE",
    "MAX_TRAIL_LIMIT",
    "IssueFilters",
    "IssueIncludes",
    "SprintScopeChange",
    "StatusTime",
    "assignee_handoffs",
    "history_export",
    "issue_authors_attach",
    "issue_by_key",
    "issue_changes",
    "issue_comments",
    "issue_current_sprint",
    "issue_history",
    "issue_parents_attach",
    "issue_queryset",
    "issue_rows",
    "issue_sprints",
    "issue_time_in_status",
    "issue_worklogs",
    "issues_export",
    "issues_with_details",
    "project_live_issues",
    "project_sprints",
    "project_users",
    "projects_list",
    "run_last_value",
    "run_summary",
    "runs_recent",
    "site_by_ref",
    "sprint_by_jira_id",
    "sprint_scope_changes",
    "sprints_export",
    "sync_job_get",
    "sync_jobs",
    "sync_logs",
    "sync_runs",
    "sync_states",
    "tracked_users",
    "users_export",
    "webhook_status",
]
