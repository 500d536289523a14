"""Registering Jira sites and projects, and building the Jira client for a stored site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import PROTECT
from django.utils import timezone

from core.audit.trail import audited
from core.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from core.tenancy import visible
from sync.jira.budget import budget_from_settings
from sync.jira.client import JiraClient, JiraCredentials, RequestCounter, SiteIdentity
from sync.jira.egress import check_site_url
from sync.jira.mapping import discover_custom_fields
from sync.models import (
    ACTIVE_RUN_STATUSES,
    AuthKind,
    Deployment,
    Issue,
    JiraSite,
    JiraUser,
    Project,
    ProjectTrackedUser,
    SyncEntity,
    SyncJob,
    SyncLog,
    SyncRun,
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


def _unsaved_site(*, name: str, url: str, email: str, token: str, auth_kind: str) -> JiraSite:
    """The site the form describes, checked for what needs no request; nothing is stored."""
    if not token:
        raise InvalidInput("The API token is empty", field="token")
    if auth_kind not in AuthKind.values:
        raise InvalidInput(f"Unknown auth kind '{auth_kind}'", field="auth_kind", advice="basic or bearer")
    if auth_kind == AuthKind.BASIC and not email:
        raise InvalidInput("Cloud sites need the email of the API token's owner", field="email")
    base_url = _normalise_url(url)
    check_site_url(base_url, allow_private=settings.JIRAPLUS_ALLOW_PRIVATE_JIRA)
    return JiraSite(
        name=name,
        base_url=base_url,
        email=email,
        api_token=token,
        auth_kind=auth_kind,
        deployment=Deployment.DATACENTER if auth_kind == AuthKind.BEARER else Deployment.CLOUD,
    )


def site_check(*, url: str, email: str, token: str, auth_kind: str = AuthKind.BASIC) -> SiteIdentity:
    """Prove credentials before anything is stored (the consoles' *Test connection*): myself + serverInfo.
    Raises InvalidInput for what is wrong on its face, else Jira's classified error with its advice."""
    site = _unsaved_site(name="", url=url, email=email, token=token, auth_kind=auth_kind)
    with site_client(site=site) as client:
        return client.verify()


def site_verified(
    *, name: str, url: str, email: str, token: str, auth_kind: str = AuthKind.BASIC
) -> JiraSite:
    """An unsaved site whose credentials Jira has just accepted, with what the sync learns from it (the API
    user, its time zone, the sprint and story-point fields). The admin's add form saves it as it is."""
    name = name.strip()
    if not name:
        raise InvalidInput("The site needs a name", field="name")
    if JiraSite.objects.filter(name=name).exists():
        raise AlreadyExists(f"A site named '{name}' already exists", field="name")
    site = _unsaved_site(name=name, url=url, email=email, token=token, auth_kind=auth_kind)
    with site_client(site=site) as client:
        identity = client.verify()
        site.sprint_field, site.story_points_field = discover_custom_fields(client.fields())
    site.account_id = identity.account_id
    site.time_zone = identity.time_zone or "UTC"
    site.verified_at = timezone.now()
    return site


@audited("site.add", lambda a: f"site {a['name']}")
def site_add(*, name: str, url: str, email: str, token: str, auth_kind: str = AuthKind.BASIC) -> JiraSite:
    """Check the credentials against Jira (myself + serverInfo), then store the site; nothing on error."""
    site = site_verified(name=name, url=url, email=email, token=token, auth_kind=auth_kind)
    try:
        site.save()
    except IntegrityError:
        raise AlreadyExists(f"A site named '{site.name}' already exists", field="name") from None
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
    projects = visible(Project.objects.select_related("site").filter(**lookup))
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
    """Register one project (see ``projects_register``)."""
    return projects_register(site=site, keys=[key], track=track, cron=cron)[0]


@audited("project.register", lambda a: f"site {a['site'].name}: {', '.join(a['keys'])}")
def projects_register(
    *,
    site: JiraSite,
    keys: Sequence[str],
    track: Sequence[str] = (),
    cron: str | None = None,
    actor: str = "",
) -> list[Project]:
    """Register projects of one site in one step, all or none: each key is checked against Jira first, then
    every project gets its SyncJob (on ``cron``, default SYNC_DEFAULT_CRON), SyncStates, tracked accounts
    and beat entry in one transaction.

    A project unregistered with its data kept is registered again in place: its schedule comes back and
    its sync states are reset, so its next run is a full one that re-reads what changed while it was away.
    """
    wanted = list(dict.fromkeys(k.strip().upper() for k in keys if k.strip()))
    if not wanted:
        raise InvalidInput("Choose at least one project to register", field="keys")
    cron = schedules.cron_validate(expression=cron or settings.SYNC_DEFAULT_CRON)
    accounts = sorted({a.strip() for a in track if a.strip()})
    known = Project.objects.filter(site=site, key__in=wanted).select_related("sync_job")
    existing = {p.key: p for p in known}
    registered = sorted(k for k, p in existing.items() if not is_unregistered(p))
    if registered:
        raise AlreadyExists(
            f"Already registered on {site}: {', '.join(registered)}",
            field="keys",
            advice="Leave them out; their schedules are changed with the sync controls",
        )
    with site_client(site=site) as client:
        payloads = [client.get_project(key) for key in wanted]
    projects = []
    with transaction.atomic():
        for payload in payloads:
            project = existing.get(str(payload["key"]))
            if project is None:
                project = _project_create(site, payload, cron)
            else:
                _project_reinstate(project, payload, cron)
            ProjectTrackedUser.objects.filter(project=project).exclude(user__account_id__in=accounts).delete()
            for account_id in accounts:
                user, _ = JiraUser.objects.get_or_create(site=site, account_id=account_id)
                ProjectTrackedUser.objects.update_or_create(
                    project=project, user=user, defaults={"is_tracked": True}
                )
            schedules.schedule_install(job=project.sync_job)
            SyncLog.objects.create(
                project=project,
                level=SyncLog.Level.INFO,
                message=f"Registered by {actor or 'unknown'} on cron {cron}",
                details={"actor": actor, "cron": cron, "tracked": accounts},
            )
            projects.append(project)
    return projects


def _project_create(site: JiraSite, payload: dict[str, object], cron: str) -> Project:
    project = Project.objects.create(
        site=site,
        key=str(payload["key"]),
        jira_id=int(str(payload["id"])),
        name=str(payload.get("name", "")),
    )
    SyncState.objects.bulk_create([SyncState(project=project, entity=e) for e in SyncEntity.values])
    project.sync_job = SyncJob.objects.create(project=project, cron=cron)
    return project


def _project_reinstate(project: Project, payload: dict[str, object], cron: str) -> None:
    if int(str(payload["id"])) != project.jira_id:
        # The key now names another Jira project: the kept data is not its history.
        raise Conflict(
            f"{project.key} on {project.site} is now another Jira project (id {payload['id']}, "
            f"was {project.jira_id})",
            field="keys",
            advice="Unregister the kept project with its data purged, then register the key again",
        )
    project.name = str(payload.get("name", ""))
    project.save(update_fields=["name"])
    SyncState.objects.filter(project=project).update(
        status=SyncState.Status.IDLE, last_sync_time=None, last_error_code=""
    )
    job = project.sync_job
    job.cron, job.effective_cron, job.status = cron, "", SyncJob.Status.ACTIVE
    job.save(update_fields=["cron", "effective_cron", "status", "updated_at"])


def is_unregistered(project: Project) -> bool:
    return project.sync_job.status == SyncJob.Status.UNREGISTERED


@dataclass(frozen=True)
class Unregistered:
    project_key: str
    site: str
    purged: bool
    issues: int  # kept, or deleted when purged


PURGE_BATCH = 500


@audited("project.unregister", lambda a: f"project {a['project'].key}")
def project_unregister(*, project: Project, purge: bool = False, actor: str = "") -> Unregistered:
    """Stop syncing a project for good: its beat entry is deleted and every sync control refuses it.

    Kept (``purge`` False): its issues, comments, worklogs, history and trail stay readable, nothing
    changes them any more (webhooks included), and registering the key again resumes it. Purged: all of
    it is deleted, issues in batches of PURGE_BATCH so no transaction holds long locks; an interrupted
    purge is finished by asking again. Refused while a run is in flight, and, to purge, while
    orchestrations refer to the project.
    """
    with transaction.atomic():
        job = (
            SyncJob.objects.select_for_update(of=("self",))
            .select_related("periodic_task")
            .get(project=project)
        )
        active = SyncRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None:
            raise Conflict(
                f"Project {project.key} has run {active.id} in flight",
                field="project",
                advice="Cancel it (the cancel control) and unregister once it has ended",
            )
        if purge:
            _refuse_protected(project)
        task = job.periodic_task
        if task is not None:
            job.periodic_task = None
            crontab = task.crontab
            task.delete()
            if crontab is not None:
                crontab.delete()
        if job.status != SyncJob.Status.UNREGISTERED:
            job.status, job.next_run_at = SyncJob.Status.UNREGISTERED, None
            job.save(update_fields=["status", "next_run_at", "periodic_task", "updated_at"])
            SyncLog.objects.create(
                project=project,
                level=SyncLog.Level.INFO,
                message=f"Unregistered by {actor or 'unknown'}, data {'purged' if purge else 'kept'}",
                details={"actor": actor, "purge": purge},
            )
    issues = Issue.objects.filter(project=project)
    if not purge:
        return Unregistered(project.key, str(project.site), purged=False, issues=issues.count())
    deleted = 0
    while ids := list(issues.order_by("id").values_list("id", flat=True)[:PURGE_BATCH]):
        with transaction.atomic():
            Issue.objects.filter(id__in=ids).delete()
        deleted += len(ids)
    project.delete()
    return Unregistered(project.key, str(project.site), purged=True, issues=deleted)


def _refuse_protected(project: Project) -> None:
    """Rows of other apps that protect the project or its issues (orchestrations) block a purge."""
    for model, prefix in ((Project, ""), (Issue, "__project")):
        for relation in model._meta.related_objects:
            if relation.on_delete is not PROTECT:
                continue
            count = relation.related_model._default_manager.filter(
                **{f"{relation.field.name}{prefix}": project}
            ).count()
            if count:
                raise Conflict(
                    f"{count} {relation.related_model._meta.verbose_name_plural} refer to project "
                    f"{project.key}; purging would delete them",
                    field="purge",
                    advice="Unregister keeping the data, or delete those first",
                )


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
