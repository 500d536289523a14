"""Users and sprints: rows the issues and their children point at."""

from __future__ import annotations

from collections.abc import Iterable

from sync.jira.records import SprintRecord, UserRecord
from sync.models import JiraSite, JiraUser, Project, Sprint

_USER_FIELDS = ["display_name", "account_type", "active"]


def upsert_users(site: JiraSite, users: Iterable[UserRecord], *, with_email: bool = False) -> dict[str, int]:
    """Upsert users; returns accountId -> row id for every given user.

    The first record of an account wins: callers list full records (with names) before bare ids.
    """
    unique: dict[str, UserRecord] = {}
    for user in users:
        unique.setdefault(user.account_id, user)
    if not unique:
        return {}
    rows = [
        JiraUser(
            site=site,
            account_id=u.account_id,
            display_name=u.display_name,
            email=u.email,
            account_type=u.account_type,
            active=u.active,
            time_zone=u.time_zone,
        )
        for u in unique.values()
    ]
    fields = [*_USER_FIELDS, "email", "time_zone"] if with_email else _USER_FIELDS
    JiraUser.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["site", "account_id"], update_fields=fields
    )
    return dict(
        JiraUser.objects.filter(site=site, account_id__in=list(unique)).values_list("account_id", "id")
    )


def upsert_sprints(
    site: JiraSite, sprints: Iterable[SprintRecord], *, board_project: Project | None = None
) -> dict[int, int]:
    """Upsert sprints (read from ``board_project``'s boards, if given); returns Jira id -> row id."""
    unique = {s.jira_id: s for s in sprints}
    if not unique:
        return {}
    Sprint.objects.bulk_create(
        [
            Sprint(
                site=site,
                jira_id=s.jira_id,
                board_id=s.board_id,
                project=board_project,
                name=s.name,
                state=s.state,
                start_date=s.start_date,
                end_date=s.end_date,
                complete_date=s.complete_date,
                goal=s.goal,
            )
            for s in unique.values()
        ],
        update_conflicts=True,
        unique_fields=["site", "jira_id"],
        update_fields=[
            *(["project"] if board_project else []),
            "board_id",
            "name",
            "state",
            "start_date",
            "end_date",
            "complete_date",
            "goal",
        ],
    )
    return dict(Sprint.objects.filter(site=site, jira_id__in=list(unique)).values_list("jira_id", "id"))
