"""The fake site's state: generated data, the clock, mutations that act like users, the canonical export.

One re-entrant lock guards everything; the HTTP handlers hold it while they read, so a page is always rendered
from one consistent state. ``version`` moves with every change and keys the search caches.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fakejira.adf import document, plain_text
from fakejira.changelog import field_items
from fakejira.generate import generate
from fakejira.model import (
    ISSUE_TYPES,
    PRIORITIES,
    STATUSES,
    ChangeItem,
    Comment,
    FakeDataConfig,
    History,
    Issue,
    Project,
    Sprint,
    User,
    Worklog,
)
from fakejira.timefmt import parse_instant, to_ms, utc_z

CORRUPTIONS = ("bad_date", "missing_fields", "status_shape", "none")
_ISSUE_CHANGES = frozenset(
    {
        "summary",
        "status",
        "assignee",
        "reporter",
        "labels",
        "priority",
        "story_points",
        "sprint_ids",
        "description_text",
        "parent_id",
        "issuetype",
    }
)
# Fields of an issue that its children render inside their `parent` field.
_SHOWN_IN_CHILDREN = frozenset({"summary", "status", "priority", "issuetype"})
_SPRINT_STATES = ("future", "active", "closed")

# Mutation methods the control interface may call by name.
MUTATIONS = frozenset(
    {
        "advance",
        "add_issue",
        "update_issue",
        "delete_issue",
        "move_issue",
        "add_comment",
        "edit_comment",
        "delete_comment",
        "add_worklog",
        "edit_worklog",
        "delete_worklog",
        "set_time_zone",
        "corrupt_issue",
        "add_sprint",
        "update_sprint",
    }
)


# Called under the data lock with (webhook event name, event body without its envelope); must not block.
Listener = Callable[[str, dict[str, Any]], None]


class NotFoundError(LookupError):
    """A mutation or lookup named an entity the site does not have."""


class FakeData:
    def __init__(self, config: FakeDataConfig | None = None) -> None:
        self.config = config or FakeDataConfig()
        self.lock = threading.RLock()
        self._clock_offset = timedelta(0)
        self.zone = ZoneInfo(self.config.time_zone)
        end = self.config.end or datetime.now(UTC) - timedelta(minutes=5)
        world = generate(self.config, end)
        self.users: dict[str, User] = world.users
        self.api_user_id = world.api_user_id
        self.app_user_id = world.app_user_id
        self.former_user_id = world.former_user_id
        self.projects: dict[str, Project] = world.projects
        self.boards = world.boards
        self.sprints: dict[int, Sprint] = world.sprints
        self.issues: dict[int, Issue] = world.issues
        self.key_index = world.key_index
        self._comment_index = world.comment_index
        self._worklog_index = world.worklog_index
        self._next_issue_id = world.next_issue_id
        self._next_entity_id = world.next_entity_id
        self._next_sprint_id = world.next_sprint_id
        self._next_history_id = world.next_history_id
        self.listeners: list[Listener] = []  # e.g. the webhook sender
        self.deleted_worklogs: list[tuple[datetime, int]] = []  # (deleted at, worklog id), in time order
        self.version = 0  # any change
        self.render_epoch = 0  # changes that alter how many issues render (sprint edits)

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return to_ms(datetime.now(UTC) + self._clock_offset)

    def advance(self, seconds: float) -> str:
        with self.lock:
            self._clock_offset += timedelta(seconds=seconds)
            self.version += 1
            return utc_z(self.now())

    @property
    def time_zone(self) -> str:
        return self.users[self.api_user_id].time_zone

    def set_time_zone(self, tz: str) -> str:
        zone = ZoneInfo(tz)  # raises for an unknown zone
        with self.lock:
            self.zone = zone
            self.users[self.api_user_id].time_zone = tz
            self.version += 1
            return tz

    # -- lookups ----------------------------------------------------------------------------------
    def find_issue(self, ref: str | int) -> Issue | None:
        """By id or by key, current or former (a moved issue's old key still resolves)."""
        text = str(ref).strip()
        if text.isdigit():
            return self.issues.get(int(text))
        issue_id = self.key_index.get(text.upper())
        return self.issues.get(issue_id) if issue_id is not None else None

    def find_project(self, ref: str | int) -> Project | None:
        text = str(ref).strip()
        if text.isdigit():
            return next((p for p in self.projects.values() if p.id == int(text)), None)
        return self.projects.get(text.upper())

    def project_issues(self, project_key: str) -> list[Issue]:
        return [self.issues[i] for i in self.projects[project_key].issue_ids]

    def _issue(self, ref: str | int) -> Issue:
        issue = self.find_issue(ref)
        if issue is None:
            raise NotFoundError(f"no issue {ref!r}")
        return issue

    def _project(self, key: str) -> Project:
        project = self.find_project(key)
        if project is None:
            raise NotFoundError(f"no project {key!r}")
        return project

    def _user(self, account_id: str | None) -> str | None:
        if account_id is not None and account_id not in self.users:
            raise ValueError(f"no user {account_id!r}")
        return account_id

    def _comment(self, comment_id: str | int) -> tuple[Issue, Comment]:
        issue_id = self._comment_index.get(int(comment_id))
        if issue_id is None:
            raise NotFoundError(f"no comment {comment_id!r}")
        issue = self.issues[issue_id]
        return issue, next(c for c in issue.comments if c.id == int(comment_id))

    def _worklog(self, worklog_id: str | int) -> tuple[Issue, Worklog]:
        issue_id = self._worklog_index.get(int(worklog_id))
        if issue_id is None:
            raise NotFoundError(f"no worklog {worklog_id!r}")
        issue = self.issues[issue_id]
        return issue, next(w for w in issue.worklogs if w.id == int(worklog_id))

    def worklog_by_id(self, worklog_id: int) -> Worklog | None:
        issue_id = self._worklog_index.get(worklog_id)
        if issue_id is None:
            return None
        return next((w for w in self.issues[issue_id].worklogs if w.id == worklog_id), None)

    def children(self, issue_id: int) -> list[Issue]:
        return [i for i in self.issues.values() if i.parent_id == issue_id]

    # -- mutations --------------------------------------------------------------------------------
    def _touch(self, issue: Issue, at: datetime) -> None:
        issue.updated = max(at, issue.updated)
        issue.rev += 1
        self.version += 1

    def _record(self, issue: Issue, items: list[ChangeItem], at: datetime) -> History:
        """Append a history to the issue's changelog (its rendering changes with the next _touch)."""
        history = History(self._next_history_id, issue.id, self.api_user_id, at, items)
        self._next_history_id += 1
        issue.changelog.append(history)
        return history

    def _emit(self, event: str, body: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(event, body)

    @staticmethod
    def _issue_ref(issue: Issue) -> dict[str, Any]:
        return {
            "id": str(issue.id),
            "key": issue.key,
            "fields": {
                "summary": issue.summary,
                "status": {"name": issue.status},
                "updated": utc_z(issue.updated),
            },
        }

    def _new_entity_id(self) -> int:
        entity_id = self._next_entity_id
        self._next_entity_id += 1
        return entity_id

    def add_issue(self, project_key: str, **fields: Any) -> str:
        with self.lock:
            project = self._project(project_key)
            now = self.now()
            issue = Issue(
                id=self._next_issue_id,
                key=f"{project.key}-{project.next_number}",
                project_key=project.key,
                summary="New issue",
                issuetype="Task",
                status="To Do",
                priority="Medium",
                labels=[],
                story_points=None,
                sprint_ids=[],
                assignee=None,
                reporter=self.api_user_id,
                parent_id=None,
                description=None,
                created=now,
                updated=now,
                resolved=None,
            )
            self._next_issue_id += 1
            project.next_number += 1
            self.issues[issue.id] = issue
            self.key_index[issue.key] = issue.id
            project.issue_ids.append(issue.id)  # the newest id is the largest: the list stays sorted
            self.version += 1
            if fields:
                self._apply_changes(issue, fields, now, record=False)  # creation is not a change
            self._emit("jira:issue_created", {"issue": self._issue_ref(issue)})
            return str(issue.id)

    def update_issue(self, issue_id: str | int, **changes: Any) -> str:
        with self.lock:
            issue = self._issue(issue_id)
            history = self._apply_changes(issue, changes, self.now())
            body: dict[str, Any] = {"issue": self._issue_ref(issue)}
            if history is not None:
                body["changelog"] = {"id": str(history.id)}
            self._emit("jira:issue_updated", body)
            return str(issue.id)

    def _apply_changes(
        self, issue: Issue, changes: dict[str, Any], now: datetime, *, record: bool = True
    ) -> History | None:
        values = self._validate_changes(issue, changes)  # all or nothing: validate before touching
        items = field_items(issue, values, self.users, self.sprints) if record else []
        if "status" in values:
            was_done = STATUSES[issue.status].category_key == "done"
            is_done = STATUSES[values["status"]].category_key == "done"
            if is_done and not was_done:
                issue.resolved = now
            elif not is_done:
                issue.resolved = None
        if "description_text" in values:
            text = values.pop("description_text")
            issue.description = None if text is None else document(text)
        for name, value in values.items():
            setattr(issue, name, value)
        history = self._record(issue, items, now) if items else None
        self._touch(issue, now)
        if _SHOWN_IN_CHILDREN & set(changes):
            for child in self.children(issue.id):
                child.rev += 1  # their `parent` field shows this issue's summary and status
        return history

    def _validate_changes(self, issue: Issue, changes: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - _ISSUE_CHANGES
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}; allowed: {sorted(_ISSUE_CHANGES)}")
        values = dict(changes)
        catalogues: dict[str, Any] = {"status": STATUSES, "priority": PRIORITIES, "issuetype": ISSUE_TYPES}
        for name, catalogue in catalogues.items():
            value = changes.get(name)
            if name in changes and not (value is None and name == "priority") and value not in catalogue:
                raise ValueError(f"unknown {name} {value!r}; known: {list(catalogue)}")
        for name in ("assignee", "reporter"):
            if name in changes:
                self._user(changes[name])
        if "summary" in changes:
            values["summary"] = str(changes["summary"])
        if "labels" in changes:
            values["labels"] = sorted({str(label) for label in changes["labels"] or []})
        if "story_points" in changes:
            values["story_points"] = (
                None if changes["story_points"] is None else float(changes["story_points"])
            )
        if "sprint_ids" in changes:
            values["sprint_ids"] = [int(s) for s in changes["sprint_ids"] or []]
            missing = [s for s in values["sprint_ids"] if s not in self.sprints]
            if missing:
                raise ValueError(f"unknown sprints {missing}")
        if "description_text" in changes and changes["description_text"] is not None:
            values["description_text"] = str(changes["description_text"])
        if changes.get("parent_id") is not None:
            values["parent_id"] = self._issue(changes["parent_id"]).id
            if values["parent_id"] == issue.id:
                raise ValueError("an issue cannot be its own parent")
        return values

    def delete_issue(self, issue_id: str | int) -> str:
        with self.lock:
            issue = self._issue(issue_id)
            now = self.now()
            for child in self.children(issue.id):
                if ISSUE_TYPES[child.issuetype].subtask:
                    self.delete_issue(child.id)  # Jira deletes sub-tasks with their parent
                else:
                    child.parent_id = None
                    self._touch(child, now)
            for worklog in issue.worklogs:
                self.deleted_worklogs.append((now, worklog.id))
                del self._worklog_index[worklog.id]
            for comment in issue.comments:
                del self._comment_index[comment.id]
            for key in [k for k, v in self.key_index.items() if v == issue.id]:
                del self.key_index[key]
            self.projects[issue.project_key].issue_ids.remove(issue.id)
            del self.issues[issue.id]
            self.version += 1
            self._emit("jira:issue_deleted", {"issue": self._issue_ref(issue)})
            return str(issue.id)

    def move_issue(self, issue_id: str | int, to_project_key: str) -> str:
        with self.lock:
            issue = self._issue(issue_id)
            target = self._project(to_project_key)
            if issue.project_key == target.key:
                return issue.key
            now = self.now()
            source, old_key = self.projects[issue.project_key], issue.key
            source.issue_ids.remove(issue.id)
            bisect.insort(target.issue_ids, issue.id)
            issue.project_key = target.key
            issue.key = f"{target.key}-{target.next_number}"
            target.next_number += 1
            self.key_index[issue.key] = issue.id  # the old key keeps resolving to the same id
            items = [
                ChangeItem(
                    "project", "jira", "project", str(source.id), source.name, str(target.id), target.name
                ),
                ChangeItem("Key", "jira", None, None, old_key, None, issue.key),
            ]
            self._record(issue, items, now)
            self._touch(issue, now)
            self._emit("jira:issue_updated", {"issue": self._issue_ref(issue)})
            for child in self.children(issue.id):
                if ISSUE_TYPES[child.issuetype].subtask:
                    self.move_issue(child.id, target.key)  # sub-tasks follow their parent
                else:
                    child.rev += 1  # their `parent.key` changed
            return issue.key

    def add_comment(self, issue_id: str | int, text: str, author: str | None = None) -> str:
        with self.lock:
            issue = self._issue(issue_id)
            now = self.now()
            who = self._user(author) or self.api_user_id
            comment = Comment(self._new_entity_id(), issue.id, who, who, document(text), now, now)
            issue.comments.append(comment)
            self._comment_index[comment.id] = issue.id
            self._touch(issue, now)  # comments have no feed: the issue's `updated` is how a sync notices
            self._emit_comment("comment_created", issue, comment)
            return str(comment.id)

    def edit_comment(self, comment_id: str | int, text: str) -> str:
        with self.lock:
            issue, comment = self._comment(comment_id)
            now = self.now()
            comment.body = document(text)
            comment.updated = now
            comment.update_author = self.api_user_id
            self._touch(issue, now)
            self._emit_comment("comment_updated", issue, comment)
            return str(comment.id)

    def delete_comment(self, comment_id: str | int) -> str:
        with self.lock:
            issue, comment = self._comment(comment_id)
            issue.comments.remove(comment)
            del self._comment_index[comment.id]
            self._touch(issue, self.now())
            self._emit_comment("comment_deleted", issue, comment)
            return str(comment.id)

    def _emit_comment(self, event: str, issue: Issue, comment: Comment) -> None:
        self._emit(event, {"comment": {"id": str(comment.id)}, "issue": self._issue_ref(issue)})

    def _emit_worklog(self, event: str, worklog: Worklog) -> None:
        self._emit(event, {"worklog": {"id": str(worklog.id), "issueId": str(worklog.issue_id)}})

    def add_worklog(
        self,
        issue_id: str | int,
        seconds: int,
        started: str | datetime | None = None,
        author: str | None = None,
        comment: str | None = None,
    ) -> str:
        if int(seconds) <= 0:
            raise ValueError("a worklog needs a positive time spent")
        with self.lock:
            issue = self._issue(issue_id)
            now = self.now()
            who = self._user(author) or self.api_user_id
            start = parse_instant(started) if started is not None else now - timedelta(seconds=int(seconds))
            worklog = Worklog(
                self._new_entity_id(),
                issue.id,
                who,
                who,
                document(comment) if comment else None,
                now,
                now,
                start,
                int(seconds),
            )
            issue.worklogs.append(worklog)
            self._worklog_index[worklog.id] = issue.id
            self._touch(issue, now)
            self._emit_worklog("worklog_created", worklog)
            return str(worklog.id)

    def edit_worklog(self, worklog_id: str | int, seconds: int, started: str | datetime | None = None) -> str:
        if int(seconds) <= 0:
            raise ValueError("a worklog needs a positive time spent")
        with self.lock:
            issue, worklog = self._worklog(worklog_id)
            now = self.now()
            worklog.seconds = int(seconds)
            if started is not None:
                worklog.started = parse_instant(started)
            worklog.updated = now
            worklog.update_author = self.api_user_id
            self._touch(issue, now)
            self._emit_worklog("worklog_updated", worklog)
            return str(worklog.id)

    def delete_worklog(self, worklog_id: str | int) -> str:
        with self.lock:
            issue, worklog = self._worklog(worklog_id)
            now = self.now()
            issue.worklogs.remove(worklog)
            del self._worklog_index[worklog.id]
            self.deleted_worklogs.append((now, worklog.id))
            self._touch(issue, now)
            self._emit_worklog("worklog_deleted", worklog)
            return str(worklog.id)

    def corrupt_issue(self, issue_id: str | int, how: str) -> str:
        """Make the issue render broken ("bad_date", "missing_fields", "status_shape"); "none" repairs it."""
        if how not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {how!r}; known: {list(CORRUPTIONS)}")
        with self.lock:
            issue = self._issue(issue_id)
            issue.corruption = None if how == "none" else how
            self._touch(issue, self.now())
            self._emit("jira:issue_updated", {"issue": self._issue_ref(issue)})
            return str(issue.id)

    def add_sprint(
        self,
        board_id: int,
        *,
        name: str | None = None,
        state: str = "future",
        start_date: str | datetime | None = None,
        end_date: str | datetime | None = None,
        goal: str = "",
    ) -> int:
        with self.lock:
            board = self.boards.get(int(board_id))
            if board is None:
                raise NotFoundError(f"no board {board_id!r}")
            if board.type != "scrum":
                raise ValueError("The board does not support sprints")
            if state not in _SPRINT_STATES:
                raise ValueError(f"unknown sprint state {state!r}")
            sprint = Sprint(
                id=self._next_sprint_id,
                board_id=board.id,
                name=name or f"{board.project_key} Sprint {self._next_sprint_id}",
                state=state,
                start_date=parse_instant(start_date) if start_date else None,
                end_date=parse_instant(end_date) if end_date else None,
                complete_date=self.now() if state == "closed" else None,
                goal=goal,
            )
            self._next_sprint_id += 1
            self.sprints[sprint.id] = sprint
            self.version += 1
            self._emit_sprint("sprint_created", sprint)
            return sprint.id

    def update_sprint(self, sprint_id: int, **changes: Any) -> int:
        """Rename, re-date or change the state of a sprint.

        Issues embedding it render the change, but their `updated` stays, as in Jira.
        """
        allowed = {"name", "state", "start_date", "end_date", "complete_date", "goal"}
        if set(changes) - allowed:
            raise ValueError(f"cannot change {sorted(set(changes) - allowed)}; allowed: {sorted(allowed)}")
        with self.lock:
            sprint = self.sprints.get(int(sprint_id))
            if sprint is None:
                raise NotFoundError(f"no sprint {sprint_id!r}")
            if "state" in changes:
                if changes["state"] not in _SPRINT_STATES:
                    raise ValueError(f"unknown sprint state {changes['state']!r}")
                if (
                    changes["state"] == "closed"
                    and sprint.state != "closed"
                    and "complete_date" not in changes
                ):
                    sprint.complete_date = self.now()
                sprint.state = changes["state"]
            for name in ("start_date", "end_date", "complete_date"):
                if name in changes:
                    setattr(sprint, name, parse_instant(changes[name]) if changes[name] else None)
            if "name" in changes:
                sprint.name = str(changes["name"])
            if "goal" in changes:
                sprint.goal = str(changes["goal"])
            self.version += 1
            self.render_epoch += 1
            started = changes.get("state") == "active"
            closed = changes.get("state") == "closed"
            self._emit_sprint(
                "sprint_started" if started else "sprint_closed" if closed else "sprint_updated", sprint
            )
            return sprint.id

    def _emit_sprint(self, event: str, sprint: Sprint) -> None:
        body = {"id": sprint.id, "state": sprint.state, "name": sprint.name, "originBoardId": sprint.board_id}
        self._emit(event, {"sprint": body})

    # -- canonical export (what a correct sync must end up with) ----------------------------------
    def export(self, project_key: str) -> list[dict[str, Any]]:
        with self.lock:
            project = self._project(project_key)
            return [self._export_issue(self.issues[i]) for i in project.issue_ids]

    @staticmethod
    def _export_issue(issue: Issue) -> dict[str, Any]:
        return {
            "id": str(issue.id),
            "key": issue.key,
            "summary": issue.summary,
            "status": issue.status,
            "priority": issue.priority,
            "issuetype": issue.issuetype,
            "assignee": issue.assignee,
            "reporter": issue.reporter,
            "parent_id": None if issue.parent_id is None else str(issue.parent_id),
            "labels": sorted(issue.labels),
            "sprint_ids": sorted(issue.sprint_ids),
            "created": utc_z(issue.created),
            "updated": utc_z(issue.updated),
            "resolved": utc_z(issue.resolved) if issue.resolved else None,
            "comments": [
                {
                    "id": str(c.id),
                    "author": c.author,
                    "created": utc_z(c.created),
                    "updated": utc_z(c.updated),
                    "body_text": plain_text(c.body),
                }
                for c in sorted(issue.comments, key=lambda c: c.id)
            ],
            "worklogs": [
                {
                    "id": str(w.id),
                    "author": w.author,
                    "started": utc_z(w.started),
                    "time_spent_seconds": w.seconds,
                    "updated": utc_z(w.updated),
                }
                for w in sorted(issue.worklogs, key=lambda w: w.id)
            ],
        }

    def export_history(self, project_key: str) -> list[dict[str, Any]]:
        """Every change item of the project's issues, one row each, as ``export_project --entity history``
        writes them (sorted by issue id, history id, item position)."""
        with self.lock:
            project = self._project(project_key)
            return [
                {
                    "issue_id": str(issue.id),
                    "history_id": str(history.id),
                    "created": utc_z(history.created),
                    "author": history.author,
                    "field": item.field,
                    "from": item.from_value,
                    "to": item.to_value,
                    "from_string": item.from_string,
                    "to_string": item.to_string,
                }
                for issue in (self.issues[i] for i in project.issue_ids)
                for history in sorted(issue.changelog, key=lambda h: h.id)
                for item in history.items
            ]

    def export_users(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "accountId": u.account_id,
                    "displayName": u.display_name,
                    "accountType": u.account_type,
                    "active": u.active,
                }
                for u in sorted(self.users.values(), key=lambda u: u.account_id)
            ]

    def export_sprints(self, project_key: str) -> list[dict[str, Any]]:
        with self.lock:
            project = self._project(project_key)
            boards = {
                b.id for b in self.boards.values() if b.project_key == project.key and b.type == "scrum"
            }
            return [
                {
                    "id": s.id,
                    "board_id": s.board_id,
                    "name": s.name,
                    "state": s.state,
                    "start_date": utc_z(s.start_date) if s.start_date else None,
                    "end_date": utc_z(s.end_date) if s.end_date else None,
                    "complete_date": utc_z(s.complete_date) if s.complete_date else None,
                    "goal": s.goal,
                }
                for s in sorted(self.sprints.values(), key=lambda s: s.id)
                if s.board_id in boards
            ]
