"""The sync app's GraphQL object types: Jira data and the sync trail.

Field resolvers read what the root resolvers prefetched (see ``selectors.issue_rows``) and never query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType

from core.interfaces.fields import graphene_fields, graphql_kwargs
from sync import fieldmaps, models, selectors

# --- Enums --------------------------------------------------------------------------------------------

SyncJobStatus = graphene.Enum("SyncJobStatus", [(s.value, s.value) for s in models.SyncJob.Status])
SyncStatus = graphene.Enum("SyncStatus", [(s.value, s.value) for s in models.SyncState.Status])
SyncRunStatus = graphene.Enum("SyncRunStatus", [(s.value, s.value) for s in models.RunStatus])


def _choice(value: str) -> str:
    """A model choice as the plain string GraphQL enums serialise (a fresh instance holds the choices'
    enum member itself, which graphene would try to match as a member of its own enum)."""
    return str(value)


# The spec's SyncState.lastSyncTime is never null: a state never synced has stored "everything Jira changed
# before 1970", which is nothing.
NEVER_SYNCED = datetime(1970, 1, 1, tzinfo=UTC)


def _author(user: models.JiraUser | None) -> models.JiraUser:
    """The spec's author is never null: Jira naming none (anonymous, an account since removed) is a stand-in
    user with accountId "" (never saved)."""
    return user if user is not None else models.JiraUser(account_id="", display_name="", active=False)


# --- Jira data ------------------------------------------------------------------------------------------


class User(DjangoObjectType):
    account_id = graphene.String(**graphql_kwargs(fieldmaps.USER, "account_id"))
    display_name = graphene.String(**graphql_kwargs(fieldmaps.USER, "display_name"))
    active = graphene.Boolean(**graphql_kwargs(fieldmaps.USER, "active"))
    account_type = graphene.String(**graphql_kwargs(fieldmaps.USER, "account_type"))

    class Meta:
        model = models.JiraUser
        fields = graphene_fields(fieldmaps.USER)


class Sprint(DjangoObjectType):
    id = graphene.ID(**graphql_kwargs(fieldmaps.SPRINT, "id"))
    board_id = graphene.ID(**graphql_kwargs(fieldmaps.SPRINT, "board_id"))

    class Meta:
        model = models.Sprint
        fields = graphene_fields(fieldmaps.SPRINT)
        convert_choices_to_enum = False

    @staticmethod
    def resolve_id(root: models.Sprint, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_board_id(root: models.Sprint, info: graphene.ResolveInfo) -> str | None:
        return None if root.board_id is None else str(root.board_id)


class Comment(DjangoObjectType):
    id = graphene.ID(**graphql_kwargs(fieldmaps.COMMENT, "id"))
    author = graphene.Field(User, **graphql_kwargs(fieldmaps.COMMENT, "author"))
    body = graphene.String(**graphql_kwargs(fieldmaps.COMMENT, "body"))
    body_adf = GenericScalar(**graphql_kwargs(fieldmaps.COMMENT, "body_adf"))

    class Meta:
        model = models.Comment
        fields = graphene_fields(fieldmaps.COMMENT)

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
    id = graphene.ID(**graphql_kwargs(fieldmaps.WORKLOG, "id"))
    author = graphene.Field(User, **graphql_kwargs(fieldmaps.WORKLOG, "author"))
    time_spent = graphene.Int(**graphql_kwargs(fieldmaps.WORKLOG, "time_spent"))
    comment = graphene.String(**graphql_kwargs(fieldmaps.WORKLOG, "comment"))

    class Meta:
        model = models.Worklog
        fields = graphene_fields(fieldmaps.WORKLOG)

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

    id = graphene.ID(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "id"))
    author = graphene.Field(User, **graphql_kwargs(fieldmaps.ISSUE_CHANGE, "author"))
    field = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "field"))
    field_type = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "field_type"))
    from_ = graphene.String(name="from", **graphql_kwargs(fieldmaps.ISSUE_CHANGE, "from"))
    to = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "to"))
    from_string = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "from_string"))
    to_string = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_CHANGE, "to_string"))

    class Meta:
        model = models.IssueChange
        fields = graphene_fields(fieldmaps.ISSUE_CHANGE)

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
    id = graphene.ID(**graphql_kwargs(fieldmaps.ISSUE_TYPE, "id"))
    project_key = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_TYPE, "project_key"))
    labels = graphene.List(
        graphene.NonNull(graphene.String), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "labels")
    )
    story_points = graphene.Float(**graphql_kwargs(fieldmaps.ISSUE_TYPE, "story_points"))
    priority = graphene.String(**graphql_kwargs(fieldmaps.ISSUE_TYPE, "priority"))
    assignee = graphene.Field(User, **graphql_kwargs(fieldmaps.ISSUE_TYPE, "assignee"))
    reporter = graphene.Field(User, **graphql_kwargs(fieldmaps.ISSUE_TYPE, "reporter"))
    parent = graphene.Field(lambda: Issue, **graphql_kwargs(fieldmaps.ISSUE_TYPE, "parent"))
    sprint = graphene.Field(Sprint, **graphql_kwargs(fieldmaps.ISSUE_TYPE, "sprint"))
    sprints = graphene.List(graphene.NonNull(Sprint), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "sprints"))
    comments = graphene.List(graphene.NonNull(Comment), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "comments"))
    worklogs = graphene.List(graphene.NonNull(Worklog), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "worklogs"))
    history = graphene.List(graphene.NonNull(IssueChange), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "history"))
    time_in_status = graphene.List(
        graphene.NonNull(StatusTime), **graphql_kwargs(fieldmaps.ISSUE_TYPE, "time_in_status")
    )

    class Meta:
        model = models.Issue
        fields = graphene_fields(fieldmaps.ISSUE_TYPE)

    @staticmethod
    def resolve_id(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_priority(root: models.Issue, info: graphene.ResolveInfo) -> str | None:
        return root.priority or None  # stored "" when Jira has none

    @staticmethod
    def resolve_project_key(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return root.key.rsplit("-", 1)[0]

    @staticmethod
    def resolve_parent(root: models.Issue, info: graphene.ResolveInfo) -> models.Issue | None:
        if root.parent_jira_id is None:
            return None
        if not hasattr(root, "parent_issue"):  # a parent's parent: not batched, one query
            selectors.issue_parents_attach(issues=[root])
        parent: models.Issue | None = root.parent_issue  # type: ignore[attr-defined]
        return parent

    @staticmethod
    def resolve_sprint(root: models.Issue, info: graphene.ResolveInfo) -> models.Sprint | None:
        return selectors.issue_current_sprint(issue=root)

    @staticmethod
    def resolve_sprints(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Sprint]:
        return selectors.issue_sprints(issue=root)

    @staticmethod
    def resolve_comments(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Comment]:
        return selectors.issue_comments(issue=root)

    @staticmethod
    def resolve_worklogs(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Worklog]:
        return selectors.issue_worklogs(issue=root)

    @staticmethod
    def resolve_history(root: models.Issue, info: graphene.ResolveInfo) -> list[models.IssueChange]:
        return selectors.issue_history(issue=root)

    @staticmethod
    def resolve_time_in_status(root: models.Issue, info: graphene.ResolveInfo) -> list[selectors.StatusTime]:
        return selectors.issue_time_in_status(issue=root)


class SprintScopeChange(graphene.ObjectType):
    issue = graphene.Field(Issue, required=True)
    change = graphene.String(required=True, description="added or removed")
    at = graphene.DateTime(required=True)
    author = graphene.Field(User)
    history_id = graphene.ID(required=True)


# --- The sync trail -----------------------------------------------------------------------------------


class SyncJob(DjangoObjectType):
    workflow_id = graphene.String(**graphql_kwargs(fieldmaps.SYNC_JOB, "workflow_id"))
    workflow_run_id = graphene.ID(**graphql_kwargs(fieldmaps.SYNC_JOB, "workflow_run_id"))
    schedule_id = graphene.String(**graphql_kwargs(fieldmaps.SYNC_JOB, "schedule_id"))
    periodic_task_id = graphene.ID(**graphql_kwargs(fieldmaps.SYNC_JOB, "periodic_task_id"))
    cron_schedule = graphene.String(**graphql_kwargs(fieldmaps.SYNC_JOB, "cron_schedule"))
    effective_cron = graphene.String(**graphql_kwargs(fieldmaps.SYNC_JOB, "effective_cron"))
    status = graphene.Field(SyncJobStatus, **graphql_kwargs(fieldmaps.SYNC_JOB, "status"))

    class Meta:
        model = models.SyncJob
        fields = graphene_fields(fieldmaps.SYNC_JOB)

    @staticmethod
    def resolve_workflow_run_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        run_id: int | None = getattr(root, "workflow_run_id", None)
        return run_id

    @staticmethod
    def resolve_periodic_task_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        return root.periodic_task_id

    @staticmethod
    def resolve_cron_schedule(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.cron

    @staticmethod
    def resolve_effective_cron(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.active_cron

    @staticmethod
    def resolve_status(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class Project(DjangoObjectType):
    id = graphene.ID(**graphql_kwargs(fieldmaps.PROJECT, "id"))
    site = graphene.String(**graphql_kwargs(fieldmaps.PROJECT, "site"))
    sync_job = graphene.Field(SyncJob, **graphql_kwargs(fieldmaps.PROJECT, "sync_job"))

    class Meta:
        model = models.Project
        fields = graphene_fields(fieldmaps.PROJECT)

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
    # The spec's status is a string; the SyncStatus enum stays, as syncStatus.
    status = graphene.String(**graphql_kwargs(fieldmaps.SYNC_STATE, "status"))
    sync_status = graphene.Field(SyncStatus, **graphql_kwargs(fieldmaps.SYNC_STATE, "sync_status"))
    last_sync_time = graphene.DateTime(**graphql_kwargs(fieldmaps.SYNC_STATE, "last_sync_time"))

    class Meta:
        model = models.SyncState
        fields = graphene_fields(fieldmaps.SYNC_STATE)
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncState, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)

    @staticmethod
    def resolve_sync_status(root: models.SyncState, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)

    @staticmethod
    def resolve_last_sync_time(root: models.SyncState, info: graphene.ResolveInfo) -> datetime:
        return root.last_sync_time or NEVER_SYNCED


class SyncRun(DjangoObjectType):
    status = graphene.Field(SyncRunStatus, **graphql_kwargs(fieldmaps.SYNC_RUN, "status"))
    account_ids = graphene.List(
        graphene.NonNull(graphene.String), **graphql_kwargs(fieldmaps.SYNC_RUN, "account_ids")
    )
    counts = GenericScalar(**graphql_kwargs(fieldmaps.SYNC_RUN, "counts"))

    class Meta:
        model = models.SyncRun
        fields = graphene_fields(fieldmaps.SYNC_RUN)
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncRun, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class SyncLog(DjangoObjectType):
    details = GenericScalar(**graphql_kwargs(fieldmaps.SYNC_LOG, "details"))
    run_id = graphene.ID(**graphql_kwargs(fieldmaps.SYNC_LOG, "run_id"))

    class Meta:
        model = models.SyncLog
        fields = graphene_fields(fieldmaps.SYNC_LOG)
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
