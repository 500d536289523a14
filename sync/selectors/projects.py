"""Reads of sites, projects and the people on them, as synced."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from core.tenancy import visible
from sync.models import JiraSite, JiraUser, Project, Sprint
from sync.selectors.trail import sync_jobs


def projects_list() -> QuerySet[Project]:
    return visible(
        Project.objects.select_related("site")
        .prefetch_related(Prefetch("sync_job", queryset=sync_jobs()))
        .order_by("key")
    )


def project_sprints(*, project: Project) -> QuerySet[Sprint]:
    return Sprint.objects.filter(project=project).order_by("start_date", "jira_id")


def project_users(*, project: Project) -> QuerySet[JiraUser]:
    """The site's people as synced (a project's issues may name anyone on its site)."""
    return JiraUser.objects.filter(site_id=project.site_id).order_by("display_name", "account_id")


def tracked_users(*, project: Project) -> QuerySet[JiraUser]:
    return JiraUser.objects.filter(tracked_in__project=project, tracked_in__is_tracked=True).order_by(
        "display_name", "account_id"
    )


def site_by_ref(*, ref: str | None, field: str = "siteId") -> JiraSite:
    """A site by its database id or its name; none named: the one site registered (the spec's
    jiraProjectOptions takes no site)."""
    sites = visible(JiraSite.objects, "id")
    if ref is None:
        return _the_only(sites.order_by("id")[:2], what="site", field=field)
    lookup = {"id": int(ref)} if ref.isdigit() else {"name": ref}
    try:
        return sites.get(**lookup)
    except JiraSite.DoesNotExist:
        raise NotFound(f"No site '{ref}'", field=field) from None


AMBIGUOUS = "AMBIGUOUS"


def key_ambiguous(*, what: str, key: str, site_ids: Iterable[int], field: str) -> InvalidInput:
    """The error for a key (or Jira id) several sites share: it names them and how to pick one."""
    named = ", ".join(
        f"{name} (id {site_id})"
        for site_id, name in JiraSite.objects.filter(id__in=set(site_ids))
        .order_by("name")
        .values_list("id", "name")
    )
    return InvalidInput(
        f"{what} '{key}' exists on several sites: {named}",
        code=AMBIGUOUS,
        field=field,
        advice="Name the site by id or name: siteId in GraphQL, ?site= in REST, --site in commands.",
    )


def project_only() -> Project:
    """The one project registered (the spec's jiraProjectUserOptions takes no project)."""
    return _the_only(
        visible(Project.objects.select_related("site")).order_by("id")[:2], what="project", field="projectId"
    )


def _the_only(candidates: QuerySet[Any], *, what: str, field: str) -> Any:
    found = list(candidates)
    if not found:
        raise NotFound(f"No {what} is registered", field=field)
    if len(found) > 1:
        raise InvalidInput(f"Several {what}s are registered: name one with {field}", field=field)
    return found[0]


def webhook_status(*, sites: QuerySet[JiraSite]) -> QuerySet[JiraSite]:
    """Sites annotated with ``webhook_last_event`` and ``webhook_events_today`` (UTC day)."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return sites.annotate(
        webhook_last_event=Max("webhook_events__received_at"),
        webhook_events_today=Count("webhook_events", filter=Q(webhook_events__received_at__gte=today)),
    )
