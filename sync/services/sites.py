"""Registering Jira sites and projects, and building the Jira client for a stored site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import AlreadyExists, InvalidInput, NotFound
from sync.jira.budget import budget_from_settings
from sync.jira.client import JiraClient, JiraCredentials, RequestCounter, SiteIdentity
from sync.jira.egress import check_site_url
from sync.jira.mapping import discover_custom_fields
from sync.models import (
    AuthKind,
    Deployment,
    JiraSite,
    JiraUser,
    Project,
    ProjectTrackedUser,
    SyncEntity,
    SyncJob,
    SyncState,
)
from sync.selectors.projects import key_ambiguous, site_by_ref
from sync.services import schedules


def site_credentials(*, site: JiraSite) -> JiraCredentials:
    return JiraCredentials(
        base_url=site.base_url,
        auth_kind="bearer" if site.auth_kind == AuthKind.BEARER else "basic",
        token=site.api_token,
        email=site.email,
        deployment="datacenter" if site.deployment == Deployment.DATACENTER else "cloud",
        site_key=f"site-{site.pk}",
    )


def site_client(*, site: JiraSite, counter: RequestCounter | None = None) -> JiraClient:
    return JiraClient(
        site_credentials(site=site),
        budget=budget_from_settings(),
        counter=counter,
        credentials_verified=site.verified_at is not None,
    )


def _normalise_url(url: str) -> str:
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(
            f"'{url}' is not a Jira base URL",
            field="url",
            advice="Use e.g. https://your-site.atlassian.net",
        )
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path.rstrip('/')}"


def site_add(*, name: str, url: str, email: str, token: str, auth_kind: str = AuthKind.BASIC) -> JiraSite:
    """Check the credentials against Jira (myself + serverInfo), then store the site; nothing on error."""
    if JiraSite.objects.filter(name=name).exists():
        raise AlreadyExists(f"A site named '{name}' already exists", field="name")
    if not token:
        raise InvalidInput("The API token is empty", field="token")
    if auth_kind == AuthKind.BASIC and not email:
        raise InvalidInput("Cloud sites need the email of the API token's owner", field="email")
    base_url = _normalise_url(url)
    check_site_url(base_url, allow_private=settings.JIRAPLUS_ALLOW_PRIVATE_JIRA)
    site = JiraSite(
        name=name,
        base_url=base_url,
        email=email,
        api_token=token,
        auth_kind=auth_kind,
        deployment=Deployment.DATACENTER if auth_kind == AuthKind.BEARER else Deployment.CLOUD,
    )
    with site_client(site=site) as client:
        identity = client.verify()
        site.sprint_field, site.story_points_field = discover_custom_fields(client.fields())
    site.account_id = identity.account_id
    site.time_zone = identity.time_zone or "UTC"
    site.verified_at = timezone.now()
    try:
        site.save()
    except IntegrityError:
        raise AlreadyExists(f"A site named '{name}' already exists", field="name") from None
    return site


def site_get(*, name: str) -> JiraSite:
    try:
        return JiraSite.objects.get(name=name)
    except JiraSite.DoesNotExist:
        raise NotFound(f"No site named '{name}'", field="site") from None


def project_get(
    *, key_or_id: str, site: str | None = None, field: str = "project", site_field: str = "site"
) -> Project:
    """A registered project by key or Jira id, on ``site`` (id or name) when given. Two sites may hold
    the same key (and, copies of one Jira, the same id): without a site that is an AMBIGUOUS error
    naming them."""
    lookup = {"jira_id": int(key_or_id)} if key_or_id.isdigit() else {"key": key_or_id.upper()}
    projects = Project.objects.select_related("site").filter(**lookup)
    if site:
        projects = projects.filter(site=site_by_ref(ref=site, field=site_field))
    found = list(projects[:10])
    if not found:
        where = f" on site '{site}'" if site else ""
        raise NotFound(f"No registered project '{key_or_id}'{where}", field=field)
    if len(found) > 1:
        raise key_ambiguous(what="Project", key=key_or_id, site_ids=[p.site_id for p in found], field=field)
    return found[0]


def project_add(*, site: JiraSite, key: str, track: Sequence[str] = (), cron: str | None = None) -> Project:
    """Register a project after checking Jira knows it; creates its SyncJob and SyncStates."""
    key = key.strip().upper()
    if Project.objects.filter(site=site, key=key).exists():
        raise AlreadyExists(f"Project {key} is already registered on {site}", field="key")
    cron = schedules.cron_validate(expression=cron or settings.SYNC_DEFAULT_CRON)
    with site_client(site=site) as client:
        payload = client.get_project(key)
    with transaction.atomic():
        project = Project.objects.create(
            site=site,
            key=str(payload["key"]),
            jira_id=int(payload["id"]),
            name=str(payload.get("name", "")),
        )
        SyncState.objects.bulk_create([SyncState(project=project, entity=e) for e in SyncEntity.values])
        job = SyncJob.objects.create(project=project, cron=cron)
        for account_id in track:
            user, _ = JiraUser.objects.get_or_create(site=site, account_id=account_id)
            ProjectTrackedUser.objects.create(project=project, user=user)
        schedules.schedule_install(job=job)
    return project


def site_test_connection(*, site: JiraSite) -> SiteIdentity:
    """Prove the stored credentials now (myself + serverInfo); raises the classified JiraError."""
    with site_client(site=site) as client:
        return client.verify()


@dataclass(frozen=True)
class JiraAccount:
    account_id: str
    display_name: str
    active: bool


def project_assignable_users(*, project: Project, limit: int = 1000) -> list[JiraAccount]:
    """The accounts Jira lets be assigned in the project, fetched live (the tracked-user picker)."""
    accounts: list[JiraAccount] = []
    with site_client(site=project.site) as client:
        for page in client.iter_assignable_user_pages(project.key):
            accounts.extend(
                JiraAccount(
                    account_id=str(u.get("accountId") or u.get("key") or u.get("name")),
                    display_name=str(u.get("displayName") or ""),
                    active=bool(u.get("active", True)),
                )
                for u in page
            )
            if len(accounts) >= limit:
                break
    return sorted(accounts[:limit], key=lambda a: (a.display_name.lower(), a.account_id))
