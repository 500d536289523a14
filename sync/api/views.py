"""REST resources of the sync app: thin views over selectors (reads) and the sync controls (actions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import Serializer

from core.interfaces.rest import control_response, parse_input
from core.read_cache import cached_read
from core.tenancy import visible
from sync import models, selectors
from sync.api import serializers as s
from sync.api.permissions import CanOperateSync, may_administer
from sync.permissions import ADD_PROJECT, ADD_SITE, DELETE_PROJECT
from sync.services import controls, discovery, sites


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def api_root(request: Request) -> Response:
    return Response(
        {
            "graphql": request.build_absolute_uri("/graphql"),
            "admin": request.build_absolute_uri(reverse("admin:index")),
            "schema": request.build_absolute_uri(reverse("api-schema")),
            "docs": request.build_absolute_uri(reverse("api-docs")),
            "projects": request.build_absolute_uri(reverse("project-list")),
            "sync_jobs": request.build_absolute_uri(reverse("syncjob-list")),
            "messages": request.build_absolute_uri(reverse("message-list")),
        }
    )


class IssuePagination(CursorPagination):
    """Keyset pages in Jira-id order: an issue updated while a client pages never moves between pages."""

    ordering = "jira_id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = selectors.MAX_PAGE_SIZE

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF says 404; it is the caller's input that is wrong
            raise ValidationError(
                {self.cursor_query_param: "Not a cursor of this list: pass `next` back"}
            ) from None


def _render(result: controls.SyncControlResult) -> tuple[Any, int]:
    body = {
        # The job re-read with its active or last run, as GET sync-job shows it.
        "sync_job": selectors.sync_job_get(project=result.project),
        "run": result.run,
        "run_created": result.run_created,
        "removed": result.removed,
    }
    code = status.HTTP_202_ACCEPTED if result.run is not None else status.HTTP_200_OK
    return s.ControlResultSerializer(body).data, code


_OPERATE = [IsAuthenticated, CanOperateSync]


def _administer(permission: str) -> list[type[BasePermission]]:
    return [IsAuthenticated, may_administer(permission)]


_CONTROL = {200: s.ControlResultSerializer, 202: s.ControlResultSerializer}
_API = {"trigger": models.SyncRun.Trigger.API}


class ProjectControlsMixin(viewsets.GenericViewSet[models.Project]):
    """The sync controls of a project (``sync.services.controls``), for operators. Each action's input
    fields are the control's keyword arguments."""

    def operate(
        self,
        request: Request,
        service: Callable[..., Any],
        inputs: type[Serializer[dict[str, Any]]] | None = None,
        **fixed: Any,
    ) -> Response:
        """Run one control as the caller; 202 when a run was started or joined."""
        arguments = parse_input(inputs, request) if inputs else {}
        project = self.get_object()
        return control_response(
            request, lambda actor: service(project=project, actor=actor, **fixed, **arguments), _render
        )

    @extend_schema(request=s.TriggerInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def sync(self, request: Request, key: str) -> Response:
        """One run now, paused or not, optionally limited to some accounts (joins an active run)."""
        return self.operate(request, controls.sync_trigger, s.TriggerInput, **_API)

    @extend_schema(request=s.StartInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def start(self, request: Request, key: str) -> Response:
        """Resume the schedule and sync now."""
        return self.operate(request, controls.sync_start, s.StartInput, **_API)

    @extend_schema(request=s.PauseInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def pause(self, request: Request, key: str) -> Response:
        """Stop scheduled runs; manual triggers still work."""
        return self.operate(request, controls.sync_pause, s.PauseInput)

    @extend_schema(request=None, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def resume(self, request: Request, key: str) -> Response:
        """Scheduled runs again from the next slot (no run now)."""
        return self.operate(request, controls.sync_resume)

    @extend_schema(request=s.RescheduleInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def reschedule(self, request: Request, key: str) -> Response:
        return self.operate(request, controls.sync_reschedule, s.RescheduleInput)

    @extend_schema(methods=["GET"], responses=s.UserSerializer(many=True))
    @extend_schema(methods=["POST"], request=s.TrackedUsersInput, responses=_CONTROL)
    @action(detail=True, methods=["get", "post"], url_path="tracked-users")
    def tracked_users(self, request: Request, key: str) -> Response:
        """GET: the accounts the project tracks. POST (operators): track more, with a backfill run."""
        if request.method == "GET":
            return Response(
                s.UserSerializer(selectors.tracked_users(project=self.get_object()), many=True).data
            )
        permission = CanOperateSync()
        if not permission.has_permission(request, self):
            self.permission_denied(request, message=permission.message)
        return self.operate(request, controls.tracked_users_add, s.TrackedUsersInput)

    @extend_schema(request=s.TrackedUsersRemoveInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], url_path="tracked-users/remove", permission_classes=_OPERATE)
    def tracked_users_remove(self, request: Request, key: str) -> Response:
        """Stop tracking accounts; ``purge`` also deletes their issues no tracked account keeps."""
        return self.operate(request, controls.tracked_users_remove, s.TrackedUsersRemoveInput)

    @extend_schema(request=s.CancelInput, responses=_CONTROL)
    @action(detail=True, methods=["post"], permission_classes=_OPERATE)
    def cancel(self, request: Request, key: str) -> Response:
        """Cancel the queued or running sync at its next step boundary (409 when none is open)."""
        return self.operate(request, controls.sync_cancel, s.CancelInput)

    @extend_schema(request=s.UnregisterInput, responses=s.UnregisteredSerializer)
    @action(detail=True, methods=["post"], permission_classes=_administer(DELETE_PROJECT))
    def unregister(self, request: Request, key: str) -> Response:
        """Stop syncing the project for good; ``purge`` also deletes its data (kept otherwise, and
        registering the key again resumes it). 409 while a run is in flight."""
        purge = parse_input(s.UnregisterInput, request)["purge"]
        gone = sites.project_unregister(
            project=self.get_object(), purge=purge, actor=request.user.get_username()
        )
        return Response(s.UnregisteredSerializer(gone).data)


_SITE = OpenApiParameter(
    "site", str, description="Site id or name; needed when the key is registered on several sites"
)
_LIMIT = OpenApiParameter("limit", int, description=f"1 to {selectors.MAX_TRAIL_LIMIT}, default 20")
_LEVEL = OpenApiParameter(
    "level", str, enum=models.SyncLog.Level.values, description="Only lines of exactly this level"
)


class ProjectViewSet(ProjectControlsMixin):
    """Registered projects, addressed by key or Jira id, with their synced data and sync trail."""

    serializer_class = s.ProjectSerializer
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    pagination_class = None

    def get_queryset(self) -> QuerySet[models.Project]:
        return selectors.projects_list()

    def get_object(self) -> models.Project:
        return sites.project_get(key_or_id=self.kwargs["key"], site=_site(self.request))

    def list(self, request: Request) -> Response:
        return Response(s.ProjectSerializer(self.get_queryset(), many=True).data)

    @extend_schema(parameters=[_SITE])
    def retrieve(self, request: Request, key: str) -> Response:
        project = self.get_queryset().get(id=self.get_object().id)
        return Response(s.ProjectSerializer(project).data)

    @extend_schema(parameters=[s.IssueFilterInput], responses=s.IssueSerializer(many=True))
    @action(detail=True, serializer_class=s.IssueSerializer, pagination_class=IssuePagination)
    @cached_read
    def issues(self, request: Request, key: str) -> Response:
        query = s.IssueFilterInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        issues = selectors.issue_queryset(project=self.get_object(), filters=query.filters())
        includes = selectors.IssueIncludes(comments=False, worklogs=False, parent=False)
        # The viewset is typed for projects; this action pages issues.
        page: Any = self.paginate_queryset(selectors.issues_with_details(issues=issues, includes=includes))  # type: ignore[arg-type]
        return self.get_paginated_response(s.IssueSerializer(page, many=True).data)

    @action(detail=True, serializer_class=s.SprintSerializer)
    @cached_read
    def sprints(self, request: Request, key: str) -> Response:
        return Response(
            s.SprintSerializer(selectors.project_sprints(project=self.get_object()), many=True).data
        )

    @action(detail=True, serializer_class=s.UserSerializer)
    @cached_read
    def users(self, request: Request, key: str) -> Response:
        return Response(s.UserSerializer(selectors.project_users(project=self.get_object()), many=True).data)

    @action(detail=True, url_path="sync-job", serializer_class=s.SyncJobSerializer)
    def sync_job(self, request: Request, key: str) -> Response:
        return Response(s.SyncJobSerializer(selectors.sync_job_get(project=self.get_object())).data)

    @action(detail=True, serializer_class=s.SyncStateSerializer)
    def states(self, request: Request, key: str) -> Response:
        return Response(
            s.SyncStateSerializer(selectors.sync_states(project=self.get_object()), many=True).data
        )

    @extend_schema(parameters=[_LIMIT])
    @action(detail=True, serializer_class=s.SyncRunSerializer)
    def runs(self, request: Request, key: str) -> Response:
        runs = selectors.sync_runs(project=self.get_object(), limit=_limit(request))
        return Response(s.SyncRunSerializer(runs, many=True).data)

    @extend_schema(parameters=[_LIMIT, _LEVEL])
    @action(detail=True, serializer_class=s.SyncLogSerializer)
    def logs(self, request: Request, key: str) -> Response:
        query = s.LogsInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        logs = selectors.sync_logs(
            project=self.get_object(),
            limit=query.validated_data.get("limit"),
            level=query.validated_data.get("level"),
        )
        return Response(s.SyncLogSerializer(logs, many=True).data)


def _site(request: Request) -> str | None:
    """The ``?site=`` that picks one of several sites holding the same key (any action, GET or POST)."""
    return request.query_params.get("site") or None


def _limit(request: Request) -> int | None:
    query = s.LimitInput(data=request.query_params)
    query.is_valid(raise_exception=True)
    limit: int | None = query.validated_data.get("limit")
    return limit


class IssueViewSet(viewsets.GenericViewSet[models.Issue]):
    """One synced issue by key, with its sprints, comments and worklogs."""

    serializer_class = s.IssueDetailSerializer
    lookup_field = "key"
    lookup_value_regex = "[^/]+"

    @extend_schema(parameters=[_SITE])
    @cached_read
    def retrieve(self, request: Request, key: str) -> Response:
        issue = selectors.issue_by_key(
            key=key, site=_site(request), includes=selectors.IssueIncludes(parent=False), site_field="site"
        )
        return Response(s.IssueDetailSerializer(issue).data)

    @extend_schema(parameters=[_SITE])
    @action(detail=True, serializer_class=s.IssueHistorySerializer)
    def history(self, request: Request, key: str) -> Response:
        """The issue's changelog (oldest first) and the time it spent in each status."""
        only_history = selectors.IssueIncludes(
            people=False, sprints=False, comments=False, worklogs=False, parent=False, history=True
        )
        issue = selectors.issue_by_key(key=key, site=_site(request), includes=only_history, site_field="site")
        return Response(s.IssueHistorySerializer(issue).data)


class SprintViewSet(viewsets.GenericViewSet[models.Sprint]):
    """Sprints by Jira id."""

    serializer_class = s.SprintScopeChangeSerializer
    lookup_value_regex = "[0-9]+"
    pagination_class = None

    @action(detail=True, url_path="scope-changes")
    def scope_changes(self, request: Request, pk: str) -> Response:
        """Issues added to or removed from the sprint after it started, oldest first."""
        includes = selectors.IssueIncludes(parent=False, comments=False, worklogs=False)
        rows = selectors.sprint_scope_changes(
            sprint=selectors.sprint_by_jira_id(sprint_id=int(pk)), includes=includes
        )
        return Response(s.SprintScopeChangeSerializer(rows, many=True).data)


class SyncJobViewSet(viewsets.GenericViewSet[models.SyncJob]):
    """Every project's sync job: schedule, status and the active or last run."""

    serializer_class = s.SyncJobSerializer
    pagination_class = None

    def list(self, request: Request) -> Response:
        return Response(s.SyncJobSerializer(selectors.sync_jobs(), many=True).data)


class SiteViewSet(viewsets.GenericViewSet[models.JiraSite]):
    """Jira sites by id or name. Listing needs only authentication; testing credentials and adding a site
    need ``sync.add_jirasite``, Jira's project list and registering projects ``sync.add_project``."""

    serializer_class = s.SiteSerializer
    lookup_value_regex = "[^/]+"
    pagination_class = None

    def get_queryset(self) -> QuerySet[models.JiraSite]:
        return visible(models.JiraSite.objects.order_by("name"), "id")

    def get_object(self) -> models.JiraSite:
        return selectors.site_by_ref(ref=self.kwargs["pk"], field="site")

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [permission() for permission in _administer(ADD_SITE)]
        return super().get_permissions()

    def list(self, request: Request) -> Response:
        return Response(s.SiteSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=s.SiteAddInput, responses={201: s.SiteSerializer})
    def create(self, request: Request) -> Response:
        """Check the credentials against Jira, then store the site (the token encrypted, never shown)."""
        site = sites.site_add(**parse_input(s.SiteAddInput, request))
        return Response(s.SiteSerializer(site).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SiteCredentialsInput, responses=s.SiteIdentitySerializer)
    @action(detail=False, methods=["post"], permission_classes=_administer(ADD_SITE))
    def test(self, request: Request) -> Response:
        """Prove credentials before storing anything; a failure is Jira's classified error with advice."""
        identity = sites.site_check(**parse_input(s.SiteCredentialsInput, request))
        return Response(s.SiteIdentitySerializer(identity).data)

    @extend_schema(responses=s.JiraProjectOptionSerializer(many=True))
    @action(detail=True, url_path="jira-projects", permission_classes=_administer(ADD_PROJECT))
    def jira_projects(self, request: Request, pk: str) -> Response:
        """Every project the site's API user sees in Jira now, flagged when registered here."""
        options = discovery.jira_project_options(site=self.get_object())
        return Response(s.JiraProjectOptionSerializer(options, many=True).data)

    @extend_schema(request=s.RegisterInput, responses={201: s.ProjectSerializer(many=True)})
    @action(detail=True, methods=["post"], permission_classes=_administer(ADD_PROJECT))
    def projects(self, request: Request, pk: str) -> Response:
        """Register projects of the site in one step, all or none."""
        arguments = parse_input(s.RegisterInput, request)
        registered = sites.projects_register(
            site=self.get_object(),
            keys=arguments["keys"],
            track=arguments["account_ids"],
            cron=arguments.get("cron"),
            actor=request.user.get_username(),
        )
        projects = selectors.projects_list().filter(id__in=[p.id for p in registered])
        return Response(s.ProjectSerializer(projects, many=True).data, status=status.HTTP_201_CREATED)
