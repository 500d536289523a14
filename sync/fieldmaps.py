"""The public fields of the sync app's models, for GraphQL, REST, the admin and the store alike.

Order is REST's rendering order. ``rest=False`` / ``graphql=False`` marks the few places where the two
published contracts differ on purpose (renaming them would break clients); everything else is shared.
"""

from __future__ import annotations

from core.interfaces.fields import Field, FieldMap
from sync import models

USER = FieldMap(
    models.JiraUser,
    (Field("account_id"), Field("display_name"), Field("active"), Field("account_type")),
)

SPRINT = FieldMap(
    models.Sprint,
    (
        Field("id", "jira_id", description="Jira's sprint id."),
        Field("board_id", null=True),
        Field("name"),
        Field("state"),
        Field("start_date", null=True),
        Field("end_date", null=True),
        Field("complete_date", null=True),
        Field("goal"),
    ),
)

# A missing author (Jira sent none: anonymous, or an account since removed) is null in REST and in a
# history item; a comment's or worklog's GraphQL author is never null (the spec's User!), so there it is a
# stand-in user whose accountId is "".
_AUTHOR = Field("author", null=True)
_SPEC_AUTHOR = (
    Field("author", null=True, graphql=False),
    Field("author", description='accountId "" when Jira names no author.', rest=False),
)

COMMENT = FieldMap(
    models.Comment,
    (
        Field("id", "jira_id", description="Jira's comment id."),
        *_SPEC_AUTHOR,
        Field("body", "body_text", description="Plain text of the comment."),
        Field("body_adf", null=True, description="The comment as Jira's document format (JSON)."),
        Field("created"),
        Field("updated"),
    ),
)

WORKLOG = FieldMap(
    models.Worklog,
    (
        Field("id", "jira_id", description="Jira's worklog id."),
        *_SPEC_AUTHOR,
        Field("time_spent_seconds", graphql=False),
        Field("time_spent", "time_spent_seconds", description="Seconds.", rest=False),
        Field("started"),
        Field("created"),
        Field("updated"),
        Field("comment", "comment_text", description="Plain text of the worklog's comment."),
    ),
)

ISSUE_CHANGE = FieldMap(
    models.IssueChange,
    (
        Field("history_id", graphql=False),
        Field(
            "id",
            "history_id",
            description="Jira's changelog history id (a history may change several fields).",
            rest=False,
        ),
        Field("created"),
        _AUTHOR,
        Field("field"),
        Field("field_type"),
        # REST declares it as from_value ("from" is a Python keyword); its rename when rendering puts it last.
        Field("from", "from_value", null=True),
        Field("to", "to_value", null=True),
        Field("from_string", null=True),
        Field("to_string", null=True),
    ),
)

# What the issue list renders; the detail and GraphQL's Issue add relations.
ISSUE = FieldMap(
    models.Issue,
    (
        Field("id", "jira_id", description="Jira's issue id."),
        Field("key"),
        Field("summary"),
        Field("status"),
        Field("status_category"),
        Field("priority", null=True, description="Null when Jira has none."),
        Field("issue_type"),
        Field("labels"),
        Field("story_points", null=True),
        Field("created"),
        Field("updated"),
        Field("resolved", null=True),
        Field("assignee", null=True),
        Field("reporter", null=True),
        # REST renders flat ids, GraphQL the objects (``parent``, ``sprints``).
        Field("parent_id", None, null=True, graphql=False),
        Field("sprint_ids", None, graphql=False),
    ),
)

ISSUE_DETAIL = ISSUE.extend(
    Field("description_text"),
    Field("sprint", None, null=True, description="The open sprint the issue is in, else its latest."),
    Field("sprints", "prefetched_sprints"),
    Field("comments", "prefetched_comments"),
    Field("worklogs", "prefetched_worklogs"),
)

# GraphQL's Issue: the detail plus what REST serves elsewhere (history) or not at all.
ISSUE_TYPE = ISSUE_DETAIL.extend(
    Field("project_key", None, rest=False),
    Field("parent", None, null=True, rest=False),
    Field("history", "prefetched_changes", description="Oldest first."),
    Field("time_in_status", None, description="Adds up to the issue's age."),
)

