"""GraphQL types, queries and mutations of the sync app (merged in jiraplus/schema.py).

Resolvers only parse arguments, call selectors or services and shape the result. Lists are built by the
root resolvers with everything they return prefetched (see ``selectors.issue_rows``); the field
resolvers below then read prefetched caches and never query.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import graphene
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from core.errors import InvalidInput, ServiceError
from core.interfaces.graphql import CachePolicy
from sync import models, selectors
from sync.permissions import can_operate_sync
from sync.services import controls, runs, sites

# --- Enums --------------------------------------------------------------------------------------------

SyncJobStatus = graphene.Enum("SyncJobStatus", [(s.value, s.value) for s in models.SyncJob.Status])
SyncStatus = graphene.Enum("SyncStatus", [(s.value, s.value) for s in models.SyncState.Status])
SyncRunStatus = graphene.Enum("SyncRunStatus", [(s.value, s.value) for s in models.RunStatus])


def _choice(value: str) -> str:
    """A model choice as the plain string GraphQL enums serialise (a fresh instance holds the choices'
    enum member itself, which graphene would try to match as a member of its own enum)."""
    return str(value)


# --- Jira data ------------------------------------------------------------------------------------------


class User(DjangoObjectType):
    account_id = graphene.String(required=True)
    display_name = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    account_type = graphene.String(required=True)

    class Meta:
        model = models.JiraUser
        fields = ("account_id", "display_name", "active", "account_type")


def _author(user: models.JiraUser | None) -> models.JiraUser:
    # Jira may return an item whose author account was removed; the contract promises a User.
    return user or models.JiraUser(account_id="", display_name="Unknown user", active=False)


class Sprint(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's sprint id.")
    board_id = graphene.ID()

    class Meta:
        model = models.Sprint
        fields = ("name", "state", "start_date", "end_date", "complete_date", "goal")
        convert_choices_to_enum = False

    @staticmethod
    def resolve_id(root: models.Sprint, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_board_id(root: models.Sprint, info: graphene.ResolveInfo) -> str | None:
        return None if root.board_id is None else str(root.board_id)


class Comment(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's comment id.")
    author = graphene.Field(User, required=True)
    body = graphene.String(required=True, description="Plain text of the comment.")
    body_adf = GenericScalar(description="The comment as Jira's document format (JSON).")

    class Meta:
        model = models.Comment
        fields = ("created", "updated")

    @staticmethod
    def resolve_id(root: models.Comment, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_author(root: models.Comment, info: graphene.ResolveInfo) -> models.JiraUser:
        return _author(root.author)

    @staticmethod
    def resolve_body(root: models.Comment, info: graphene.ResolveInfo) -> str:
        return root.body_text

    @staticmethod
    def resolve_body_adf(root: models.Comment, info: graphene.ResolveInfo) -> Any:
        return root.body_adf


class Worklog(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's worklog id.")
    author = graphene.Field(User, required=True)
    time_spent = graphene.Int(required=True, description="Seconds.")
    comment = graphene.String(required=True, description="Plain text of the worklog's comment.")

    class Meta:
        model = models.Worklog
        fields = ("started", "created", "updated")

    @staticmethod
    def resolve_id(root: models.Worklog, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_author(root: models.Worklog, info: graphene.ResolveInfo) -> models.JiraUser:
        return _author(root.author)

    @staticmethod
    def resolve_time_spent(root: models.Worklog, info: graphene.ResolveInfo) -> int:
        return root.time_spent_seconds

    @staticmethod
    def resolve_comment(root: models.Worklog, info: graphene.ResolveInfo) -> str:
        return root.comment_text


class IssueChange(DjangoObjectType):
    """One field change from the issue's Jira changelog: ids in from/to, display text in *String."""

    id = graphene.ID(
        required=True, description="Jira's changelog history id (a history may change several fields)."
    )
    author = graphene.Field(User)
    field = graphene.String(required=True)
    field_type = graphene.String(required=True)
    from_ = graphene.String(name="from")
    to = graphene.String()
    from_string = graphene.String()
    to_string = graphene.String()

    class Meta:
        model = models.IssueChange
        fields = ("created",)

    @staticmethod
    def resolve_id(root: models.IssueChange, info: graphene.ResolveInfo) -> str:
        return str(root.history_id)

    @staticmethod
    def resolve_from_(root: models.IssueChange, info: graphene.ResolveInfo) -> str | None:
        return root.from_value

    @staticmethod
    def resolve_to(root: models.IssueChange, info: graphene.ResolveInfo) -> str | None:
        return root.to_value


