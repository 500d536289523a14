"""Read queries shared by the interfaces (admin, GraphQL, REST, commands)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import InvalidInput, NotFound
from sync.models import (
    ACTIVE_RUN_STATUSES,
    Comment,
    Issue,
    IssueChange,
    IssueSprint,
    JiraSite,
    JiraUser,
    Project,
    Sprint,
    SyncJob,
    SyncLog,
    SyncRun,
    SyncState,
    Worklog,
)
from sync.services import sites


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, the export format: ``2024-01-31T09:15:30.123Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def live_issues(project: Project) -> QuerySet[Issue]:
    return Issue.live.filter(project=project)


def export_issues(project: Project, *, chunk_size: int = 500) -> Iterator[dict[str, Any]]:
    """Every live issue of the project with its comments and worklogs, sorted by Jira id; streamed."""
    issues = (
        live_issues(project)
        .select_related("assignee", "reporter")
        .prefetch_related(
            Prefetch("comments", queryset=Comment.objects.select_related("author").order_by("jira_id")),
            Prefetch("worklogs", queryset=Worklog.objects.select_related("author").order_by("jira_id")),
            Prefetch("issuesprint_set", queryset=IssueSprint.objects.select_related("sprint")),
        )
        .order_by("jira_id")
    )
    for issue in issues.iterator(chunk_size=chunk_size):
        yield {
            "id": str(issue.jira_id),
            "key": issue.key,
            "summary": issue.summary,
            "status": issue.status,
            "priority": issue.priority or None,
            "issuetype": issue.issue_type,
            "assignee": issue.assignee.account_id if issue.assignee else None,
            "reporter": issue.reporter.account_id if issue.reporter else None,
            "parent_id": str(issue.parent_jira_id) if issue.parent_jira_id else None,
            "labels": sorted(issue.labels),
            "sprint_ids": sorted(link.sprint.jira_id for link in issue.issuesprint_set.all()),
            "created": iso_utc(issue.created),
            "updated": iso_utc(issue.updated),
            "resolved": iso_utc(issue.resolved),
            "comments": [
                {
                    "id": str(c.jira_id),
                    "author": c.author.account_id if c.author else None,
                    "created": iso_utc(c.created),
                    "updated": iso_utc(c.updated),
                    "body_text": c.body_text,
                }
                for c in issue.comments.all()
            ],
            "worklogs": [
                {
                    "id": str(w.jira_id),
                    "author": w.author.account_id if w.author else None,
                    "started": iso_utc(w.started),
                    "time_spent_seconds": w.time_spent_seconds,
                    "updated": iso_utc(w.updated),
                }
                for w in issue.worklogs.all()
            ],
        }


def export_sprints(project: Project) -> Iterator[dict[str, Any]]:
    sprints = Sprint.objects.filter(project=project).order_by("jira_id")
    for s in sprints:
        yield {
            "id": s.jira_id,
            "board_id": s.board_id,
            "name": s.name,
            "state": s.state,
            "start_date": iso_utc(s.start_date),
            "end_date": iso_utc(s.end_date),
            "complete_date": iso_utc(s.complete_date),
            "goal": s.goal,
        }


def export_users(project: Project) -> Iterator[dict[str, Any]]:
    for u in JiraUser.objects.filter(site=project.site).order_by("account_id"):
        yield {
            "accountId": u.account_id,
            "displayName": u.display_name,
            "accountType": u.account_type,
            "active": u.active,
        }


def recent_runs(project: Project, limit: int = 20) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(project=project).order_by("-created_at")[:limit]


def run_summary(run: SyncRun) -> dict[str, Any]:
    """What a person (or a script, as JSON) wants to know about a finished or running sync."""
    counts = run.counts or {}
    return {
        "run_id": run.id,
        "project": run.project.key,
        "status": run.status,
        "full": run.full,
        "issues": counts.get("issues_upserted", 0),
        "issues_deleted": counts.get("issues_deleted", 0),
        "comments": counts.get("comments_upserted", 0),
        "comments_deleted": counts.get("comments_deleted", 0),
        "worklogs": counts.get("worklogs_upserted", 0),
        "worklogs_deleted": counts.get("worklogs_deleted", 0),
        "history_items": counts.get("changes_upserted", 0),
        "sprints": counts.get("sprints_upserted", 0),
        "users": counts.get("users_upserted", 0),
        "issues_skipped": counts.get("issues_malformed", 0),
        "http_requests": run.request_total,
        "http_requests_by_endpoint": run.http_requests,
        "duration_s": round((run.duration_ms or 0) / 1000, 3),
        "error_code": run.error_code or None,
        "error": run.error_message or None,
    }


# --- API reads (GraphQL and REST) --------------------------------------------------------------------
# Every list the APIs serve is built here with what it returns prefetched, so a page costs a constant
# number of SQL queries whatever its size (pinned by tests/sync/integration/api query-count tests).

MAX_PAGE_SIZE = 100
MAX_TRAIL_LIMIT = 100


@dataclass(frozen=True)
class IssueFilters:
    updated_since: datetime | None = None
    assignee: str = ""  # accountId
    status: str = ""  # status name, case-insensitive
    sprint_id: int | None = None  # Jira's sprint id


@dataclass(frozen=True)
class IssueIncludes:
    """Relations a caller asked for; only these are prefetched."""

    people: bool = True  # assignee and reporter
    sprints: bool = True
    comments: bool = True
    worklogs: bool = True
    parent: bool = True
    comment_adf: bool = True  # comment bodies as Jira's document (JSON), besides their plain text
    history: bool = False  # changelog items (history, time in status)


def projects_list() -> QuerySet[Project]:
    return (
        Project.objects.select_related("site")
        .prefetch_related(Prefetch("sync_job", queryset=sync_jobs()))
        .order_by("key")
    )


def sync_jobs() -> QuerySet[SyncJob]:
    """Jobs annotated with their active run, or else their latest one (``workflow_run_id``)."""
    runs = SyncRun.objects.filter(project_id=OuterRef("project_id"))
    active = runs.filter(status__in=ACTIVE_RUN_STATUSES).order_by("-created_at").values("id")[:1]
    latest = runs.order_by("-created_at").values("id")[:1]
    return (
        SyncJob.objects.select_related("project")
        .annotate(workflow_run_id=Coalesce(Subquery(active), Subquery(latest)))
        .order_by("project__key")
    )


def sync_job_of(project: Project) -> SyncJob:
    return sync_jobs().get(project=project)


def issue_queryset(project: Project, filters: IssueFilters) -> QuerySet[Issue]:
    """Live issues of a project, filtered; ordered by Jira's immutable id so cursors stay stable.

    Filtering on the site as well lets PostgreSQL walk the (site, jira_id) unique index in order.
    """
    issues = Issue.live.filter(site_id=project.site_id, project=project)
    if filters.updated_since is not None:
        issues = issues.filter(updated__gte=filters.updated_since)
    if filters.assignee:
        issues = issues.filter(assignee__account_id=filters.assignee)
    if filters.status:
        issues = issues.filter(status__iexact=filters.status)
    if filters.sprint_id is not None:
        issues = issues.filter(issuesprint__sprint__jira_id=filters.sprint_id)
    return issues.order_by("jira_id")


def with_issue_details(issues: QuerySet[Issue], includes: IssueIncludes = IssueIncludes()) -> QuerySet[Issue]:
    """One query per requested relation: people joined, sprints/comments/worklogs prefetched into plain
    lists (``issue_sprints``/``issue_comments``/``issue_worklogs`` read them without building querysets;
    ``issue_rows`` adds the authors).

    Columns no API returns (Jira's raw fields, ADF documents other than comment bodies) are never loaded:
    decoding them was most of a page's database time.
    """
    issues = issues.defer("raw", "description_adf")
    if includes.people:
        issues = issues.select_related("assignee", "reporter")
    lookups: list[Prefetch[Any]] = []
    if includes.sprints:
        lookups.append(Prefetch("sprints", queryset=_SPRINT_ORDER, to_attr="prefetched_sprints"))
    if includes.comments:
        comments = Comment.objects.defer("visibility").order_by("created", "jira_id")
        if not includes.comment_adf:
            comments = comments.defer("body_adf")
        lookups.append(Prefetch("comments", queryset=comments, to_attr="prefetched_comments"))
    if includes.worklogs:
        worklogs = Worklog.objects.defer("comment_adf", "visibility")
        lookups.append(
            Prefetch(
                "worklogs", queryset=worklogs.order_by("started", "jira_id"), to_attr="prefetched_worklogs"
            )
        )
    if includes.history:
        lookups.append(Prefetch("changes", queryset=issue_changes(), to_attr="prefetched_changes"))
    return issues.prefetch_related(*lookups) if lookups else issues


_SPRINT_ORDER = Sprint.objects.order_by("start_date", "jira_id")


def issue_sprints(issue: Issue) -> list[Sprint]:
    found: list[Sprint] | None = getattr(issue, "prefetched_sprints", None)
    return found if found is not None else list(issue.sprints.order_by("start_date", "jira_id"))


def issue_comments(issue: Issue) -> list[Comment]:
    found: list[Comment] | None = getattr(issue, "prefetched_comments", None)
    if found is None:
        found = list(issue.comments.select_related("author").order_by("created", "jira_id"))
    return found


def issue_worklogs(issue: Issue) -> list[Worklog]:
    found: list[Worklog] | None = getattr(issue, "prefetched_worklogs", None)
    if found is None:
        found = list(issue.worklogs.select_related("author").order_by("started", "jira_id"))
    return found


def issue_rows(
    issues: QuerySet[Issue],
    includes: IssueIncludes = IssueIncludes(),
    *,
    limit: int | None = None,
    parents: IssueIncludes | None = None,
) -> list[Issue]:
    """Evaluate issues with what was asked loaded: relations (``with_issue_details``), parents when
    ``parents`` says what to load of them, and the comments' and worklogs' authors."""
    query = with_issue_details(issues, includes)
    rows = list(query[:limit] if limit is not None else query)
    loaded = rows + (attach_parents(rows, parents) if parents is not None else [])
    attach_authors(loaded)
    return rows


def attach_parents(issues: Sequence[Issue], includes: IssueIncludes = IssueIncludes()) -> list[Issue]:
    """Set ``parent_issue`` on each issue with one query for the whole page (None when not stored);
    returns the parents."""
    wanted = {i.parent_jira_id for i in issues if i.parent_jira_id is not None}
    parents: dict[tuple[int, int], Issue] = {}
    if wanted:
        site_ids = {i.site_id for i in issues}
        found = with_issue_details(
            Issue.live.filter(site_id__in=site_ids, jira_id__in=wanted),
            replace(includes, parent=False),
        )
        parents = {(p.site_id, p.jira_id): p for p in found}
    for issue in issues:
        key = (issue.site_id, issue.parent_jira_id or 0)
        issue.parent_issue = parents.get(key)  # type: ignore[attr-defined]
    return list(parents.values())


def attach_authors(issues: Sequence[Issue]) -> None:
    """The authors of the prefetched comments and worklogs, from one query.

    A site has few people and a page many comments: one shared instance per person, instead of one
    joined instance per row, saves most of the model building of a page.
    """
    items: list[Comment | Worklog] = []
    for issue in issues:
        items += getattr(issue, "prefetched_comments", [])
        items += getattr(issue, "prefetched_worklogs", [])
    ids = {item.author_id for item in items if item.author_id is not None}
    people = JiraUser.objects.in_bulk(ids) if ids else {}
    for item in items:
        type(item).author.field.set_cached_value(item, people.get(item.author_id))


def current_sprint(issue: Issue) -> Sprint | None:
    """The open sprint an issue is in, else its latest one (by start date), from the prefetched list."""
    sprints = issue_sprints(issue)
    active = [s for s in sprints if s.state == "active"]
    candidates = active or sprints
    return max(
        candidates, key=lambda s: (s.start_date or datetime.min.replace(tzinfo=UTC), s.jira_id), default=None
    )


def issue_by_key(
    key: str, includes: IssueIncludes = IssueIncludes(), parents: IssueIncludes | None = None
) -> Issue:
    issues = issue_rows(Issue.live.filter(key=key.strip().upper()), includes, limit=2, parents=parents)
    if not issues:
        raise NotFound(f"No synced issue '{key}'", field="key")
    if len(issues) > 1:
        raise InvalidInput(f"'{key}' exists on several sites", field="key")
    return issues[0]


def project_sprints(project: Project) -> QuerySet[Sprint]:
    return Sprint.objects.filter(project=project).order_by("start_date", "jira_id")


def project_users(project: Project) -> QuerySet[JiraUser]:
    """The site's people as synced (a project's issues may name anyone on its site)."""
    return JiraUser.objects.filter(site_id=project.site_id).order_by("display_name", "account_id")


def tracked_users(project: Project) -> QuerySet[JiraUser]:
    return JiraUser.objects.filter(tracked_in__project=project, tracked_in__is_tracked=True).order_by(
        "display_name", "account_id"
    )


def sync_states(project: Project) -> QuerySet[SyncState]:
    return SyncState.objects.filter(project=project).order_by("entity")


def _trail_limit(limit: int | None) -> int:
    return max(1, min(limit or 20, MAX_TRAIL_LIMIT))


def sync_runs(project: Project, limit: int | None = None) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(project=project).order_by("-created_at", "-id")[: _trail_limit(limit)]


def sync_logs(project: Project, limit: int | None = None) -> QuerySet[SyncLog]:
    return SyncLog.objects.filter(project=project).order_by("-created_at", "-id")[: _trail_limit(limit)]


# --- Live from Jira (for pickers in the admin console) ---------------------------------------------


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


def site_by_ref(ref: str) -> JiraSite:
    """A site by its database id or its name."""
    lookup = {"id": int(ref)} if ref.isdigit() else {"name": ref}
    try:
        return JiraSite.objects.get(**lookup)
    except JiraSite.DoesNotExist:
        raise NotFound(f"No site '{ref}'", field="siteId") from None


def jira_project_options(site: JiraSite) -> list[JiraProjectOption]:
    """Every project the site's API user can see in Jira now, flagged when already registered."""
    registered = set(Project.objects.filter(site=site).values_list("jira_id", flat=True))
    with sites.client_for(site) as client:
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


