"""Seeded generation of a plausible Jira site: users, projects, boards, sprints, issues, comments, worklogs.

Everything comes from one ``random.Random(seed)`` consumed in a fixed order, so a config (with ``end`` set)
always yields the same site. Ids follow creation time as in Jira: issues are created in a global timeline,
and comments and worklogs share one id sequence assigned in creation order.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from fakejira.adf import document
from fakejira.changelog import resolution_item, sprint_item, status_item, user_item
from fakejira.model import (
    STATUSES,
    Board,
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
from fakejira.timefmt import epoch_ms, from_epoch_ms, to_ms

FIRST_ISSUE_ID = 10000
FIRST_ENTITY_ID = 100000  # comments and worklogs
FIRST_PROJECT_ID = 10000
FIRST_HISTORY_ID = 1_000_000
# The workflow a generated issue walked to reach its status.
_STATUS_PATHS = {
    "To Do": ["To Do"],
    "In Progress": ["To Do", "In Progress"],
    "In Review": ["To Do", "In Progress", "In Review"],
    "Done": ["To Do", "In Progress", "In Review", "Done"],
}
SPRINT_LENGTH = timedelta(days=14)

# fmt: off
_FIRST = [
    "Ada", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Gustav", "Hana", "Ivan", "Jun", "Kofi", "Lena",
    "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara",
]
_LAST = [
    "Okafor", "Lindqvist", "Tanaka", "Moreau", "Silva", "Novak", "Haddad", "Kowalski", "Nguyen",
    "Fischer", "Costa", "Ibrahim", "Larsen", "Petrov", "Rossi", "Sato", "Walsh", "Zhang",
]
_ZONES = [
    "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC", "America/Sao_Paulo",
    "Pacific/Auckland", "Europe/London",
]
# fmt: on
_VERBS = [
    "Fix",
    "Add",
    "Refactor",
    "Investigate",
    "Document",
    "Migrate",
    "Speed up",
    "Remove",
    "Test",
    "Design",
]
_NOUNS = [
    "login flow",
    "export job",
    "billing page",
    "search index",
    "API rate limiter",
    "audit log",
    "notification service",
    "dashboard widget",
    "CSV import",
    "webhook handler",
    "user settings",
    "report builder",
    "cache layer",
    "onboarding wizard",
    "permissions check",
    "sync scheduler",
]
_SENTENCES = [
    "Reproduced on staging with the latest build.",
    "This blocks the release, please prioritise.",
    "I pushed a draft, reviews welcome.",
    "Root cause is a race between the two workers.",
    "Customer confirmed the workaround helps.",
    "Moving this to the next sprint.",
    "Added tests for the edge cases we discussed.",
    "Can we split this into smaller tickets?",
    "Logs attached, see the timestamps around midnight UTC.",
    "Looks good to me, merging.",
    "The retry budget was exhausted after three attempts.",
    "Paired on this today, almost done.",
]
_LABELS = [
    "backend",
    "frontend",
    "api",
    "ux",
    "tech-debt",
    "customer",
    "security",
    "performance",
    "infra",
    "docs",
]
_POINTS = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0]


@dataclass
class World:
    users: dict[str, User]
    api_user_id: str
    app_user_id: str
    former_user_id: str
    projects: dict[str, Project]
    boards: dict[int, Board]
    sprints: dict[int, Sprint]
    issues: dict[int, Issue]
    key_index: dict[str, int]  # current and former keys -> issue id
    comment_index: dict[int, int] = field(default_factory=dict)  # comment id -> issue id
    worklog_index: dict[int, int] = field(default_factory=dict)  # worklog id -> issue id
    next_issue_id: int = FIRST_ISSUE_ID
    next_entity_id: int = FIRST_ENTITY_ID
    next_sprint_id: int = 1
    next_board_id: int = 1
    next_history_id: int = FIRST_HISTORY_ID


def generate(config: FakeDataConfig, end: datetime) -> World:
    return _Generator(config, end).run()


def _account_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Generator:
    def __init__(self, config: FakeDataConfig, end: datetime) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.start = to_ms(config.start)
        self.end = max(to_ms(end), self.start + timedelta(hours=1))

    def run(self) -> World:
        world = self._users()
        self.humans = [u.account_id for u in world.users.values() if u.account_type == "atlassian"]
        self._projects_and_boards(world)
        self.board_sprints = {
            key: [s.id for s in world.sprints.values() if world.boards[s.board_id].project_key == key]
            for key in world.projects
        }
        timeline = self._issue_timeline(world)
        pending: list[Comment | Worklog] = []
        for created_ms, project_key in timeline:
            self._issue(world, project_key, from_epoch_ms(created_ms), pending)
        self._assign_entity_ids(world, pending)
        for issue in world.issues.values():
            issue.comments.sort(key=lambda c: (c.created, c.id))
            issue.worklogs.sort(key=lambda w: w.id)
            last = max(
                [issue.updated] + [c.updated for c in issue.comments] + [w.updated for w in issue.worklogs]
            )
            issue.updated = last
        _Histories(self.config, world).run()
        return world

    # -- people -----------------------------------------------------------------------------------
    def _users(self) -> World:
        rng, config = self.rng, self.config
        api_user = User(
            f"712020:{_account_uuid(rng)}",
            "API User",
            "atlassian",
            True,
            config.time_zone,
            email=config.email,
        )
        users = {api_user.account_id: api_user}
        names = [f"{first} {last}" for first in _FIRST for last in _LAST]
        for name in rng.sample(names, min(config.users, len(names))):
            account_id = (
                f"{rng.getrandbits(96):024x}" if rng.random() < 0.5 else f"712020:{_account_uuid(rng)}"
            )
            users[account_id] = User(account_id, name, "atlassian", True, rng.choice(_ZONES))
        app = User(f"557058:{_account_uuid(rng)}", "Automation for Jira", "app", True, "UTC")
        former = User(f"{rng.getrandbits(96):024x}", "Former user", "atlassian", False, "UTC")
        users[app.account_id] = app
        users[former.account_id] = former
        return World(users, api_user.account_id, app.account_id, former.account_id, {}, {}, {}, {}, {})

    def _projects_and_boards(self, world: World) -> None:
        humans = [u.account_id for u in world.users.values() if u.account_type == "atlassian" and u.active]
        for index, key in enumerate(self.config.projects):
            world.projects[key] = Project(
                FIRST_PROJECT_ID + index, key, f"{key.title()} Project", self.rng.choice(humans)
            )
            scrum = Board(world.next_board_id, f"{key} board", "scrum", key)
            kanban = Board(world.next_board_id + 1, f"{key} kanban", "kanban", key)
            world.next_board_id += 2
            world.boards[scrum.id] = scrum
            world.boards[kanban.id] = kanban
            self._sprints(world, scrum)

    def _sprints(self, world: World, board: Board) -> None:
        count = self.config.sprints_per_board
        active_start = self.end - timedelta(days=self.rng.randint(1, 10), minutes=self.rng.randint(0, 600))
        for index in range(count):
            # Sprints before the last two are closed, then one active, then one future one without dates.
            offset = index - (count - 2) if count >= 2 else 0
            start: datetime | None = active_start + offset * SPRINT_LENGTH
            end_date: datetime | None = start + SPRINT_LENGTH if start else None
            complete = None
            if offset < 0:
                state = "closed"
                complete = (end_date or active_start) + timedelta(minutes=self.rng.randint(5, 300))
            elif offset == 0:
                state = "active"
            else:
                state, start, end_date = "future", None, None
            goal = self.rng.choice(["", "Ship the importer", "Stabilise sync", "Polish the dashboard"])
            sprint = Sprint(
                world.next_sprint_id,
                board.id,
                f"{board.project_key} Sprint {index + 1}",
                state,
                start,
                end_date,
                complete,
                goal,
            )
            world.sprints[sprint.id] = sprint
            world.next_sprint_id += 1

    # -- issues -----------------------------------------------------------------------------------
    def _issue_timeline(self, world: World) -> list[tuple[int, str]]:
        start_ms, span = epoch_ms(self.start), epoch_ms(self.end) - epoch_ms(self.start)
        timeline = [
            (start_ms + int(self.rng.random() * span), key)
            for key, count in self.config.projects.items()
            for _ in range(count)
        ]
        timeline.sort()
        return timeline

    def _issue(
        self, world: World, project_key: str, created: datetime, pending: list[Comment | Worklog]
    ) -> None:
        rng, config = self.rng, self.config
        project = world.projects[project_key]
        issue_id = world.next_issue_id
        world.next_issue_id += 1
        key = f"{project_key}-{project.next_number}"
        project.next_number += 1

        siblings = [world.issues[i] for i in project.issue_ids[-60:]]
        epics = [i.id for i in siblings if i.issuetype == "Epic"]
        standard = [i for i in siblings if i.issuetype in ("Story", "Task", "Bug")]
        roll = rng.random()
        parent_id: int | None = None
        sprint_ids: list[int] = []
        if roll < 0.05:
            issuetype = "Epic"
        elif roll < 0.18 and standard:
            issuetype = "Sub-task"
            parent = rng.choice(standard)
            parent_id = parent.id
            sprint_ids = list(parent.sprint_ids)  # Jira mirrors the parent's sprints on sub-tasks
        else:
            issuetype = rng.choice(["Story", "Story", "Task", "Bug"])
            if epics and rng.random() < 0.4:
                parent_id = rng.choice(epics)
        if issuetype in ("Story", "Task", "Bug") and rng.random() < 0.7:
            sprint_ids = self._sprint_run(project_key)

        humans = self.humans
        assignee = rng.choice(humans) if rng.random() < 0.8 else None
        reporter_roll = rng.random()
        if reporter_roll < 0.03:
            reporter = world.app_user_id
        elif reporter_roll < 0.06:
            reporter = world.former_user_id
        else:
            reporter = rng.choice(humans)

        span = self.end - created
        touched = created + span * (rng.random() if rng.random() < 0.7 else rng.random() * 0.01)
        touched = to_ms(touched)
        status = rng.choices(["To Do", "In Progress", "In Review", "Done"], weights=[30, 20, 10, 40])[0]
        resolved = to_ms(created + (touched - created) * rng.random()) if status == "Done" else None

        issue = Issue(
            id=issue_id,
            key=key,
            project_key=project_key,
            summary=f"{rng.choice(_VERBS)} {rng.choice(_NOUNS)} ({key})",
            issuetype=issuetype,
            status=status,
            priority=rng.choice(["Highest", "High", "Medium", "Medium", "Medium", "Low", "Lowest"])
            if rng.random() < 0.95
            else None,
            labels=sorted(rng.sample(_LABELS, rng.choice([0, 0, 1, 1, 2, 3]))),
            story_points=rng.choice(_POINTS) if issuetype != "Epic" and rng.random() < 0.6 else None,
            sprint_ids=sprint_ids,
            assignee=assignee,
            reporter=reporter,
            parent_id=parent_id,
            description=self._description(world, key) if rng.random() < 0.85 else None,
            created=created,
            updated=touched,
            resolved=resolved,
        )
        world.issues[issue_id] = issue
        world.key_index[key] = issue_id
        project.issue_ids.append(issue_id)

        comments = self._count(config.comments_per_issue, config.heavy_comment_ratio, 21, 60)
        for _ in range(comments):
            pending.append(self._comment(world, issue, humans))
        worklogs = self._count(config.worklogs_per_issue, config.heavy_worklog_ratio, 21, 40)
        for _ in range(worklogs):
            pending.append(self._worklog(world, issue, humans))

    def _sprint_run(self, project_key: str) -> list[int]:
        board_sprints = self.board_sprints[project_key]
        if not board_sprints:
            return []
        first = self.rng.randrange(len(board_sprints))
        length = self.rng.choices([1, 2, 3], weights=[70, 20, 10])[0]  # carried-over issues hold several
        return board_sprints[first : first + length]

    def _count(self, mean: float, heavy_ratio: float, heavy_min: int, heavy_max: int) -> int:
        if self.rng.random() < heavy_ratio:
            return self.rng.randint(heavy_min, heavy_max)
        heavy_mean = (heavy_min + heavy_max) / 2
        light_mean = max(0.0, (mean - heavy_ratio * heavy_mean) / max(1e-9, 1 - heavy_ratio))
        # Uniform over 0..floor(2m) (mean ~m) keeps light issues well below the embedded page of 20.
        return int(self.rng.random() * (2 * light_mean + 1))

    def _text(self, sentences: int) -> str:
        return "\n".join(self.rng.choice(_SENTENCES) for _ in range(sentences))

    def _description(self, world: World, key: str) -> dict[str, Any]:
        if self.rng.random() < 0.1:
            return self._rich_doc(world, f"Acceptance criteria for {key}:")
        return document(self._text(self.rng.randint(1, 3)))

    def _rich_doc(self, world: World, intro: str) -> dict[str, Any]:
        mentioned = world.users[self.rng.choice(list(world.users))]
        items = self.rng.sample(_SENTENCES, 2)
        return {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": intro + " ", "marks": [{"type": "strong"}]},
                        {
                            "type": "mention",
                            "attrs": {
                                "id": mentioned.account_id,
                                "text": "@" + mentioned.display_name,
                                "accessLevel": "",
                            },
                        },
                    ],
                },
                {
                    "type": "bulletList",
                    "content": [
                        {
                            "type": "listItem",
                            "content": [{"type": "paragraph", "content": [{"type": "text", "text": item}]}],
                        }
                        for item in items
                    ],
                },
                {
                    "type": "codeBlock",
                    "attrs": {"language": "python"},
                    "content": [{"type": "text", "text": "retry(max_attempts=3)"}],
                },
            ],
        }

    def _author(self, world: World, humans: list[str]) -> str:
        roll = self.rng.random()
        if roll < 0.04:
            return world.app_user_id
        if roll < 0.07:
            return world.former_user_id
        return self.rng.choice(humans)

    def _moment_after(self, moment: datetime) -> datetime:
        return to_ms(moment + (self.end - moment) * self.rng.random())

    def _comment(self, world: World, issue: Issue, humans: list[str]) -> Comment:
        created = self._moment_after(issue.created)
        updated = created if self.rng.random() < 0.85 else self._moment_after(created)
        body = (
            self._rich_doc(world, "Heads-up")
            if self.rng.random() < 0.05
            else document(self._text(self.rng.randint(1, 2)))
        )
        visibility = {"type": "role", "value": "Developers"} if self.rng.random() < 0.05 else None
        author = self._author(world, humans)
        comment = Comment(0, issue.id, author, author, body, created, updated, visibility)
        issue.comments.append(comment)
        return comment

    def _worklog(self, world: World, issue: Issue, humans: list[str]) -> Worklog:
        started = self._moment_after(issue.created)
        seconds = self.rng.randint(1, 32) * 900
        created = min(
            self.end, to_ms(started + timedelta(seconds=seconds, minutes=self.rng.randint(0, 2880)))
        )
        updated = created if self.rng.random() < 0.9 else self._moment_after(created)
        comment = document(self.rng.choice(_SENTENCES)) if self.rng.random() < 0.6 else None
        author = self._author(world, humans)
        worklog = Worklog(0, issue.id, author, author, comment, created, updated, started, seconds)
        issue.worklogs.append(worklog)
        return worklog

    def _assign_entity_ids(self, world: World, pending: list[Comment | Worklog]) -> None:
        # Ids follow creation time across the whole site, as Jira's sequences do.
        pending.sort(key=lambda entity: (entity.created, entity.issue_id))
        for entity in pending:
            entity.id = world.next_entity_id
            world.next_entity_id += 1
            index = world.comment_index if isinstance(entity, Comment) else world.worklog_index
            index[entity.id] = entity.issue_id


class _Histories:
    """Changelogs that lead from each issue's creation to its generated state.

    They draw from their own random stream, so the rest of the generated site is what it was before
    changelogs existed (benchmarks and tests keep their figures).
    """

    def __init__(self, config: FakeDataConfig, world: World) -> None:
        self.rng = random.Random(f"{config.seed}:changelog")
        self.world = world
        self.humans = [
            u.account_id for u in world.users.values() if u.account_type == "atlassian" and u.active
        ]

    def run(self) -> None:
        histories: list[History] = []
        for issue in self.world.issues.values():
            histories.extend(self._issue(issue))
        # Ids follow creation time across the site, as Jira's sequence does.
        histories.sort(key=lambda h: (h.created, h.issue_id))
        for history in histories:
            history.id = self.world.next_history_id
            self.world.next_history_id += 1
            self.world.issues[history.issue_id].changelog.append(history)

    def _issue(self, issue: Issue) -> list[History]:
        rng = self.rng
        last = issue.resolved or issue.updated
        changes: list[tuple[datetime, list[ChangeItem]]] = []
        path = _STATUS_PATHS[issue.status]
        if issue.status == "Done" and rng.random() < 0.5:
            path = ["To Do", "In Progress", "Done"]
        steps = len(path) - 1
        moments = sorted(self._moment(issue.created, last) for _ in range(steps))
        if issue.resolved is not None and moments:
            moments[-1] = issue.resolved  # the resolution date is when the issue entered Done
        for (old, new), at in zip(pairwise(path), moments, strict=True):
            items = [status_item(old, new)]
            if STATUSES[new].category_key == "done":
                items.append(resolution_item(True))
            changes.append((at, items))
        if issue.assignee and rng.random() < 0.5:
            owners: list[str | None] = [None if rng.random() < 0.5 else rng.choice(self.humans)]
            if rng.random() < 0.3:
                owners.append(rng.choice(self.humans))
            owners.append(issue.assignee)
            owners = [o for i, o in enumerate(owners) if i == 0 or o != owners[i - 1]]
            handoffs = pairwise(owners)
            for (before, after), at in zip(handoffs, self._moments(issue, len(owners) - 1), strict=True):
                changes.append((at, [user_item("assignee", self.world.users, before, after)]))
        sprint_ids, sprints = issue.sprint_ids, self.world.sprints
        for count, at in enumerate(self._moments(issue, len(sprint_ids))):
            changes.append((at, [sprint_item(sprints, sprint_ids[:count], sprint_ids[: count + 1])]))
        changes.sort(key=lambda change: change[0])  # stable: a chain's changes keep their order
        return [History(0, issue.id, self._author(), at, items) for at, items in changes]

    def _moments(self, issue: Issue, count: int) -> list[datetime]:
        return sorted(self._moment(issue.created, issue.updated) for _ in range(count))

    def _moment(self, start: datetime, end: datetime) -> datetime:
        return to_ms(start + (end - start) * self.rng.random()) if end > start else start

    def _author(self) -> str:
        return self.rng.choice(self.humans)
