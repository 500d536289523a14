"""GraphQL's onboarding mutations: test a site's credentials, add the site, register and unregister
projects. Errors are data, as for the sync controls; tokens go in and never come out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene

from core.errors import PermissionDenied
from core.interfaces.graphql import Error, control_payload
from sync import models
from sync.graphql.queries import project_arg, site_arg
from sync.graphql.types import Project
from sync.permissions import ADD_PROJECT, ADD_SITE, DELETE_PROJECT, administer_denied, can_administer
from sync.selectors import site_by_ref
from sync.services import sites

_ARGUMENT_NAMES = {"auth_kind": "authKind", "project": "projectId", "site": "siteId", "track": "accountIds"}


def _administered(
    info: graphene.ResolveInfo,
    payload: type[graphene.ObjectType],
    permission: str,
    call: Callable[[str], Any],
    render: Callable[[Any], dict[str, Any]],
) -> Any:
    return control_payload(
        info,
        payload,
        may_operate=lambda user: can_administer(user, permission),
        denied=PermissionDenied(administer_denied(permission)),
        call=call,
        render=render,
        argument_names=_ARGUMENT_NAMES,
    )


class JiraSiteIdentity(graphene.ObjectType):
    """Who the credentials authenticate as, and the Jira behind the URL."""

    account_id = graphene.String(required=True)
    display_name = graphene.String(required=True)
    time_zone = graphene.String(required=True)
    deployment_type = graphene.String(required=True)
    version = graphene.String(required=True)


class JiraSiteNode(graphene.ObjectType):
    class Meta:
        name = "JiraSite"

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    base_url = graphene.String(required=True)
    deployment = graphene.String(required=True)
    time_zone = graphene.String(required=True)
    verified_at = graphene.DateTime()


class TestJiraSitePayload(graphene.ObjectType):
    identity = graphene.Field(JiraSiteIdentity)
    errors = graphene.List(graphene.NonNull(Error), required=True)


class AddJiraSitePayload(graphene.ObjectType):
    site = graphene.Field(JiraSiteNode)
    errors = graphene.List(graphene.NonNull(Error), required=True)


class RegisterJiraProjectsPayload(graphene.ObjectType):
    projects = graphene.List(graphene.NonNull(Project))
    errors = graphene.List(graphene.NonNull(Error), required=True)


class UnregisterJiraProjectPayload(graphene.ObjectType):
    project_key = graphene.String()
    purged = graphene.Boolean()
    issues = graphene.Int(description="Issues kept, or deleted when purged.")
    errors = graphene.List(graphene.NonNull(Error), required=True)


def _credentials() -> dict[str, Any]:
    return {
        "url": graphene.String(required=True),
        "email": graphene.String(default_value=""),
        "token": graphene.String(required=True, description="Write-only: never returned or logged."),
        "auth_kind": graphene.String(default_value=models.AuthKind.BASIC, description="basic or bearer"),
    }


def _site(site: models.JiraSite) -> dict[str, Any]:
    return {
        "site": JiraSiteNode(
            id=str(site.pk),
            name=site.name,
            base_url=site.base_url,
            deployment=site.deployment,
            time_zone=site.time_zone,
            verified_at=site.verified_at,
        )
    }


class TestJiraSite(graphene.Mutation):
    """Prove credentials before storing anything: Jira's classified error and advice when they fail."""

    Arguments = type("Arguments", (), _credentials())
    Output = TestJiraSitePayload

    @staticmethod
    def mutate(root: None, info: graphene.ResolveInfo, **credentials: Any) -> TestJiraSitePayload:
        return _administered(
            info,
            TestJiraSitePayload,
            ADD_SITE,
            lambda actor: sites.site_check(**credentials),
            lambda me: {
                "identity": JiraSiteIdentity(
                    account_id=me.account_id,
                    display_name=me.display_name,
                    time_zone=me.time_zone,
                    deployment_type=me.deployment_type,
                    version=me.version,
                )
            },
        )


class AddJiraSite(graphene.Mutation):
    """Check the credentials against Jira, then store the site (the token encrypted)."""

    Arguments = type("Arguments", (), {"name": graphene.String(required=True), **_credentials()})
    Output = AddJiraSitePayload

    @staticmethod
    def mutate(root: None, info: graphene.ResolveInfo, **arguments: Any) -> AddJiraSitePayload:
        return _administered(
            info, AddJiraSitePayload, ADD_SITE, lambda actor: sites.site_add(**arguments), _site
        )


class RegisterJiraProjects(graphene.Mutation):
    """Register projects of a site in one step, all or none (see jiraProjectOptions for the keys)."""

    class Arguments:
        site_id = graphene.ID(description="Site id or name; omitted: the one site registered.")
        keys = graphene.List(graphene.NonNull(graphene.String), required=True)
        cron = graphene.String(description="5 fields; default SYNC_DEFAULT_CRON.")
        account_ids = graphene.List(
            graphene.NonNull(graphene.String),
            default_value=[],
            description="Only sync these accounts' issues; empty: every issue.",
        )

    Output = RegisterJiraProjectsPayload

    @staticmethod
    def mutate(
        root: None,
        info: graphene.ResolveInfo,
        *,
        keys: list[str],
        site_id: str | None = None,
        cron: str | None = None,
        account_ids: list[str] | None = None,
    ) -> RegisterJiraProjectsPayload:
        return _administered(
            info,
            RegisterJiraProjectsPayload,
            ADD_PROJECT,
            lambda actor: sites.projects_register(
                site=site_by_ref(ref=site_id),
                keys=keys,
                track=account_ids or [],
                cron=cron,
                actor=actor,
            ),
            lambda projects: {"projects": projects},
        )


class UnregisterJiraProject(graphene.Mutation):
    """Stop syncing a project for good; ``purge`` also deletes its data (kept otherwise, and a later
    registerJiraProjects resumes it)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        site_id = site_arg()
        purge = graphene.Boolean(default_value=False)

    Output = UnregisterJiraProjectPayload

    @staticmethod
    def mutate(
        root: None, info: graphene.ResolveInfo, project_id: str, purge: bool, site_id: str | None = None
    ) -> UnregisterJiraProjectPayload:
        return _administered(
            info,
            UnregisterJiraProjectPayload,
            DELETE_PROJECT,
            lambda actor: sites.project_unregister(
                project=project_arg(project_id, "projectId", site_id), purge=purge, actor=actor
            ),
            lambda gone: {"project_key": gone.project_key, "purged": gone.purged, "issues": gone.issues},
        )


class Mutation(graphene.ObjectType):
    test_jira_site = TestJiraSite.Field()
    add_jira_site = AddJiraSite.Field()
    register_jira_projects = RegisterJiraProjects.Field()
    unregister_jira_project = UnregisterJiraProject.Field()
