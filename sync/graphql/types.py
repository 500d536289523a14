"""The sync app's GraphQL object types: Jira data and the sync trail.

Field resolvers read what the root resolvers prefetched (see ``selectors.issue_rows``) and never query.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType

from sync import models, selectors

# --- Enums --------------------------------------------------------------------------------------------

SyncJobStatus = graphene.Enum("SyncJobStatus", [(s.value, s.value) for s in models.SyncJob.Status])
SyncStatus = graphene.Enum("SyncStatus", [(s.value, s.value) for s in models.SyncState.Status])
SyncRunStatus = graphene.Enum("SyncRunStatus", [(s.value, s.value) for s in models.RunStatus])


def _choice(value: str) -> str:
    """A model choice as the plain string GraphQL enums serialise (a fresh instance holds the choices'
    enum member itself, which graphene would try to match as a member of its own enum)."""
    return str(value)


# --- Jira data ------------------------------------------------------------------------------------------


class User(DjangoObjectType):
    account_id = graphene.String(required=True)
    display_name = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    account_type = graphene.String(required=True)

    class Meta:
        model = models.JiraUser
        fields = ("account_id", "display_name", "active", "account_type")


def _author(user: models.JiraUser | None) -> models.JiraUser:
    # Jira may return an item whose author account was removed; the contract promises a User.
    return user or models.JiraUser(account_id="", display_name="Unknown user", active=False)


class Sprint(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's sprint id.")
    board_id = graphene.ID()

    class Meta:
        model = models.Sprint
        fields = ("name", "state", "start_date", "end_date", "complete_date", "goal")
        convert_choices_to_enum = False

    @staticmethod
    def resolve_id(root: models.Sprint, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_board_id(root: models.Sprint, info: graphene.ResolveInfo) -> str | None:
        return None if root.board_id is None else str(root.board_id)


class Comment(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's comment id.")
    author = graphene.Field(User, required=True)
    body = graphene.String(required=True, description="Plain text of the comment.")
    body_adf = GenericScalar(description="The comment as Jira's document format (JSON).")

    class Meta:
        model = models.Comment
        fields = ("created", "updated")

    @staticmethod
    def resolve_id(root: models.Comment, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_author(root: models.Comment, info: graphene.ResolveInfo) -> models.JiraUser:
        return _author(root.author)

    @staticmethod
    def resolve_body(root: models.Comment, info: graphene.ResolveInfo) -> str:
        return root.body_text

    @staticmethod
    def resolve_body_adf(root: models.Comment, info: graphene.ResolveInfo) -> Any:
        return root.body_adf


class Worklog(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's worklog id.")
    author = graphene.Field(User, required=True)
    time_spent = graphene.Int(required=True, description="Seconds.")
    comment = graphene.String(required=True, description="Plain text of the worklog's comment.")

    class Meta:
        model = models.Worklog
        fields = ("started", "created", "updated")

    @staticmethod
    def resolve_id(root: models.Worklog, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_author(root: models.Worklog, info: graphene.ResolveInfo) -> models.JiraUser:
        return _author(root.author)

    @staticmethod
    def resolve_time_spent(root: models.Worklog, info: graphene.ResolveInfo) -> int:
        return root.time_spent_seconds

    @staticmethod
    def resolve_comment(root: models.Worklog, info: graphene.ResolveInfo) -> str:
        return root.comment_text


class IssueChange(DjangoObjectType):
    """One field change from the issue's Jira changelog: ids in from/to, display text in *String."""

    id = graphene.ID(
        required=True, description="Jira's changelog history id (a history may change several fields)."
    )
    author = graphene.Field(User)
    field = graphene.String(required=True)
    field_type = graphene.String(required=True)
    from_ = graphene.String(name="from")
    to = graphene.String()
    from_string = graphene.String()
    to_string = graphene.String()

    class Meta:
        model = models.IssueChange
        fields = ("created",)

    @staticmethod
    def resolve_id(root: models.IssueChange, info: graphene.ResolveInfo) -> str:
        return str(root.history_id)

    @staticmethod
    def resolve_from_(root: models.IssueChange, info: graphene.ResolveInfo) -> str | None:
        return root.from_value

    @staticmethod
    def resolve_to(root: models.IssueChange, info: graphene.ResolveInfo) -> str | None:
        return root.to_value


class StatusTime(graphene.ObjectType):
    status = graphene.String(required=True)
    seconds = graphene.Float(
        required=True, description="Time spent in the status, up to now for the current one."
    )


