"""The sync app's GraphQL queries: resolvers parse arguments, call selectors and shape the result."""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import InvalidInput, ServiceError
from sync import models, selectors
from sync.graphql.pagination import IssueConnection, IssuePage
from sync.graphql.selection import includes, parents
from sync.graphql.types import (
    Issue,
    JiraProjectOption,
    JiraUserOption,
    Project,
    Sprint,
    SprintScopeChange,
    SyncJob,
    SyncLog,
    SyncRun,
    SyncState,
    User,
)
from sync.services import discovery, sites


def project_arg(ref: str, argument: str, site_id: str | None = None) -> models.Project:
    """The project named by a key or Jira id (on site ``site_id``, an id or name, when given); a lookup
    error names the GraphQL argument."""
    try:
        return sites.project_get(key_or_id=ref, site=site_id, field=argument, site_field="siteId")
    except ServiceError as exc:
        exc.field = exc.field if exc.field == "siteId" else argument
        raise


def site_arg() -> graphene.ID:
    return graphene.ID(description="Site id or name: needed when the key is registered on several sites.")


def _page_size(first: int) -> int:
    if not 1 <= first <= selectors.MAX_PAGE_SIZE:
        raise InvalidInput(
            f"first must be between 1 and {selectors.MAX_PAGE_SIZE}, got {first}",
            field="first",
            advice="Page through larger lists with after: pageInfo.endCursor",
        )
    return first


