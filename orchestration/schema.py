"""GraphQL: orchestrations with their phases, agents, approvals and events.

Mutations go through ``orchestration.services.controls`` and return ``errors { field message code }``
rather than raising.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene
from graphene_django import DjangoObjectType

from core.errors import InvalidInput, PermissionDenied
from core.interfaces.fields import graphene_fields, graphql_kwargs
from core.interfaces.graphql import Error, control_payload
from orchestration import fieldmaps, selectors
from orchestration.models import AgentExecution, Approval, Event, Orchestration, PhaseExecution
from orchestration.permissions import can_operate_orchestration
from orchestration.services import controls

MAX_LIST = 200


class AgentExecutionType(DjangoObjectType):
    class Meta:
        model = AgentExecution
        name = "OrchestrationAgentExecution"
        fields = graphene_fields(fieldmaps.AGENT_EXECUTION)


class PhaseExecutionType(DjangoObjectType):
    agents = graphene.List(
        graphene.NonNull(AgentExecutionType), **graphql_kwargs(fieldmaps.PHASE_EXECUTION, "agents")
    )

    class Meta:
        model = PhaseExecution
        name = "OrchestrationPhase"
        fields = graphene_fields(fieldmaps.PHASE_EXECUTION)

    @staticmethod
    def resolve_agents(root: PhaseExecution, info: graphene.ResolveInfo) -> list[AgentExecution]:
        return list(root.agents.all())


class ApprovalType(DjangoObjectType):
    class Meta:
        model = Approval
        name = "OrchestrationApproval"
        fields = graphene_fields(fieldmaps.APPROVAL)


class EventType(DjangoObjectType):
    class Meta:
        model = Event
        name = "OrchestrationEvent"
        fields = graphene_fields(fieldmaps.EVENT)


class OrchestrationType(DjangoObjectType):
    project_key = graphene.String(**graphql_kwargs(fieldmaps.ORCHESTRATION_DETAIL, "project_key"))
    phases = graphene.List(
        graphene.NonNull(PhaseExecutionType), **graphql_kwargs(fieldmaps.ORCHESTRATION_DETAIL, "phases")
    )
    approvals = graphene.List(
        graphene.NonNull(ApprovalType), **graphql_kwargs(fieldmaps.ORCHESTRATION_DETAIL, "approvals")
    )
    events = graphene.List(
        graphene.NonNull(EventType), **graphql_kwargs(fieldmaps.ORCHESTRATION_DETAIL, "events")
    )

    class Meta:
        model = Orchestration
        name = "Orchestration"
        fields = graphene_fields(fieldmaps.ORCHESTRATION_DETAIL)

    @staticmethod
    def resolve_project_key(root: Orchestration, info: graphene.ResolveInfo) -> str:
        return root.project.key

    @staticmethod
    def resolve_phases(root: Orchestration, info: graphene.ResolveInfo) -> list[PhaseExecution]:
        return list(root.phases.all())

    @staticmethod
    def resolve_approvals(root: Orchestration, info: graphene.ResolveInfo) -> list[Approval]:
        return list(root.approvals.all())

    @staticmethod
    def resolve_events(root: Orchestration, info: graphene.ResolveInfo) -> list[Event]:
        return list(root.events.all())


def _require_user(info: graphene.ResolveInfo) -> None:
    user = info.context.user
    if not user.is_authenticated:
        raise PermissionError("Authentication required")


class Query(graphene.ObjectType):
    orchestrations = graphene.List(
        graphene.NonNull(OrchestrationType),
        required=True,
        status=graphene.String(),
        project_key=graphene.String(),
        first=graphene.Int(default_value=50),
    )
    orchestration = graphene.Field(OrchestrationType, id=graphene.ID(required=True))

    @staticmethod
    def resolve_orchestrations(
        root: object,
        info: graphene.ResolveInfo,
        status: str | None = None,
        project_key: str | None = None,
        first: int = 50,
    ) -> list[Orchestration]:
        _require_user(info)
        ids = selectors.orchestrations_list(status=status, project_key=project_key).values_list(
            "id", flat=True
        )
        wanted = list(ids[: max(1, min(first, MAX_LIST))])
        return list(selectors.orchestration_detail().filter(id__in=wanted).order_by("-id"))

    @staticmethod
    def resolve_orchestration(root: object, info: graphene.ResolveInfo, id: str) -> Orchestration | None:
        _require_user(info)
        return selectors.orchestration_detail().filter(id=int(id)).first() if str(id).isdigit() else None


_DENIED = PermissionDenied(
    "You may not operate orchestrations", advice="Ask for the orchestration.operate_orchestration permission"
)


def _control(info: graphene.ResolveInfo, action: Callable[[str], controls.OrchestrationControlResult]) -> Any:
    """Check the permission, call the service, render its typed error as data."""
    return control_payload(
        info,
        _Payload,
        may_operate=can_operate_orchestration,
        denied=_DENIED,
        call=action,
        render=lambda result: {
            "orchestration": selectors.orchestration_detail().get(id=result.orchestration_id)
        },
    )


class _Payload(graphene.ObjectType):
    orchestration = graphene.Field(OrchestrationType)
    errors = graphene.List(graphene.NonNull(Error), required=True)


class StartOrchestration(graphene.Mutation):
    class Arguments:
        issue_key = graphene.String(required=True)
        auto_proceed = graphene.Boolean(default_value=False)
        site_id = graphene.ID(description="Site id or name: needed when several sites hold the key.")

    Output = _Payload

    @staticmethod
    def mutate(
        root: object,
        info: graphene.ResolveInfo,
        issue_key: str,
        auto_proceed: bool = False,
        site_id: str | None = None,
    ) -> Any:
        return _control(
            info,
            lambda actor: controls.orchestration_start(
                issue_key=issue_key, site=site_id, auto_proceed=auto_proceed, actor=actor
            ),
        )


def _decision_mutation(
    name: str, service: Callable[..., controls.OrchestrationControlResult], with_comment: bool
) -> type[graphene.Mutation]:
    arguments: dict[str, Any] = {"id": graphene.ID(required=True)}
    if with_comment:
        arguments["comment"] = graphene.String(default_value="")

    def mutate(root: object, info: graphene.ResolveInfo, id: str, comment: str = "") -> Any:
        if not str(id).isdigit():
            return _Payload(errors=[Error.of(InvalidInput(f"'{id}' is not an id", field="id"))])
        extra = {"comment": comment} if with_comment else {}
        return _control(info, lambda actor: service(orchestration_id=int(id), actor=actor, **extra))

    return type(
        name,
        (graphene.Mutation,),
        {"Arguments": type("Arguments", (), arguments), "Output": _Payload, "mutate": staticmethod(mutate)},
    )


class Mutation(graphene.ObjectType):
    start_orchestration = StartOrchestration.Field()
    approve_phase = _decision_mutation("ApprovePhase", controls.phase_approve, True).Field()
    reject_phase = _decision_mutation("RejectPhase", controls.phase_reject, True).Field()
    cancel_orchestration = _decision_mutation(
        "CancelOrchestration", controls.orchestration_cancel, False
    ).Field()
    retry_orchestration = _decision_mutation(
        "RetryOrchestration", controls.orchestration_retry, False
    ).Field()
    pause_orchestration = _decision_mutation(
        "PauseOrchestration", controls.orchestration_pause, False
    ).Field()
    resume_orchestration = _decision_mutation(
        "ResumeOrchestration", controls.orchestration_resume, False
    ).Field()