class StatusTime(graphene.ObjectType):
    status = graphene.String(required=True)
    seconds = graphene.Float(
        required=True, description="Time spent in the status, up to now for the current one."
    )


class Issue(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's issue id.")
    project_key = graphene.String(required=True)
    labels = graphene.List(graphene.NonNull(graphene.String), required=True)
    story_points = graphene.Float()
    assignee = graphene.Field(User)
    reporter = graphene.Field(User)
    parent = graphene.Field(lambda: Issue)
    sprint = graphene.Field(Sprint, description="The open sprint the issue is in, else its latest.")
    sprints = graphene.List(graphene.NonNull(Sprint), required=True)
    comments = graphene.List(graphene.NonNull(Comment), required=True)
    worklogs = graphene.List(graphene.NonNull(Worklog), required=True)
    history = graphene.List(graphene.NonNull(IssueChange), required=True, description="Oldest first.")
    time_in_status = graphene.List(
        graphene.NonNull(StatusTime), required=True, description="Adds up to the issue's age."
    )

    class Meta:
        model = models.Issue
        fields = (
            "key",
            "summary",
            "status",
            "status_category",
            "priority",
            "issue_type",
            "created",
            "updated",
            "resolved",
            "description_text",
        )

    @staticmethod
    def resolve_id(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_project_key(root: models.Issue, info: graphene.ResolveInfo) -> str:
        return root.key.rsplit("-", 1)[0]

    @staticmethod
    def resolve_parent(root: models.Issue, info: graphene.ResolveInfo) -> models.Issue | None:
        if root.parent_jira_id is None:
            return None
        if not hasattr(root, "parent_issue"):  # a parent's parent: not batched, one query
            selectors.attach_parents([root])
        parent: models.Issue | None = root.parent_issue  # type: ignore[attr-defined]
        return parent

    @staticmethod
    def resolve_sprint(root: models.Issue, info: graphene.ResolveInfo) -> models.Sprint | None:
        return selectors.current_sprint(root)

    @staticmethod
    def resolve_sprints(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Sprint]:
        return selectors.issue_sprints(root)

    @staticmethod
    def resolve_comments(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Comment]:
        return selectors.issue_comments(root)

    @staticmethod
    def resolve_worklogs(root: models.Issue, info: graphene.ResolveInfo) -> list[models.Worklog]:
        return selectors.issue_worklogs(root)

    @staticmethod
    def resolve_history(root: models.Issue, info: graphene.ResolveInfo) -> list[models.IssueChange]:
        return selectors.issue_history(root)

    @staticmethod
    def resolve_time_in_status(root: models.Issue, info: graphene.ResolveInfo) -> list[selectors.StatusTime]:
        return selectors.time_in_status(root)


class SprintScopeChange(graphene.ObjectType):
    issue = graphene.Field(Issue, required=True)
    change = graphene.String(required=True, description="added or removed")
    at = graphene.DateTime(required=True)
    author = graphene.Field(User)
    history_id = graphene.ID(required=True)


class IssueEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Issue, required=True)


class IssueConnection(graphene.ObjectType):
    total_count = graphene.Int(required=True)
    page_info = graphene.Field(graphene.relay.PageInfo, required=True)
    edges = graphene.List(graphene.NonNull(IssueEdge), required=True)

    @staticmethod
    def resolve_total_count(root: IssuePage, info: graphene.ResolveInfo) -> int:
        return root.total_count()


# What the read cache may serve (core/read_cache.py): the types above, whose fields read only the
# Jira-data tables the cache watches (sync/apps.py), and Project without its syncJob; minus what moves
# with the clock.
READ_CACHE_POLICY = CachePolicy(
    types=frozenset(
        {"Issue", "Comment", "Worklog", "Sprint", "User", "IssueChange", "SprintScopeChange"}
        | {"IssueConnection", "IssueEdge", "PageInfo", "Project"}
    ),
    clock_dependent=frozenset({("Issue", "timeInStatus")}),
)


# --- The sync trail -----------------------------------------------------------------------------------


class SyncJob(DjangoObjectType):
    workflow_id = graphene.ID(description="The active run's id, else the last run's.")
    schedule_id = graphene.ID(description="The beat entry (django-celery-beat PeriodicTask) id.")
    cron_schedule = graphene.String(required=True, description="The operator's cron.")
    effective_cron = graphene.String(required=True, description="The cron beat uses (backed off or not).")
    status = graphene.Field(SyncJobStatus, required=True)

    class Meta:
        model = models.SyncJob
        fields = (
            "id",
            "time_zone",
            "paused_note",
            "paused_by",
            "paused_at",
            "last_run_at",
            "next_run_at",
            "last_error_code",
        )

    @staticmethod
    def resolve_workflow_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        run_id: int | None = getattr(root, "workflow_run_id", None)
        return run_id

    @staticmethod
    def resolve_schedule_id(root: models.SyncJob, info: graphene.ResolveInfo) -> int | None:
        return root.periodic_task_id

    @staticmethod
    def resolve_cron_schedule(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.cron

    @staticmethod
    def resolve_effective_cron(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return root.effective_cron or root.cron

    @staticmethod
    def resolve_status(root: models.SyncJob, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class Project(DjangoObjectType):
    id = graphene.ID(required=True, description="Jira's project id.")
    site = graphene.String(required=True, description="The site's name.")
    sync_job = graphene.Field(SyncJob)

    class Meta:
        model = models.Project
        fields = ("key", "name")

    @staticmethod
    def resolve_id(root: models.Project, info: graphene.ResolveInfo) -> str:
        return str(root.jira_id)

    @staticmethod
    def resolve_site(root: models.Project, info: graphene.ResolveInfo) -> str:
        return root.site.name

    @staticmethod
    def resolve_sync_job(root: models.Project, info: graphene.ResolveInfo) -> models.SyncJob | None:
        try:
            return root.sync_job
        except models.SyncJob.DoesNotExist:
            return None


class SyncState(DjangoObjectType):
    status = graphene.Field(SyncStatus, required=True)

    class Meta:
        model = models.SyncState
        fields = ("entity", "last_sync_time", "last_error_code", "updated_at")
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncState, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class SyncRun(DjangoObjectType):
    status = graphene.Field(SyncRunStatus, required=True)
    account_ids = graphene.List(graphene.NonNull(graphene.String), required=True)
    counts = GenericScalar()

    class Meta:
        model = models.SyncRun
        fields = (
            "id",
            "trigger",
            "full",
            "step",
            "nominal_time",
            "window_start",
            "window_end",
            "issues_done",
            "approx_total",
            "request_total",
            "coalesced",
            "attempt",
            "error_code",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        )
        convert_choices_to_enum = False

    @staticmethod
    def resolve_status(root: models.SyncRun, info: graphene.ResolveInfo) -> str:
        return _choice(root.status)


class SyncLog(DjangoObjectType):
    details = GenericScalar()
    run_id = graphene.ID()

    class Meta:
        model = models.SyncLog
        fields = ("level", "message", "created_at")
        convert_choices_to_enum = False


class JiraProjectOption(graphene.ObjectType):
    id = graphene.ID(required=True)
    key = graphene.String(required=True)
    name = graphene.String(required=True)
    registered = graphene.Boolean(required=True)


class JiraUserOption(graphene.ObjectType):
    account_id = graphene.String(required=True)
    display_name = graphene.String(required=True)
    active = graphene.Boolean(required=True)
    tracked = graphene.Boolean(required=True)


# --- Reading a selection (only what is asked for is prefetched) -------------------------------------


def _children(node: Any, info: graphene.ResolveInfo) -> Iterator[FieldNode]:
    if node.selection_set is None:
        return
    for selection in node.selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _children(selection, info)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _children(info.fragments[selection.name.value], info)


def _selected(info: graphene.ResolveInfo, path: Sequence[str]) -> set[str]:
    """Field names requested below ``path`` of the field being resolved."""
    nodes: list[Any] = list(info.field_nodes)
    for name in path:
        nodes = [child for node in nodes for child in _children(node, info) if child.name.value == name]
    return {child.name.value for node in nodes for child in _children(node, info)}


def _includes(info: graphene.ResolveInfo, path: Sequence[str]) -> selectors.IssueIncludes:
    fields = _selected(info, path)
    return selectors.IssueIncludes(
        people=bool({"assignee", "reporter"} & fields),
        sprints=bool({"sprint", "sprints"} & fields),
        comments="comments" in fields,
        worklogs="worklogs" in fields,
        parent="parent" in fields,
        comment_adf="bodyAdf" in _selected(info, [*path, "comments"]),
        history=bool({"history", "timeInStatus"} & fields),
    )


def _parents(info: graphene.ResolveInfo, path: Sequence[str]) -> selectors.IssueIncludes | None:
    """What to load of the parents, or None when ``parent`` is not asked for."""
    return _includes(info, [*path, "parent"]) if _includes(info, path).parent else None


# --- Issue pages --------------------------------------------------------------------------------------

_CURSOR_PREFIX = "issue:"


def encode_cursor(jira_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{jira_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith(_CURSOR_PREFIX):
            return int(text.removeprefix(_CURSOR_PREFIX))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput(
        f"'{cursor}' is not a cursor of this list", field="after", advice="Pass a pageInfo.endCursor back"
    )


class IssuePage:
    """One keyset page: issues after a Jira id in Jira-id order, so concurrent updates never shift it."""

    def __init__(self, issues: Any, *, first: int, after: str | None, info: graphene.ResolveInfo) -> None:
        self._all = issues
        page = issues.filter(jira_id__gt=decode_cursor(after)) if after else issues
        path = ["edges", "node"]
        rows = selectors.issue_rows(
            page, _includes(info, path), limit=first + 1, parents=_parents(info, path)
        )
        self.has_next_page = len(rows) > first
        self.nodes = rows[:first]

    def total_count(self) -> int:
        count: int = self._all.count()
        return count

    @property
    def page_info(self) -> graphene.relay.PageInfo:
        return graphene.relay.PageInfo(
            has_next_page=self.has_next_page,
            has_previous_page=False,
            start_cursor=encode_cursor(self.nodes[0].jira_id) if self.nodes else None,
            end_cursor=encode_cursor(self.nodes[-1].jira_id) if self.nodes else None,
        )

    @property
    def edges(self) -> list[IssueEdge]:
        return [IssueEdge(cursor=encode_cursor(i.jira_id), node=i) for i in self.nodes]


def _project(ref: str, argument: str) -> models.Project:
    """The project named by a key or Jira id; a lookup error names the GraphQL argument."""
    try:
        return sites.project_get(ref)
    except ServiceError as exc:
        exc.field = argument
        raise


def _page_size(first: int) -> int:
    if not 1 <= first <= selectors.MAX_PAGE_SIZE:
        raise InvalidInput(
            f"first must be between 1 and {selectors.MAX_PAGE_SIZE}, got {first}",
            field="first",
            advice="Page through larger lists with after: pageInfo.endCursor",
        )
    return first


def _sprint_id(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput(f"sprintId '{value}' is not a Jira sprint id", field="sprintId")
    return int(value)


class Query(graphene.ObjectType):
    issues = graphene.Field(
        IssueConnection,
        required=True,
        project_key=graphene.String(required=True, description="Project key or Jira id."),
        updated_since=graphene.DateTime(),
        assignee=graphene.String(description="accountId"),
        status=graphene.String(description="Status name"),
        sprint_id=graphene.ID(description="Jira's sprint id"),
        first=graphene.Int(default_value=50, description="1 to 100"),
        after=graphene.String(),
    )
    issue = graphene.Field(Issue, key=graphene.String(required=True))
    sprint_scope_changes = graphene.List(
        graphene.NonNull(SprintScopeChange),
        required=True,
        sprint_id=graphene.ID(required=True, description="Jira's sprint id"),
        description="Issues added to or removed from the sprint after it started, oldest first.",
    )
    projects = graphene.List(graphene.NonNull(Project), required=True)
    sprints = graphene.List(
        graphene.NonNull(Sprint), required=True, project_key=graphene.String(required=True)
    )
    users = graphene.List(graphene.NonNull(User), required=True, project_key=graphene.String(required=True))
    tracked_users = graphene.List(
        graphene.NonNull(User), required=True, project_id=graphene.ID(required=True)
    )
    sync_job = graphene.Field(SyncJob, project_id=graphene.ID(required=True))
    sync_states = graphene.List(
        graphene.NonNull(SyncState), required=True, project_id=graphene.ID(required=True)
    )
    sync_logs = graphene.List(
        graphene.NonNull(SyncLog), required=True, project_id=graphene.ID(required=True), limit=graphene.Int()
    )
    sync_runs = graphene.List(
        graphene.NonNull(SyncRun), required=True, project_id=graphene.ID(required=True), limit=graphene.Int()
    )
    jira_project_options = graphene.List(
        graphene.NonNull(JiraProjectOption),
        required=True,
        site_id=graphene.ID(required=True, description="Site id or name."),
    )
    jira_project_user_options = graphene.List(
        graphene.NonNull(JiraUserOption), required=True, project_id=graphene.ID(required=True)
    )

    @staticmethod
    def resolve_issues(
        root: None,
        info: graphene.ResolveInfo,
        *,
        project_key: str,
        first: int = 50,
        after: str | None = None,
        updated_since: Any = None,
        assignee: str | None = None,
        status: str | None = None,
        sprint_id: str | None = None,
    ) -> IssuePage:
        filters = selectors.IssueFilters(
            updated_since=updated_since,
            assignee=assignee or "",
            status=status or "",
            sprint_id=_sprint_id(sprint_id),
        )
        project = _project(project_key, "projectKey")
        return IssuePage(
            selectors.issue_queryset(project, filters), first=_page_size(first), after=after, info=info
        )

    @staticmethod
    def resolve_issue(root: None, info: graphene.ResolveInfo, key: str) -> models.Issue:
        return selectors.issue_by_key(key, _includes(info, []), parents=_parents(info, []))

    @staticmethod
    def resolve_sprint_scope_changes(
        root: None, info: graphene.ResolveInfo, sprint_id: str
    ) -> list[selectors.SprintScopeChange]:
        jira_id = _sprint_id(sprint_id)
        assert jira_id is not None  # a required argument
        sprint = selectors.sprint_by_jira_id(jira_id)
        return selectors.sprint_scope_changes(
            sprint, _includes(info, ["issue"]), parents=_parents(info, ["issue"])
        )

    @staticmethod
    def resolve_projects(root: None, info: graphene.ResolveInfo) -> Any:
        return selectors.projects_list()

    @staticmethod
    def resolve_sprints(root: None, info: graphene.ResolveInfo, project_key: str) -> Any:
        return selectors.project_sprints(_project(project_key, "projectKey"))

    @staticmethod
    def resolve_users(root: None, info: graphene.ResolveInfo, project_key: str) -> Any:
        return selectors.project_users(_project(project_key, "projectKey"))

    @staticmethod
    def resolve_tracked_users(root: None, info: graphene.ResolveInfo, project_id: str) -> Any:
        return selectors.tracked_users(_project(project_id, "projectId"))

    @staticmethod
    def resolve_sync_job(root: None, info: graphene.ResolveInfo, project_id: str) -> models.SyncJob:
        return selectors.sync_job_of(_project(project_id, "projectId"))

    @staticmethod
    def resolve_sync_states(root: None, info: graphene.ResolveInfo, project_id: str) -> Any:
        return selectors.sync_states(_project(project_id, "projectId"))

    @staticmethod
    def resolve_sync_logs(
        root: None, info: graphene.ResolveInfo, project_id: str, limit: int | None = None
    ) -> Any:
        return selectors.sync_logs(_project(project_id, "projectId"), limit)

    @staticmethod
    def resolve_sync_runs(
        root: None, info: graphene.ResolveInfo, project_id: str, limit: int | None = None
    ) -> Any:
        return selectors.sync_runs(_project(project_id, "projectId"), limit)

    @staticmethod
    def resolve_jira_project_options(
        root: None, info: graphene.ResolveInfo, site_id: str
    ) -> list[selectors.JiraProjectOption]:
        return selectors.jira_project_options(selectors.site_by_ref(site_id))

    @staticmethod
    def resolve_jira_project_user_options(
        root: None, info: graphene.ResolveInfo, project_id: str
    ) -> list[selectors.JiraUserOption]:
        return selectors.jira_project_user_options(_project(project_id, "projectId"))


# --- Mutations: sync controls (contract A), errors as data ---------------------------------------------


class SyncError(graphene.ObjectType):
    field = graphene.String(description="The argument at fault (camelCase), if one is.")
    message = graphene.String(required=True)
    code = graphene.String(required=True)
    advice = graphene.String()


class SyncControlPayload(graphene.ObjectType):
    sync_job = graphene.Field(SyncJob)
    run = graphene.Field(SyncRun, description="The run this control started or joined, if any.")
    run_created = graphene.Boolean(description="False when the request joined the project's active run.")
    removed = graphene.Int(description="Accounts no longer tracked (removeTrackedUsers).")
    errors = graphene.List(graphene.NonNull(SyncError), required=True)


_ARGUMENT_NAMES = {"project": "projectId", "account_ids": "accountIds"}

# What a control returns, reduced to the payload's parts: a job, a run request, or a count.
ControlResult = models.SyncJob | runs.SyncRequest | int | None


def _error(exc: ServiceError) -> SyncError:
    field = _ARGUMENT_NAMES.get(exc.field, exc.field) if exc.field else None
    return SyncError(code=str(exc.code), message=exc.message, field=field, advice=exc.advice or None)


def control(
    info: graphene.ResolveInfo, project_id: str, act: Callable[[models.Project, str], ControlResult]
) -> SyncControlPayload:
    """Check the permission, find the project, run one control, and render its result or typed error."""
    user = info.context.user
    if not can_operate_sync(user):
        denied = SyncError(
            code="PERMISSION_DENIED",
            message="Operating syncs needs staff or the sync.operate_sync permission (Sync operators group)",
            field=None,
        )
        return SyncControlPayload(errors=[denied])
    try:
        project = _project(project_id, "projectId")
        result = act(project, user.get_username())
    except ServiceError as exc:
        return SyncControlPayload(errors=[_error(exc)])
    payload = SyncControlPayload(sync_job=selectors.sync_job_of(project), errors=[])
    if isinstance(result, runs.SyncRequest):
        payload.run, payload.run_created = result.run, result.created
    elif isinstance(result, int):
        payload.removed = result
    return payload


class ControlMutation(graphene.Mutation):
    """A mutation calling one function of ``sync.services.controls``; its arguments (besides projectId)
    are that function's keyword arguments."""

    class Meta:
        abstract = True

    Output = SyncControlPayload
    service: ClassVar[Callable[..., ControlResult]]
    fixed: ClassVar[dict[str, Any]] = {}

    @classmethod
    def mutate(
        cls, root: None, info: graphene.ResolveInfo, project_id: str, **arguments: Any
    ) -> SyncControlPayload:
        return control(
            info, project_id, lambda p, actor: cls.service(project=p, actor=actor, **cls.fixed, **arguments)
        )


_API = {"trigger": models.SyncRun.Trigger.API}


def _account_ids() -> graphene.List:
    return graphene.List(graphene.NonNull(graphene.String), required=True)


class StartProjectSync(ControlMutation):
    """Resume the schedule and sync now (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        full = graphene.Boolean(default_value=False)

    service = staticmethod(controls.sync_start)
    fixed = _API


class PauseProjectSync(ControlMutation):
    """Stop scheduled runs; manual triggers still work."""

    class Arguments:
        project_id = graphene.ID(required=True)
        note = graphene.String(default_value="")

    service = staticmethod(controls.sync_pause)


class ResumeProjectSync(ControlMutation):
    """Scheduled runs again from the next slot (no run now)."""

    class Arguments:
        project_id = graphene.ID(required=True)

    service = staticmethod(controls.sync_resume)


class RescheduleProjectSync(ControlMutation):
    """Set the operator's cron (5 fields, in the job's time zone)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        cron = graphene.String(required=True)

    service = staticmethod(controls.sync_reschedule)


class TriggerProjectSync(ControlMutation):
    """One run now, paused or not, optionally limited to some accounts (joins an active run)."""

    class Arguments:
        project_id = graphene.ID(required=True)
        full = graphene.Boolean(default_value=False)
        account_ids = graphene.List(graphene.NonNull(graphene.String), default_value=[])

    service = staticmethod(controls.sync_trigger)
    fixed = _API


class AddTrackedUsers(ControlMutation):
    """Track more accounts; their history is backfilled by a run limited to them."""

    class Arguments:
        project_id = graphene.ID(required=True)
        account_ids = _account_ids()

    service = staticmethod(controls.tracked_users_add)


class RemoveTrackedUsers(ControlMutation):
    """Stop tracking accounts; ``purge`` also deletes their stored issues that no tracked account keeps."""

    class Arguments:
        project_id = graphene.ID(required=True)
        account_ids = _account_ids()
        purge = graphene.Boolean(default_value=False)

    service = staticmethod(controls.tracked_users_remove)


class Mutation(graphene.ObjectType):
    start_project_sync = StartProjectSync.Field()
    pause_project_sync = PauseProjectSync.Field()
    resume_project_sync = ResumeProjectSync.Field()
    reschedule_project_sync = RescheduleProjectSync.Field()
    trigger_project_sync = TriggerProjectSync.Field()
    add_tracked_users = AddTrackedUsers.Field()
    remove_tracked_users = RemoveTrackedUsers.Field()
