"""Entities as Jira's REST API renders them (v3: ADF bodies; v2: plain-text bodies), with a per-issue cache.

Search pages are built from cached per-issue JSON fragments: an issue is serialized once per field selection
and re-serialized only after it (or something it embeds) changes, so a page costs O(page) string joins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fakejira.adf import plain_text
from fakejira.model import (
    ISSUE_TYPES,
    PRIORITIES,
    STATUSES,
    Board,
    ChangeItem,
    Comment,
    History,
    Issue,
    Project,
    Sprint,
    Worklog,
)
from fakejira.timefmt import jira_timestamp, utc_z

if TYPE_CHECKING:
    from fakejira.data import FakeData

SPRINT_FIELD = "customfield_10020"
STORY_POINTS_FIELD = "customfield_10016"
RANK_FIELD = "customfield_10019"

# Field id -> (name, custom, navigable, schema). Order is the order fields appear in an issue.
FIELDS: dict[str, tuple[str, bool, bool, dict[str, Any]]] = {
    "summary": ("Summary", False, True, {"type": "string", "system": "summary"}),
    "issuetype": ("Issue Type", False, True, {"type": "issuetype", "system": "issuetype"}),
    "parent": ("Parent", False, True, {"type": "issuelink", "system": "parent"}),
    "project": ("Project", False, True, {"type": "project", "system": "project"}),
    "status": ("Status", False, True, {"type": "status", "system": "status"}),
    "priority": ("Priority", False, True, {"type": "priority", "system": "priority"}),
    "labels": ("Labels", False, True, {"type": "array", "items": "string", "system": "labels"}),
    "assignee": ("Assignee", False, True, {"type": "user", "system": "assignee"}),
    "reporter": ("Reporter", False, True, {"type": "user", "system": "reporter"}),
    "creator": ("Creator", False, True, {"type": "user", "system": "creator"}),
    "description": ("Description", False, True, {"type": "string", "system": "description"}),
    "created": ("Created", False, True, {"type": "datetime", "system": "created"}),
    "updated": ("Updated", False, True, {"type": "datetime", "system": "updated"}),
    "resolution": ("Resolution", False, True, {"type": "resolution", "system": "resolution"}),
    "resolutiondate": ("Resolved", False, True, {"type": "datetime", "system": "resolutiondate"}),
    "timespent": ("Time Spent", False, True, {"type": "number", "system": "timespent"}),
    "comment": ("Comment", False, False, {"type": "comments-page", "system": "comment"}),
    "worklog": ("Log Work", False, False, {"type": "array", "items": "worklog", "system": "worklog"}),
    STORY_POINTS_FIELD: (
        "Story point estimate",
        True,
        True,
        {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:jsw-story-points",
            "customId": 10016,
        },
    ),
    RANK_FIELD: (
        "Rank",
        True,
        True,
        {
            "type": "any",
            "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank",
            "customId": 10019,
        },
    ),
    SPRINT_FIELD: (
        "Sprint",
        True,
        True,
        {
            "type": "array",
            "items": "json",
            "custom": "com.pyxis.greenhopper.jira:gh-sprint",
            "customId": 10020,
        },
    ),
}
NAVIGABLE = frozenset(name for name, (_, _, navigable, _) in FIELDS.items() if navigable)
ALL_FIELDS = frozenset(FIELDS)
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def parse_fields(raw: Iterable[str] | str | None, default: frozenset[str]) -> frozenset[str]:
    """A ``fields`` parameter (list or comma string) as the set of field ids to render; empty = ids only."""
    if raw is None:
        return default
    items = [
        part.strip()
        for entry in ([raw] if isinstance(raw, str) else raw)
        for part in str(entry).split(",")
        if part.strip()
    ]
    if not items:
        return default
    chosen: set[str] = set()
    excluded: set[str] = set()
    positive = False
    for item in items:
        if item.startswith("-"):
            excluded.add(item[1:])
            continue
        positive = True
        if item == "*all":
            chosen |= ALL_FIELDS
        elif item == "*navigable":
            chosen |= NAVIGABLE
        elif item in FIELDS:
            chosen.add(item)
        # `id`, `key` and unknown names select nothing, as in Jira.
    return frozenset((chosen if positive else set(default)) - excluded)


def time_spent(seconds: int) -> str:
    """Jira's duration text with its default 8-hour days and 5-day weeks: ``1w 2d 3h 30m``."""
    parts = []
    minutes = seconds // 60
    for unit, size in (("w", 5 * 8 * 60), ("d", 8 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0m"


@dataclass(frozen=True)
class IssueView:
    """How to render issues for one request."""

    fields: frozenset[str]
    api: str = "3"
    changelog: bool = False


class Renderer:
    def __init__(self, data: FakeData, base_url: str) -> None:
        self.data = data
        self.base_url = base_url
        self._cache: dict[tuple[int, IssueView], tuple[int, int, str, str]] = {}
        self._users: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

    # -- small entities ---------------------------------------------------------------------------
    def user(self, account_id: str | None, api: str = "3") -> dict[str, Any] | None:
        """A user as embedded everywhere; shared and cached, so callers must copy before changing it."""
        if account_id is None:
            return None
        user = self.data.users.get(account_id)
        if user is None:
            return None
        cached = self._users.get((account_id, api))
        if cached is not None and cached[0] == user.time_zone:
            return cached[1]
        rendered: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/{api}/user?accountId={user.account_id}",
            "accountId": user.account_id,
        }
        if user.email:  # privacy settings hide every address but the caller's own
            rendered["emailAddress"] = user.email
        rendered.update(
            {
                "avatarUrls": {"48x48": f"{self.base_url}/avatars/{user.account_id}.png"},
                "displayName": user.display_name,
                "active": user.active,
                "timeZone": user.time_zone,
                "accountType": user.account_type,
            }
        )
        self._users[(account_id, api)] = (user.time_zone, rendered)
        return rendered

    def project(self, project: Project, api: str = "3") -> dict[str, Any]:
        return {
            "self": f"{self.base_url}/rest/api/{api}/project/{project.id}",
            "id": str(project.id),
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "avatarUrls": {"48x48": f"{self.base_url}/avatars/project-{project.id}.png"},
        }

    def board(self, board: Board) -> dict[str, Any]:
        project = self.data.projects[board.project_key]
        return {
            "id": board.id,
            "self": f"{self.base_url}/rest/agile/1.0/board/{board.id}",
            "name": board.name,
            "type": board.type,
            "location": {
                "projectId": project.id,
                "displayName": f"{project.name} ({project.key})",
                "projectName": project.name,
                "projectKey": project.key,
                "projectTypeKey": "software",
                "name": f"{project.name} ({project.key})",
            },
        }

    def sprint(self, sprint: Sprint) -> dict[str, Any]:
        """The agile API's sprint; dates a sprint does not have yet are left out, as Jira does."""
        rendered: dict[str, Any] = {
            "id": sprint.id,
            "self": f"{self.base_url}/rest/agile/1.0/sprint/{sprint.id}",
            "state": sprint.state,
            "name": sprint.name,
        }
        rendered.update(_sprint_dates(sprint))
        rendered["originBoardId"] = sprint.board_id
        rendered["goal"] = sprint.goal
        return rendered

    def comment(self, comment: Comment, api: str = "3") -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/{api}/issue/{comment.issue_id}/comment/{comment.id}",
            "id": str(comment.id),
            "author": self.user(comment.author, api),
            "body": comment.body if api == "3" else plain_text(comment.body),
            "updateAuthor": self.user(comment.update_author, api),
            "created": self._ts(comment.created),
            "updated": self._ts(comment.updated),
            "jsdPublic": True,
        }
        if comment.visibility:
            rendered["visibility"] = {**comment.visibility, "identifier": comment.visibility["value"]}
        return rendered

    def worklog(self, worklog: Worklog, api: str = "3") -> dict[str, Any]:
        rendered: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/{api}/issue/{worklog.issue_id}/worklog/{worklog.id}",
            "author": self.user(worklog.author, api),
            "updateAuthor": self.user(worklog.update_author, api),
        }
        if worklog.comment is not None:
            rendered["comment"] = worklog.comment if api == "3" else plain_text(worklog.comment)
        rendered.update(
            {
                "created": self._ts(worklog.created),
                "updated": self._ts(worklog.updated),
                "started": self._ts(worklog.started),
                "timeSpent": time_spent(worklog.seconds),
                "timeSpentSeconds": worklog.seconds,
                "id": str(worklog.id),
                "issueId": str(worklog.issue_id),
            }
        )
        return rendered

    def history(self, history: History, api: str = "3") -> dict[str, Any]:
        return {
            "id": str(history.id),
            "author": self.user(history.author, api),
            "created": self._ts(history.created),
            "items": [change_item(item) for item in history.items],
        }

    def embedded_changelog(self, issue: Issue, api: str) -> dict[str, Any]:
        """``expand=changelog``: the first histories only, with the ``total`` that says more exist."""
        shown = issue.changelog[: self.data.config.changelog_embedded_limit]
        return {
            "startAt": 0,
            "maxResults": len(shown),
            "total": len(issue.changelog),
            "histories": [self.history(h, api) for h in shown],
        }

    def _ts(self, moment: datetime) -> str:
        return jira_timestamp(moment, self.data.zone)

    # -- issues -----------------------------------------------------------------------------------
    def issue_json(self, issue: Issue, view: IssueView) -> str:
        """The issue as a JSON fragment, from the cache while neither it nor what it embeds has changed."""
        key = (issue.id, view)
        cached = self._cache.get(key)
        stamp = (issue.rev, self.data.render_epoch, self.data.time_zone)
        if cached is not None and cached[:3] == stamp:
            return cached[3]
        text = json.dumps(self.issue(issue, view), separators=(",", ":"))
        if len(self._cache) > 100_000:  # many distinct field selections: start over rather than grow
            self._cache.clear()
        self._cache[key] = (*stamp, text)
        return text

    def issue(self, issue: Issue, view: IssueView) -> dict[str, Any]:
        api = view.api
        rendered: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.base_url}/rest/api/{api}/issue/{issue.id}",
            "key": issue.key,
        }
        if view.changelog:
            rendered["changelog"] = self.embedded_changelog(issue, api)
        if not view.fields:
            return {"id": rendered["id"], "key": issue.key, "self": rendered["self"]}
        if issue.corruption == "missing_fields":
            return rendered
        fields = {name: self._field(issue, name, api) for name in FIELDS if name in view.fields}
        if issue.corruption == "bad_date" and "updated" in fields:
            fields["updated"] = "not-a-date"
        if issue.corruption == "status_shape" and "status" in fields:
            fields["status"] = issue.status  # a schema change: a plain string where an object was
        rendered["fields"] = fields
        return rendered

    def _field(self, issue: Issue, name: str, api: str) -> Any:
        limit = self.data.config.embedded_limit
        if name == "summary":
            return issue.summary
        if name == "issuetype":
            return self.issuetype(issue.issuetype)
        if name == "parent":
            parent = self.data.issues.get(issue.parent_id) if issue.parent_id else None
            return self._parent(parent, api) if parent else None
        if name == "project":
            project = self.data.projects[issue.project_key]
            return {k: v for k, v in self.project(project, api).items() if k != "isPrivate"}
        if name == "status":
            return self.status(issue.status)
        if name == "priority":
            return self.priority(issue.priority)
        if name == "labels":
            return list(issue.labels)
        if name in ("assignee", "reporter"):
            return self.user(getattr(issue, name), api)
        if name == "creator":
            return self.user(issue.reporter, api)
        if name == "description":
            if issue.description is None:
                return None
            return issue.description if api == "3" else plain_text(issue.description)
        if name in ("created", "updated"):
            return self._ts(getattr(issue, name))
        if name == "resolutiondate":
            return self._ts(issue.resolved) if issue.resolved else None
        if name == "resolution":
            return (
                {
                    "self": f"{self.base_url}/rest/api/{api}/resolution/10000",
                    "id": "10000",
                    "description": "Work has been completed on this issue.",
                    "name": "Done",
                }
                if issue.resolved
                else None
            )
        if name == "timespent":
            return sum(w.seconds for w in issue.worklogs) or None
        if name == "comment":
            return {
                "comments": [self.comment(c, api) for c in issue.comments[:limit]],
                "self": f"{self.base_url}/rest/api/{api}/issue/{issue.id}/comment",
                "maxResults": limit,
                "total": len(issue.comments),
                "startAt": 0,
            }
        if name == "worklog":
            return {
                "startAt": 0,
                "maxResults": limit,
                "total": len(issue.worklogs),
                "worklogs": [self.worklog(w, api) for w in issue.worklogs[:limit]],
            }
        if name == STORY_POINTS_FIELD:
            return issue.story_points
        if name == RANK_FIELD:
            return f"0|i{issue.id:05x}:"
        if name == SPRINT_FIELD:
            sprints = [self.data.sprints[s] for s in issue.sprint_ids if s in self.data.sprints]
            return [_sprint_in_field(s) for s in sprints] or None
        raise KeyError(name)

    def _parent(self, parent: Issue, api: str) -> dict[str, Any]:
        return {
            "id": str(parent.id),
            "key": parent.key,
            "self": f"{self.base_url}/rest/api/{api}/issue/{parent.id}",
            "fields": {
                "summary": parent.summary,
                "status": self.status(parent.status),
                "priority": self.priority(parent.priority),
                "issuetype": self.issuetype(parent.issuetype),
            },
        }

    def status(self, name: str) -> dict[str, Any]:
        status = STATUSES[name]
        return {
            "self": f"{self.base_url}/rest/api/3/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "untranslatedName": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.base_url}/rest/api/3/statuscategory/{status.category_id}",
                "id": status.category_id,
                "key": status.category_key,
                "colorName": status.color,
                "name": status.category_name,
            },
        }

    def priority(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        priority_id = PRIORITIES[name]
        return {
            "self": f"{self.base_url}/rest/api/3/priority/{priority_id}",
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
            "name": name,
            "id": priority_id,
        }

    def issuetype(self, name: str) -> dict[str, Any]:
        kind = ISSUE_TYPES[name]
        return {
            "self": f"{self.base_url}/rest/api/3/issuetype/{kind.id}",
            "id": kind.id,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{name.lower()}.svg",
            "name": kind.name,
            "subtask": kind.subtask,
            "hierarchyLevel": kind.hierarchy_level,
        }

    def field_list(self) -> list[dict[str, Any]]:
        rendered = []
        for field_id, (name, custom, navigable, schema) in FIELDS.items():
            clause = [f"cf[{field_id.split('_')[1]}]", name] if custom else [field_id]
            rendered.append(
                {
                    "id": field_id,
                    "key": field_id,
                    "name": name,
                    "custom": custom,
                    "orderable": field_id not in ("created", "updated", "resolutiondate", "creator"),
                    "navigable": navigable,
                    "searchable": True,
                    "clauseNames": clause,
                    "schema": schema,
                }
            )
        return rendered


def change_item(item: ChangeItem) -> dict[str, Any]:
    rendered: dict[str, Any] = {"field": item.field, "fieldtype": item.fieldtype}
    if item.field_id is not None:
        rendered["fieldId"] = item.field_id
    rendered.update(
        {
            "from": item.from_value,
            "fromString": item.from_string,
            "to": item.to_value,
            "toString": item.to_string,
        }
    )
    return rendered


def _sprint_dates(sprint: Sprint) -> dict[str, str]:
    dates = {"startDate": sprint.start_date, "endDate": sprint.end_date, "completeDate": sprint.complete_date}
    return {name: utc_z(value) for name, value in dates.items() if value is not None}


def _sprint_in_field(sprint: Sprint) -> dict[str, Any]:
    return {
        "id": sprint.id,
        "name": sprint.name,
        "state": sprint.state,
        "boardId": sprint.board_id,
        "goal": sprint.goal,
        **_sprint_dates(sprint),
    }
