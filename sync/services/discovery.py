"""Live look-ups in Jira for the pickers of the operator consoles: which projects the site's API user can
see and who may work on a project, each flagged against what is registered here.

They call Jira on every use, which is why they are services and not selectors (selectors read the
database only).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.models import JiraSite, Project, SyncJob
from sync.selectors.projects import tracked_users
from sync.services import sites


@dataclass(frozen=True)
class JiraProjectOption:
    id: str
    key: str
    name: str
    registered: bool


@dataclass(frozen=True)
class JiraUserOption:
    account_id: str
    display_name: str
    active: bool
    tracked: bool


def jira_project_options(*, site: JiraSite) -> list[JiraProjectOption]:
    """Every project the site's API user can see in Jira now, flagged when already registered."""
    registered = set(
        Project.objects.filter(site=site)
        .exclude(sync_job__status=SyncJob.Status.UNREGISTERED)
        .values_list("jira_id", flat=True)
    )
    with sites.site_client(site=site) as client:
        found = [p for page in client.iter_project_pages() for p in page]
    return [
        JiraProjectOption(
            id=str(p["id"]),
            key=str(p["key"]),
            name=str(p.get("name", "")),
            registered=int(p["id"]) in registered,
        )
        for p in sorted(found, key=lambda p: str(p["key"]))
    ]


def jira_project_user_options(*, project: Project) -> list[JiraUserOption]:
    """People Jira lets work on the project now, flagged when the project tracks them."""
    tracked = set(tracked_users(project=project).values_list("account_id", flat=True))
    return [
        JiraUserOption(
            account_id=a.account_id,
            display_name=a.display_name,
            active=a.active,
            tracked=a.account_id in tracked,
        )
        for a in sites.project_assignable_users(project=project)
    ]
