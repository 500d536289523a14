"""The public fields of orchestrations, for GraphQL, REST and the admin alike (order: REST's rendering order).

GraphQL's types also carry the row ``id`` of phases, agents and approvals; REST nests those under their
orchestration and leaves the id out.
"""

from __future__ import annotations

from core.interfaces.fields import Field, FieldMap
from orchestration.models import AgentExecution, Approval, Event, Orchestration, PhaseExecution

_ROW_ID = Field("id", rest=False)

AGENT_EXECUTION = FieldMap(
    AgentExecution,
    (
        _ROW_ID,
        Field("agent"),
        Field("attempt"),
        Field("status"),
        Field("duration_ms", null=True),
        Field("result"),
        Field("error_code"),
        Field("error_type"),
        Field("error_message"),
        Field("input_tokens", null=True),
        Field("output_tokens", null=True),
        Field("cost_usd", null=True),
        Field("started_at"),
        Field("finished_at", null=True),
    ),
)

PHASE_EXECUTION = FieldMap(
    PhaseExecution,
    (
        _ROW_ID,
        Field("phase"),
        Field("iteration"),
        Field("attempt"),
        Field("state"),
        Field("idempotency_key"),
        Field("checkpoint"),
        Field("output"),
        Field("artifacts"),
        Field("error_code"),
        Field("error_message"),
        Field("worker"),
        Field("next_attempt_at", null=True),
        Field("started_at", null=True),
        Field("finished_at", null=True),
        Field("agents"),
    ),
)

APPROVAL = FieldMap(
    Approval,
    (
        _ROW_ID,
        Field("phase"),
        Field("requested_at"),
        Field("decision"),
        Field("decided_by"),
        Field("decided_at", null=True),
        Field("comment"),
    ),
)

EVENT = FieldMap(
    Event,
    (
        Field("seq"),
        Field("type"),
        Field("payload"),
        Field("actor"),
        Field("correlation_id"),
        Field("created_at"),
    ),
)

ORCHESTRATION = FieldMap(
    Orchestration,
    (
        Field("id"),
        Field("issue_key"),
        Field("project_key", "project.key"),
        Field("status"),
        # Before the first phase the column is blank: REST renders "", GraphQL's enum null (graphene-django
        # turns a blank choice into null), both published.
        Field("current_phase", graphql=False),
        Field("current_phase", null=True, rest=False),
        Field("auto_proceed"),
        Field("gates"),
        Field("max_fix_attempts"),
        Field("fix_attempts"),
        Field("requested_by"),
        Field("correlation_id"),
        Field("worker"),
        Field("next_attempt_at", null=True),
        Field("cancel_requested"),
        Field("pause_requested"),
        Field("deadline_at", null=True),
        Field("error_code"),
        Field("error_message"),
        Field("created_at"),
        Field("started_at", null=True),
        Field("finished_at", null=True),
    ),
)

ORCHESTRATION_DETAIL = ORCHESTRATION.extend(Field("phases"), Field("approvals"), Field("events"))

ALL = {
    "AGENT_EXECUTION": AGENT_EXECUTION,
    "PHASE_EXECUTION": PHASE_EXECUTION,
    "APPROVAL": APPROVAL,
    "EVENT": EVENT,
    "ORCHESTRATION": ORCHESTRATION,
    "ORCHESTRATION_DETAIL": ORCHESTRATION_DETAIL,
}
