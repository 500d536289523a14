"""Issues as the APIs read them: filtered querysets, what a page prefetches, and the prefetched lists.

Every list the APIs serve is built with what it returns prefetched, so a page costs a constant number of
SQL queries whatever its size (pinned by the query-count tests of tests/sync/integration/api).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.errors import NotFound
from core.tenancy import visible
from sync.models import Comment, Issue, IssueChange, JiraUser, Project, Sprint, Worklog
from sync.selectors.projects import key_ambiguous, site_by_ref

MAX_PAGE_SIZE = 100
CHANGE_ORDER = ("created", "history_id", "item_index")


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


def project_live_issues(*, project: Project) -> QuerySet[Issue]:
    return Issue.live.filter(project=project)


def issue_queryset(*, project: Project, filters: IssueFilters) -> QuerySet[Issue]:
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


def issues_with_details(
    *, issues: QuerySet[Issue], includes: IssueIncludes = IssueIncludes()
) -> QuerySet[Issue]:
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


def issue_sprints(*, issue: Issue) -> list[Sprint]:
    found: list[Sprint] | None = getattr(issue, "prefetched_sprints", None)
    return found if found is not None else list(issue.sprints.order_by("start_date", "jira_id"))


def issue_comments(*, issue: Issue) -> list[Comment]:
    found: list[Comment] | None = getattr(issue, "prefetched_comments", None)
    if found is None:
        found = list(issue.comments.select_related("author").order_by("created", "jira_id"))
    return found


def issue_worklogs(*, issue: Issue) -> list[Worklog]:
    found: list[Worklog] | None = getattr(issue, "prefetched_worklogs", None)
    if found is None:
        found = list(issue.worklogs.select_related("author").order_by("started", "jira_id"))
    return found


def issue_rows(
    *,
    issues: QuerySet[Issue],
    includes: IssueIncludes = IssueIncludes(),
    limit: int | None = None,
    parents: IssueIncludes | None = None,
) -> list[Issue]:
    """Evaluate issues with what was asked loaded: relations (``issues_with_details``), parents when
    ``parents`` says what to load of them, and the comments' and worklogs' authors."""
    query = issues_with_details(issues=issues, includes=includes)
    rows = list(query[:limit] if limit is not None else query)
    loaded = rows + (issue_parents_attach(issues=rows, includes=parents) if parents is not None else [])
    issue_authors_attach(issues=loaded)
    return rows


def issue_parents_attach(
    *, issues: Sequence[Issue], includes: IssueIncludes = IssueIncludes()
) -> list[Issue]:
    """Set ``parent_issue`` on each issue with one query for the whole page (None when not stored);
    returns the parents."""
    wanted = {i.parent_jira_id for i in issues if i.parent_jira_id is not None}
    parents: dict[tuple[int, int], Issue] = {}
    if wanted:
        site_ids = {i.site_id for i in issues}
        found = issues_with_details(
            issues=Issue.live.filter(site_id__in=site_ids, jira_id__in=wanted),
            includes=replace(includes, parent=False),
        )
        parents = {(p.site_id, p.jira_id): p for p in found}
    for issue in issues:
        key = (issue.site_id, issue.parent_jira_id or 0)
        issue.parent_issue = parents.get(key)  # type: ignore[attr-defined]
    return list(parents.values())


def issue_authors_attach(*, issues: Sequence[Issue]) -> None:
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


def issue_current_sprint(*, issue: Issue) -> Sprint | None:
    """The open sprint an issue is in, else its latest one (by start date), from the prefetched list."""
    sprints = issue_sprints(issue=issue)
    active = [s for s in sprints if s.state == "active"]
    candidates = active or sprints
    return max(
        candidates, key=lambda s: (s.start_date or datetime.min.replace(tzinfo=UTC), s.jira_id), default=None
    )


def issue_by_key(
    *,
    key: str,
    site: str | None = None,
    includes: IssueIncludes = IssueIncludes(),
    parents: IssueIncludes | None = None,
    site_field: str = "siteId",
) -> Issue:
    """A synced issue by key, on ``site`` (id or name) when given; a key several sites hold needs one."""
    matching = visible(Issue.live.filter(key=key.strip().upper()))
    if site:
        matching = matching.filter(site=site_by_ref(ref=site, field=site_field))
    issues = issue_rows(issues=matching, includes=includes, limit=2, parents=parents)
    if not issues:
        where = f" on site '{site}'" if site else ""
        raise NotFound(f"No synced issue '{key}'{where}", field="key")
    if len(issues) > 1:
        site_ids = matching.values_list("site_id", flat=True)
        raise key_ambiguous(what="Issue", key=key, site_ids=site_ids, field="key")
    return issues[0]


def issue_changes() -> QuerySet[IssueChange]:
    """Change items oldest first, with their authors: prefetch it as ``Prefetch("changes", ...)``."""
    return IssueChange.objects.select_related("author").order_by(*CHANGE_ORDER)


def issue_history(*, issue: Issue) -> list[IssueChange]:
    """The issue's change items oldest first: prefetched by ``issues_with_details(history=True)``."""
    found: list[IssueChange] | None = getattr(issue, "prefetched_changes", None)
    return found if found is not None else list(issue_changes().filter(issue=issue))