ISSUE_HISTORY = ISSUE_TYPE.only("id", "key", "created", "status", "time_in_status", "history")

SYNC_JOB = FieldMap(
    models.SyncJob,
    (
        Field("id"),
        Field("project", "project.key", graphql=False),
        Field("status"),
        Field("cron", graphql=False),
        Field("cron_schedule", "cron", description="The operator's cron.", rest=False),
        Field("effective_cron", None, description="The cron beat uses (backed off or not)."),
        Field("time_zone"),
        Field(
            "workflow_id",
            description="Stable per project: sync:<site id>:<Jira project id>.",
        ),
        Field(
            "workflow_run_id",
            null=True,
            description="The active run's id, else the last run's (what workflowId was before).",
        ),
        Field(
            "schedule_id",
            description="The name of the beat entry (django-celery-beat PeriodicTask) ticking the job.",
        ),
        Field(
            "periodic_task_id",
            "periodic_task_id",
            null=True,
            description="The beat entry's row id (what scheduleId was before).",
        ),
        Field("paused_note"),
        Field("paused_by"),
        Field("paused_at", null=True),
        Field("last_run_at", null=True),
        Field("next_run_at", null=True),
        Field("last_error_code"),
    ),
)

PROJECT = FieldMap(
    models.Project,
    (
        Field("id", "jira_id", description="Jira's project id."),
        Field("key"),
        Field("name"),
        Field("site", "site.name", description="The site's name."),
        Field("sync_job", null=True),
    ),
)

SYNC_STATE = FieldMap(
    models.SyncState,
    (
        Field("entity"),
        Field("status"),
        Field("sync_status", "status", description="status as the SyncStatus enum.", rest=False),
        # The spec's lastSyncTime is never null: GraphQL gives a state never synced the Unix epoch (nothing
        # stored yet is "everything Jira changed before 1970"); REST keeps its null.
        Field("last_sync_time", null=True, graphql=False),
        Field(
            "last_sync_time",
            description="Everything Jira changed before this instant is stored; the Unix epoch (1970-01-01) "
            "while nothing is.",
            rest=False,
        ),
        Field("last_error_code"),
        Field("updated_at"),
    ),
)

SYNC_RUN = FieldMap(
    models.SyncRun,
    (
        Field("id"),
        Field("status"),
        Field("trigger"),
        Field("full"),
        Field("account_ids"),
        Field("step"),
        Field("nominal_time", null=True, rest=False),
        Field("window_start", null=True),
        Field("window_end", null=True),
        Field("issues_done"),
        Field("approx_total", null=True),
        Field("counts"),
        Field("request_total"),
        Field("coalesced"),
        Field("attempt"),
        Field("error_code"),
        Field("error_message"),
        Field("cancel_requested_at", null=True),
        Field("cancelled_by"),
        Field("cancel_note"),
        Field("created_at"),
        Field("started_at", null=True),
        Field("finished_at", null=True),
        Field("duration_ms", null=True),
    ),
)

SYNC_LOG = FieldMap(
    models.SyncLog,
    (
        Field("id", graphql=False),
        Field("run_id", null=True),
        Field("level"),
        Field("message"),
        Field("details"),
        Field("created_at"),
    ),
)

# Every map with the model it describes, for the tests that pin the faces against them.
ALL = {
    "USER": USER,
    "SPRINT": SPRINT,
    "COMMENT": COMMENT,
    "WORKLOG": WORKLOG,
    "ISSUE_CHANGE": ISSUE_CHANGE,
    "ISSUE": ISSUE,
    "ISSUE_DETAIL": ISSUE_DETAIL,
    "ISSUE_TYPE": ISSUE_TYPE,
    "ISSUE_HISTORY": ISSUE_HISTORY,
    "SYNC_JOB": SYNC_JOB,
    "PROJECT": PROJECT,
    "SYNC_STATE": SYNC_STATE,
    "SYNC_RUN": SYNC_RUN,
    "SYNC_LOG": SYNC_LOG,
}