def jira_project_user_options(project: Project) -> list[JiraUserOption]:
    """People Jira lets work on the project now, flagged when the project tracks them."""
    tracked = set(tracked_users(project).values_list("account_id", flat=True))
    return [
        JiraUserOption(
            account_id=a.account_id,
            display_name=a.display_name,
            active=a.active,
            tracked=a.account_id in tracked,
        )
        for a in sites.project_assignable_users(project=project)
    ]


# --- History (Jira changelogs) ---------------------------------------------------------------------

CHANGE_ORDER = ("created", "history_id", "item_index")


def issue_changes() -> QuerySet[IssueChange]:
    """Change items oldest first, with their authors: prefetch it as ``Prefetch("changes", ...)``."""
    return IssueChange.objects.select_related("author").order_by(*CHANGE_ORDER)


def issue_history(issue: Issue) -> list[IssueChange]:
    """The issue's change items oldest first: prefetched by ``with_issue_details(history=True)``."""
    found: list[IssueChange] | None = getattr(issue, "prefetched_changes", None)
    return found if found is not None else list(issue_changes().filter(issue=issue))


def export_history(project: Project, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Every change item of the project's live issues, sorted by issue id, history id and item; streamed."""
    rows = (
        IssueChange.objects.filter(issue__project=project, issue__deleted_at__isnull=True)
        .order_by("issue__jira_id", "history_id", "item_index")
        .values_list(
            "issue__jira_id",
            "history_id",
            "created",
            "author__account_id",
            "field",
            "from_value",
            "to_value",
            "from_string",
            "to_string",
        )
    )
    for issue_id, history_id, created, author, field, from_, to, from_string, to_string in rows.iterator(
        chunk_size=chunk_size
    ):
        yield {
            "issue_id": str(issue_id),
            "history_id": str(history_id),
            "created": iso_utc(created),
            "author": author,
            "field": field,
            "from": from_,
            "to": to,
            "from_string": from_string,
            "to_string": to_string,
        }


@dataclass(frozen=True)
class StatusTime:
    status: str
    seconds: float


def time_in_status(
    issue: Issue, changes: Iterable[IssueChange] | None = None, *, as_of: datetime | None = None
) -> list[StatusTime]:
    """Seconds the issue spent in each status from its creation until ``as_of`` (now), in the order the
    statuses were first entered; they add up to the issue's age.

    Reads the changes prefetched by ``with_issue_details(history=True)`` when there are.
    """
    items = issue_history(issue) if changes is None else changes
    moves = sorted(
        (c for c in items if c.field == "status"), key=lambda c: (c.created, c.history_id, c.item_index)
    )
    end = as_of or timezone.now()
    current = (moves[0].from_string if moves else None) or issue.status
    since = issue.created
    spent: dict[str, timedelta] = {}
    for move in moves:
        at = min(max(move.created, since), end)  # clock skew must not make time negative
        spent[current] = spent.get(current, timedelta(0)) + (at - since)
        current, since = move.to_string or "", at
    spent[current] = spent.get(current, timedelta(0)) + max(end - since, timedelta(0))
    return [StatusTime(status, delta.total_seconds()) for status, delta in spent.items()]


def _sprint_ids(value: str | None) -> set[int]:
    return {int(part) for part in (value or "").split(",") if part.strip().isdigit()}


@dataclass(frozen=True)
class SprintScopeChange:
    issue: Issue
    change: Literal["added", "removed"]
    at: datetime
    author: JiraUser | None
    history_id: int


def sprint_by_jira_id(sprint_id: int) -> Sprint:
    sprints = list(Sprint.objects.filter(jira_id=sprint_id)[:2])
    if not sprints:
        raise NotFound(f"No synced sprint {sprint_id}", field="sprintId")
    if len(sprints) > 1:
        raise InvalidInput(f"Sprint {sprint_id} exists on several sites", field="sprintId")
    return sprints[0]


def sprint_scope_changes(
    sprint: Sprint, includes: IssueIncludes | None = None, parents: IssueIncludes | None = None
) -> list[SprintScopeChange]:
    """Issues added to or removed from the sprint after it started (until it completed), oldest first.

    With ``includes`` (and ``parents``), the issues come as ``issue_rows`` loads them (no N+1).
    """
    if sprint.start_date is None:
        return []
    sprint_field = JiraSite.objects.filter(id=sprint.site_id).values_list("sprint_field", flat=True).first()
    window = Q(created__gt=sprint.start_date)
    if sprint.complete_date is not None:
        window &= Q(created__lte=sprint.complete_date)
    number = str(sprint.jira_id)
    candidates = (
        IssueChange.objects.filter(window, site_id=sprint.site_id, issue__deleted_at__isnull=True)
        .filter(Q(field="Sprint") | Q(field_id=sprint_field or "-"))
        .filter(Q(from_value__contains=number) | Q(to_value__contains=number))  # narrowed, then parsed
        .select_related("issue", "author")
        .order_by(*CHANGE_ORDER)
    )
    changes = []
    for item in candidates:
        before, after = _sprint_ids(item.from_value), _sprint_ids(item.to_value)
        if (sprint.jira_id in after) == (sprint.jira_id in before):
            continue
        kind: Literal["added", "removed"] = "added" if sprint.jira_id in after else "removed"
        changes.append(SprintScopeChange(item.issue, kind, item.created, item.author, item.history_id))
    if includes is None or not changes:
        return changes
    detailed = issue_rows(
        Issue.objects.filter(id__in={c.issue.id for c in changes}), includes, parents=parents
    )
    by_id = {issue.id: issue for issue in detailed}
    return [replace(c, issue=by_id[c.issue.id]) for c in changes]


def assignee_handoffs(project: Project) -> QuerySet[IssueChange]:
    """Changes of assignee away from someone (to another person or to nobody), oldest first."""
    return (
        IssueChange.objects.filter(
            issue__project=project, issue__deleted_at__isnull=True, field="assignee", from_value__isnull=False
        )
        .select_related("issue", "author")
        .order_by(*CHANGE_ORDER)
    )


# --- Webhooks ---------------------------------------------------------------------------------------


def webhook_status(sites: QuerySet[JiraSite]) -> QuerySet[JiraSite]:
    """Sites annotated with ``webhook_last_event`` and ``webhook_events_today`` (UTC day)."""
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return sites.annotate(
        webhook_last_event=Max("webhook_events__received_at"),
        webhook_events_today=Count("webhook_events", filter=Q(webhook_events__received_at__gte=today)),
    )