def _sprint_id(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput(f"sprintId '{value}' is not a Jira sprint id", field="sprintId")
    return int(value)


class Query(graphene.ObjectType):
    issues = graphene.Field(
        IssueConnection,
        required=True,
        project_key=graphene.String(required=True, description="Project key or Jira id."),
        site_id=site_arg(),
        updated_since=graphene.DateTime(),
        assignee=graphene.String(description="accountId"),
        status=graphene.String(description="Status name"),
        sprint_id=graphene.ID(description="Jira's sprint id"),
        first=graphene.Int(default_value=50, description="1 to 100"),
        after=graphene.String(),
    )
    issue = graphene.Field(Issue, key=graphene.String(required=True), site_id=site_arg())
    sprint_scope_changes = graphene.List(
        graphene.NonNull(SprintScopeChange),
        required=True,
        sprint_id=graphene.ID(required=True, description="Jira's sprint id"),
        description="Issues added to or removed from the sprint after it started, oldest first.",
    )
    projects = graphene.List(graphene.NonNull(Project), required=True)
    sprints = graphene.List(
        graphene.NonNull(Sprint),
        required=True,
        project_key=graphene.String(required=True),
        site_id=site_arg(),
    )
    users = graphene.List(
        graphene.NonNull(User), required=True, project_key=graphene.String(required=True), site_id=site_arg()
    )
    tracked_users = graphene.List(
        graphene.NonNull(User), required=True, project_id=graphene.ID(required=True), site_id=site_arg()
    )
    sync_job = graphene.Field(SyncJob, project_id=graphene.ID(required=True), site_id=site_arg())
    sync_states = graphene.List(
        graphene.NonNull(SyncState), required=True, project_id=graphene.ID(required=True), site_id=site_arg()
    )
    sync_logs = graphene.List(
        graphene.NonNull(SyncLog),
        required=True,
        project_id=graphene.ID(required=True),
        site_id=site_arg(),
        limit=graphene.Int(),
        level=graphene.String(description="Only lines of exactly this level: DEBUG, INFO, WARNING or ERROR."),
    )
    sync_runs = graphene.List(
        graphene.NonNull(SyncRun),
        required=True,
        project_id=graphene.ID(required=True),
        site_id=site_arg(),
        limit=graphene.Int(),
    )
    jira_project_options = graphene.List(
        graphene.NonNull(JiraProjectOption),
        required=True,
        site_id=graphene.ID(description="Site id or name; omitted: the one site registered."),
    )
    jira_project_user_options = graphene.List(
        graphene.NonNull(JiraUserOption),
        required=True,
        project_id=graphene.ID(description="Omitted: the one project registered."),
        site_id=site_arg(),
    )

    @staticmethod
    def resolve_issues(
        root: None,
        info: graphene.ResolveInfo,
        *,
        project_key: str,
        site_id: str | None = None,
        first: int = 50,
        after: str | None = None,
        updated_since: Any = None,
        assignee: str | None = None,
        status: str | None = None,
        sprint_id: str | None = None,
    ) -> IssuePage:
        filters = selectors.IssueFilters(
            updated_since=updated_since,
            assignee=assignee or "",
            status=status or "",
            sprint_id=_sprint_id(sprint_id),
        )
        project = project_arg(project_key, "projectKey", site_id)
        return IssuePage(
            selectors.issue_queryset(project=project, filters=filters),
            first=_page_size(first),
            after=after,
            info=info,
        )

    @staticmethod
    def resolve_issue(
        root: None, info: graphene.ResolveInfo, key: str, site_id: str | None = None
    ) -> models.Issue:
        return selectors.issue_by_key(
            key=key, site=site_id, includes=includes(info, []), parents=parents(info, [])
        )

    @staticmethod
    def resolve_sprint_scope_changes(
        root: None, info: graphene.ResolveInfo, sprint_id: str
    ) -> list[selectors.SprintScopeChange]:
        jira_id = _sprint_id(sprint_id)
        assert jira_id is not None  # a required argument
        sprint = selectors.sprint_by_jira_id(sprint_id=jira_id)
        return selectors.sprint_scope_changes(
            sprint=sprint, includes=includes(info, ["issue"]), parents=parents(info, ["issue"])
        )

    @staticmethod
    def resolve_projects(root: None, info: graphene.ResolveInfo) -> Any:
        return selectors.projects_list()

    @staticmethod
    def resolve_sprints(
        root: None, info: graphene.ResolveInfo, project_key: str, site_id: str | None = None
    ) -> Any:
        return selectors.project_sprints(project=project_arg(project_key, "projectKey", site_id))

    @staticmethod
    def resolve_users(
        root: None, info: graphene.ResolveInfo, project_key: str, site_id: str | None = None
    ) -> Any:
        return selectors.project_users(project=project_arg(project_key, "projectKey", site_id))

    @staticmethod
    def resolve_tracked_users(
        root: None, info: graphene.ResolveInfo, project_id: str, site_id: str | None = None
    ) -> Any:
        return selectors.tracked_users(project=project_arg(project_id, "projectId", site_id))

    @staticmethod
    def resolve_sync_job(
        root: None, info: graphene.ResolveInfo, project_id: str, site_id: str | None = None
    ) -> models.SyncJob:
        return selectors.sync_job_get(project=project_arg(project_id, "projectId", site_id))

    @staticmethod
    def resolve_sync_states(
        root: None, info: graphene.ResolveInfo, project_id: str, site_id: str | None = None
    ) -> Any:
        return selectors.sync_states(project=project_arg(project_id, "projectId", site_id))

    @staticmethod
    def resolve_sync_logs(
        root: None,
        info: graphene.ResolveInfo,
        *,
        project_id: str,
        site_id: str | None = None,
        limit: int | None = None,
        level: str | None = None,
    ) -> Any:
        return selectors.sync_logs(
            project=project_arg(project_id, "projectId", site_id), limit=limit, level=level
        )

    @staticmethod
    def resolve_sync_runs(
        root: None,
        info: graphene.ResolveInfo,
        project_id: str,
        site_id: str | None = None,
        limit: int | None = None,
    ) -> Any:
        return selectors.sync_runs(project=project_arg(project_id, "projectId", site_id), limit=limit)

    @staticmethod
    def resolve_jira_project_options(
        root: None, info: graphene.ResolveInfo, site_id: str | None = None
    ) -> list[discovery.JiraProjectOption]:
        return discovery.jira_project_options(site=selectors.site_by_ref(ref=site_id))

    @staticmethod
    def resolve_jira_project_user_options(
        root: None, info: graphene.ResolveInfo, project_id: str | None = None, site_id: str | None = None
    ) -> list[discovery.JiraUserOption]:
        project = (
            selectors.project_only() if project_id is None else project_arg(project_id, "projectId", site_id)
        )
        return discovery.jira_project_user_options(project=project)