class Issue(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's issue id.")
    project_key = graphene.String(required=True)
    labels = graphene.List(graphene.NonNull(graphene.String), required=True)
    story_points = graphene.Float()
    assignee = graphene.Field(User)
    reporter = graphene.Field(User)
    parent = graphene.Field(lambda: Issue)
    sprint = graphene.Field(Sprint, description="The open sprint the issue is in, else its latest.")
    sprints = graphene.List(graphene.NonNull(Sprint), required=True)
    comments = graphene.List(graphene.NonNull(Comment), required=True)
    worklogs = graphene.List(graphene.NonNull(Worklog), required=True)
    history = graphene.List(graphene.NonNull(IssueChange), required=True, description="Oldest first.")
    time_in_status = graphene.List(
        graphene.NonNull(StatusTime), required=True, description="Adds up to the issue's age."
    )

    class Meta:
        model = models.Issue
        fields = (
            "key",
            "summary",
            "status",
            "status_category",
            "priority",
            "issue_type",
            "created",
            "updated",
            "resolved",
            "description_text",
        )

    @staticmethod
    def resolve_id(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_project_key(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return root.key.rsplit("-", 1)[0]

    @staticmethod
    def resolve_parent(root: models.Issue, info: graphene.ResolveInfo) -> models.Issue | None:
        if root.parent_jira_id is None:
            return None
        if not hasattr(root, "parent_issue"):  # a parent's parent: not batched, one query
            selectors.attach_parents([root])
        parent: models.Issue | None = root.parent_issue  # type: ignore[attr-defined]
        return parent

    @staticmethod
    def resolve_sprint(root: models.Issue, info: graphene.ResolveInfo) -> models.Sprint | None:
        return selectors.current_sprint(root)

    @staticmethod
    def resolve_sprints(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Sprint]:
        return selectors.issue_sprints(root)

    @staticmethod
    def resolve_comments(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Comment]:
        return selectors.issue_comments(root)

    @staticmethod
    def resolve_worklogs(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Worklog]:
        return selectors.issue_worklogs(root)

    @staticmethod
    def resolve_history(root: models.Issue, info: graphene.ResolveInfo) -> list[models.IssueChange]:
        return selectors.issue_history(root)

    @staticmethod
    def resolve_time_in_status(root: models.Issue, info: graphene.ResolveInfo) -> list[selectors.StatusTime]:
        return selectors.time_in_status(root)


class SprintScopeChange(graphene.ObjectType):
    issue = graphene.Field(Issue, required=True)
    change = graphene.String(required=True, description="added or removed")
    at = graphene.DateTime(required=True)
    author = graphene.Field(User)
    history_id = graphene.ID(required=True)


# --- The sync trail -----------------------------------------------------------------------------------


class SyncJob(DjangoObjectType):
    workflow_id = graphene.ID(description="The active run's id, else the last run's.")
    schedule_id = graphene.ID(description="The beat entry (django-celery-beat PeriodicTask) id.")
    cron_schedule = graphene.String(required=True, description="The operator's cron.")
    effective_cron = graphene.String(required=True, description="The cron beat uses (backed off or not).")
    status = graphene.Field(SyncJobStatus, required=True)

    class Meta:
        model = models.SyncJob
        fields = (
            "id",
            "time_zone",
            "paused_note",
            "paused_by",
            "paused_at",
            "last_run_at",
            "next_run_at",
            "last_error_code",
        )

    @staticmethod
    def resolve_workflow_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        run_id: int | None = getattr(root, "workflow_run_id", None)
        return run_id

    @staticmethod
    def resolve_schedule_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        return root.periodic_task_id

    @staticmethod
    def resolve_cron_schedule(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.cron

    @staticmethod
    def resolve_effective_cron(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.effective_cron or root.cron

    @staticmethod
    def resolve_status(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class Project(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's project id.")
    site = graphene.String(required=True, description="The site's name.")
    sync_job = graphene.Field(SyncJob)

    class Meta:
        model = models.Project
        fields = ("key", "name")

    @staticmethod
    def resolve_id(root: models.Project, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_site(root: models.Project, info: graphene.ResolveInfo) -> str:
        return root.site.name

    @staticmethod
    def resolve_sync_job(root: models.Project, info: graphene.ResolveInfo) -> models.SyncJob | None:
        try:
            return root.sync_job
        except models.SyncJob.DoesNotExist:
            return None


class SyncState(DjangoObjectType):
    status = graphene.Field(SyncStatus, required=True)

    class Meta:
        model = models.SyncState
        fields = ("entity", "last_sync_time", "last_error_code", "updated_at")
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncState, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class SyncRun(DjangoObjectType):
    status = graphene.Field(SyncRunStatus, required=True)
    account_ids = graphene.List(graphene.NonNull(graphene.String), required=True)
    counts = GenericScalar()

    class Meta:
        model = models.SyncRun
        fields = (
            "id",
            "trigger",
            "full",
            "step",
            "nominal_time",
            "window_start",
            "window_end",
            "issues_done",
            "approx_total",
            "request_total",
            "coalesced",
            "attempt",
            "error_code",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        )
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncRun, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class SyncLog(DjangoObjectType):
    details = GenericScalar()
    run_id = graphene.ID()

    class Meta:
        model = models.SyncLog
        fields = ("level", "message", "created_at")
        convert_choices_to_enum = False


class JiraProjectOption(graphene.ObjectType):
    id = graphene.ID(required=True)
    key = graphene.String(required=True)
    name = graphene.String(required=True)
    registered = graphene.Boolean(required=True)


class JiraUserOption(graphene.ObjectType):
    account_id = graphene.String(required=True)
    display_name = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    tracked = graphene.Boolean(required=True)
